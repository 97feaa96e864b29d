import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/poller/clock.js';
import { Poller } from '../src/poller/poller.js';
import { ClinikoSimulator } from '../tools/simulator/index.js';
import { ClinikoClient } from '../src/sources/cliniko/client.js';
import { ClinikoFeed } from '../src/sources/cliniko/feed.js';
import { clinikoResource } from '../src/sources/cliniko/resources.js';
import type { EventEnvelope } from '../src/events/envelope.js';
import { LowdbStore } from '../src/store/lowdb-store.js';
import { USER_AGENT } from './helpers/harness.js';

/**
 * A data directory restored from a backup older than `BRIDGE_MAX_CATCH_UP` (default 7 days): the
 * resources start live again and re-read their records in the background instead of paging through
 * every change since, and the log says so once. Simulated time, simulator at 200 requests/min.
 */

const START = Date.parse('2026-11-23T00:00:00Z');
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const PATHS = ['individual_appointments', 'patients'];

describe('a restored backup older than BRIDGE_MAX_CATCH_UP', () => {
  const clock = new ManualClock(START - 60 * MINUTE);
  const sim = new ClinikoSimulator({
    rateLimitPerMin: 200,
    now: () => clock.now(),
    sleep: (ms) => clock.sleep(ms),
    latencyMs: 250,
    seed: 5,
  });
  const logs: Array<{ msg: string; level: number; resource?: string; reason?: string }> = [];
  const eventIds: string[] = [];
  /** The payloads of `eventIds`, read once the runs are over. */
  const events: EventEnvelope[] = [];
  let baseUrl = '';
  let dataDir: string;
  let store: LowdbStore;
  let client: ClinikoClient;
  let gapId = '';
  let afterId = '';
  let reasons: Array<string | undefined> = [];

  const busy = async () => {
    await store.flush();
    return client.inFlight > sim.waiting;
  };

  /** A bridge process: a poller over both resources, run until `until` or until its first passes end. */
  async function run(until: number, script: Array<{ at: number; run: () => void }> = []): Promise<Poller> {
    client = new ClinikoClient({
      baseUrl,
      apiKey: 'sim-key-au1',
      userAgent: USER_AGENT,
      rateLimitPerMin: 200,
      requestTimeoutMs: 30_000,
      clock,
    });
    const feeds = PATHS.map((p) => new ClinikoFeed(clinikoResource(p)!, client, { perPage: 100, overlapMs: 120_000 }));
    const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
    const poller = new Poller({
      store,
      feeds,
      logger,
      backfill: false,
      clock,
      onEvents: (ids) => void ids.forEach((id) => eventIds.push(id)),
    });
    await poller.restore();
    poller.start('* * * * * *');
    await clock.runUntil(until, busy, script);
    for (
      let t = until + MINUTE;
      poller.describe().some((r) => r.first_pass?.status === 'running') && t < until + 30 * MINUTE;
      t += MINUTE
    ) {
      await clock.runUntil(t, busy);
    }
    return poller;
  }

  async function stop(poller: Poller): Promise<void> {
    const stopping = poller.stop();
    await clock.settle(busy);
    await stopping;
    await client.close();
  }

  beforeAll(async () => {
    sim.seed({ individual_appointments: 600, patients: 300 });
    clock.advanceTo(START);
    ({ baseUrl } = await sim.listen());
    dataDir = await mkdtemp(join(tmpdir(), 'bridge-catch-up-'));
    store = new LowdbStore(dataDir);
    await store.load();

    // First life: live at once, first pass done.
    await stop(await run(START + MINUTE));
    expect(eventIds).toEqual([]);

    // The backup is restored nine days later; meanwhile the clinic kept working.
    clock.advanceTo(START + 60 * MINUTE);
    gapId = sim.all('individual_appointments')[10]!.id;
    sim.update('individual_appointments', gapId, { notes: 'in the gap' });
    clock.advanceTo(START + 9 * DAY);
    afterId = sim.all('patients')[20]!.id;

    const second = await run(START + 9 * DAY + 2 * MINUTE, [
      { at: START + 9 * DAY + 30_000, run: () => void sim.update('patients', afterId, { notes: 'after the restore' }) },
    ]);
    reasons = second.describe().map((r) => r.first_pass?.reason);
    // After the re-baseline, a change to the record changed in the gap diffs against the gap's version.
    const at = clock.now() + 1_000;
    await clock.runUntil(at + 30_000, busy, [
      { at, run: () => void sim.update('individual_appointments', gapId, { notes: 'after the re-baseline' }) },
    ]);
    await stop(second);
    for (const id of eventIds) events.push((await store.getEvent(id))!.payload);
  }, 300_000);

  afterAll(async () => {
    await sim.close();
    await store?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('starts live again and says so once per resource', () => {
    const said = logs.filter((l) => l.msg.includes('BRIDGE_MAX_CATCH_UP'));
    expect(said.map((l) => l.resource).sort()).toEqual([...PATHS].sort());
    expect(reasons).toEqual(['catch_up', 'catch_up']);
  });

  it('does not page through the changes made while the bridge was away, and delivers those since at once', () => {
    expect(
      events.filter((e) => e.data.id === gapId && e.data.resource === 'individual_appointment').map((e) => e.data.object.notes),
    ).toEqual(['after the re-baseline']);
    const after = events.filter((e) => e.data.id === afterId);
    expect(after.map((e) => e.type)).toEqual(['patient.updated']);
    // The old snapshot is still a previous version.
    expect(after[0]!.data.previous_attributes).toEqual(expect.objectContaining({ notes: expect.anything() }));
  });

  it('re-baselines: a later change is diffed against the version read in the background', () => {
    const later = events.find((e) => e.data.id === gapId && e.data.resource === 'individual_appointment')!;
    expect(later.data.previous_attributes).toMatchObject({ notes: 'in the gap' });
  });

  it('never gets a 429', () => {
    expect(sim.served.filter((s) => s.status === 429)).toHaveLength(0);
  });
});
