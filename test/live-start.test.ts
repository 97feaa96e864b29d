import { mkdtemp, rm } from 'node:fs/promises';
import { clinicSeed } from '../tools/simulator/clinic-seed.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registry } from '../src/metrics.js';
import { ManualClock } from '../src/poller/clock.js';
import { Poller, type ResourceView } from '../src/poller/poller.js';
import { ClinikoSimulator } from '../tools/simulator/index.js';
import { ClinikoClient } from '../src/sources/cliniko/client.js';
import { simulatorFeeds } from '../tools/simulator/feeds.js';
import type { EventEnvelope } from '../src/events/envelope.js';
import { LowdbStore } from '../src/store/lowdb-store.js';
import { USER_AGENT } from './helpers/harness.js';

/**
 * Issue "Live from the first minute", against the simulator enforcing Cliniko's 200 requests/min
 * with every resource enabled and an account large enough that its first pass takes minutes of the
 * budget's spare room. Time is simulated (a ManualClock drives the simulator, the budget and the
 * scheduler); requests are real HTTP on loopback and each takes 250 ms of simulated server time.
 * Only the order of what happens is asserted, never a duration (`npm run bench` measures those).
 */

const START = Date.parse('2026-11-23T00:00:00Z');
const LIMIT = 200;
const LATENCY_MS = 250;
const MINUTE = 60_000;
const SEED = clinicSeed({ patients: 2_500, individual_appointments: 6_000, invoices: 300 });

/** What happened, in order: events as `onEvents` reported them (payloads read after the run) and log lines. */
type Entry = { kind: 'event'; id: string; payload: EventEnvelope; passRunning: boolean } | { kind: 'log'; msg: string; resource?: string };

describe('live from the first minute, on a large account at 200 requests/min', () => {
  // The account is seeded an hour before the bridge first starts: nothing changed in the last hour.
  const clock = new ManualClock(START - 60 * MINUTE);
  const sim = new ClinikoSimulator({
    rateLimitPerMin: LIMIT,
    now: () => clock.now(),
    sleep: (ms) => clock.sleep(ms),
    latencyMs: LATENCY_MS,
    seed: 11,
  });
  const timeline: Entry[] = [];
  let dataDir: string;
  let store: LowdbStore;
  let client: ClinikoClient;
  let poller: Poller;
  let midPass: ResourceView[] = [];
  let metricsMidPass = '';
  /** Record ids changed during the first pass, and how many times each. */
  const changedDuringPass = new Map<string, number>();
  let firstChangeId = '';
  let createdId = '';
  const changedAfterPass: string[] = [];

  const busy = async () => {
    await store.flush();
    return client.inFlight > sim.waiting;
  };
  const appointmentsView = () => poller.describe().find((r) => r.resource === 'individual_appointments')!;
  const passesRunning = () => poller.describe().some((r) => r.first_pass?.status === 'running');
  /** Events of one record; appointments also show under `/bookings` (`booking.*`), counted apart. */
  const eventsOf = (id: string, view: 'record' | 'booking' = 'record') =>
    timeline.filter(
      (e): e is Extract<Entry, { kind: 'event' }> =>
        e.kind === 'event' && e.payload.data.id === id && (e.payload.data.resource === 'booking') === (view === 'booking'),
    );

  beforeAll(async () => {
    sim.seed(SEED);
    clock.advanceTo(START);
    const { baseUrl } = await sim.listen();
    dataDir = await mkdtemp(join(tmpdir(), 'bridge-live-start-'));
    store = new LowdbStore(dataDir);
    await store.load();
    const wired = simulatorFeeds({ baseUrl, userAgent: USER_AGENT, rateLimitPerMin: LIMIT, clock });
    client = wired.client;
    const feeds = wired.feeds;
    const logger = pino(
      { level: 'info' },
      { write: (line: string) => void timeline.push({ kind: 'log', ...(JSON.parse(line) as { msg: string; resource?: string }) }) },
    );
    poller = new Poller({
      store,
      feeds,
      logger,
      backfill: false,
      clock,
      onEvents: (ids) => {
        const running = appointmentsView().first_pass?.status === 'running';
        for (const id of ids) timeline.push({ kind: 'event', id, payload: undefined as unknown as EventEnvelope, passRunning: running });
      },
    });

    // By updated_at, oldest first: the order the first pass reads appointments in.
    const byAge = sim
      .all('individual_appointments')
      .sort((a, b) => String(a.updated_at).localeCompare(String(b.updated_at)) || a.id.localeCompare(b.id));
    const change = (id: string, notes: string) => {
      sim.update('individual_appointments', id, { notes });
      changedDuringPass.set(id, (changedDuringPass.get(id) ?? 0) + 1);
    };
    const script = [
      // The first change to a hot resource, seconds after the first start.
      { at: START + 10_000, run: () => change((firstChangeId = byAge[byAge.length - 1]!.id), 'first change') },
      { at: START + 20_000, run: () => void (createdId = sim.create('individual_appointments').id) },
      // Records at every position of the pass's order, each changed while it reads: some before it
      // reached them, some after; one of them twice.
      ...[0.02, 0.25, 0.5, 0.75, 0.98].map((f, i) => ({
        at: START + 30_000 + i * 15_000,
        run: () => change(byAge[Math.floor(byAge.length * f)]!.id, `during the pass ${i}`),
      })),
      { at: START + 150_000, run: () => change(byAge[Math.floor(byAge.length * 0.5)]!.id, 'during the pass, again') },
      {
        at: START + 90_000,
        run: () => {
          midPass = poller.describe();
          void registry.getSingleMetricAsString('bridge_first_pass_records_read').then((m) => (metricsMidPass = m));
        },
      },
    ];
    poller.start('* * * * * *');
    await clock.runUntil(START + 3 * MINUTE, busy, script);
    for (let minute = 4; passesRunning() && minute <= 30; minute++) await clock.runUntil(START + minute * MINUTE, busy);

    // The pass is over: every existing record has a snapshot.
    const untouched = byAge.filter((r) => !changedDuringPass.has(r.id));
    const after = [0.1, 0.3, 0.6, 0.9].map((f) => untouched[Math.floor(untouched.length * f)]!.id);
    const patient = sim.all('patients')[100]!.id;
    const now = clock.now();
    await clock.runUntil(now + 5_000, busy, [
      {
        at: now + 1_000,
        run: () => {
          for (const id of after) sim.update('individual_appointments', id, { notes: 'after the pass' });
          sim.update('patients', patient, { notes: 'after the pass' });
        },
      },
    ]);
    changedAfterPass.push(...after, patient);
    await clock.runUntil(clock.now() + MINUTE, busy);
    for (const e of timeline) if (e.kind === 'event') e.payload = (await store.getEvent(e.id))!.payload;
  }, 600_000);

  afterAll(async () => {
    const stopping = poller?.stop();
    await clock.settle(busy);
    await stopping;
    await client?.close();
    await sim.close();
    await store?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('delivers the first change to a hot resource while the first pass is still reading the account', () => {
    const first = eventsOf(firstChangeId);
    expect(first.map((e) => e.payload.type)).toEqual(['individual_appointment.updated']);
    expect(first[0]!.passRunning).toBe(true);
    const firstAt = timeline.indexOf(first[0]!);
    const passDone = timeline.findIndex((e) => e.kind === 'log' && e.msg === 'first pass done' && e.resource === 'individual_appointments');
    expect(passDone).toBeGreaterThan(firstAt);
    // Reported before the pass read it: no previous version known, and it says so.
    expect(first[0]!.payload.data).toMatchObject({ previous_attributes: null, snapshot: 'none' });
    // A record created after the start is plainly created.
    expect(eventsOf(createdId).map((e) => e.payload.type)).toEqual(['individual_appointment.created']);
  });

  it('reports a record changed during the pass exactly once per change, and nothing for records that did not change', () => {
    for (const [id, times] of changedDuringPass) {
      expect(eventsOf(id), id).toHaveLength(times);
      expect(eventsOf(id, 'booking'), id).toHaveLength(times);
    }
    const events = timeline.filter((e) => e.kind === 'event' && e.payload.data.resource !== 'booking');
    expect(events).toHaveLength([...changedDuringPass.values()].reduce((a, b) => a + b, 0) + 1 + changedAfterPass.length);
    for (const e of events) {
      if (e.kind !== 'event') continue;
      if (e.payload.data.snapshot === 'none') expect(e.payload.data.previous_attributes).toBeNull();
      else if (e.payload.type.endsWith('.updated')) expect(e.payload.data.previous_attributes).toEqual(expect.any(Object));
    }
  });

  it('brings previous_attributes back for every update once the pass is done', () => {
    expect(passesRunning()).toBe(false);
    for (const id of changedAfterPass) {
      const events = eventsOf(id);
      expect(
        events.map((e) => e.payload.type),
        id,
      ).toEqual([expect.stringMatching(/\.updated$/)]);
      // The old values, from the snapshot the pass took (notes may have been empty: null).
      expect(events[0]!.payload.data.previous_attributes, id).toHaveProperty('notes');
      expect(events[0]!.payload.data.previous_attributes, id).toMatchObject({ updated_at: expect.any(String) });
      expect(events[0]!.payload.data, id).not.toHaveProperty('snapshot');
    }
  });

  it('never gets a 429', () => {
    expect(sim.served.length).toBeGreaterThan(100);
    expect(sim.served.filter((s) => s.status === 429)).toHaveLength(0);
  });

  it('shows live_since and the pass progress per resource in GET /v1/sources and /metrics', () => {
    const reading = midPass.find((r) => r.first_pass?.status === 'running' && r.first_pass.records_read > 0);
    expect(reading, JSON.stringify(midPass.map((r) => [r.resource, r.first_pass]))).toBeDefined();
    expect(reading!.live_since).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(reading!.first_pass).toMatchObject({
      reason: 'first_start',
      total_entries: expect.any(Number),
      requests_left: expect.any(Number),
      estimated_completion_at: expect.any(String),
    });
    expect(reading!.first_pass!.requests_left).toBeGreaterThan(0);
    expect(Date.parse(reading!.first_pass!.estimated_completion_at!)).toBeGreaterThan(START + 90_000);
    expect(metricsMidPass).toContain(`resource="${reading!.resource}"`);
    const done = appointmentsView();
    expect(done.first_pass).toMatchObject({ status: 'done', requests_left: 0, estimated_completion_at: null });
    // Every appointment but those changed before the pass reached them (the live reads' own).
    expect(done.first_pass!.records_read).toBeGreaterThan(SEED.individual_appointments! - changedDuringPass.size - 1);
    // Settings read whole on every poll have no background pass: their first poll is their pass.
    expect(poller.describe().find((r) => r.resource === 'taxes')).toMatchObject({ live_since: null, first_pass: null });
  });
});
