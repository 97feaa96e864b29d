import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/poller/clock.js';
import { Poller } from '../src/poller/poller.js';
import { ClinikoSimulator, type SimResource } from '../tools/simulator/index.js';
import { ClinikoClient } from '../src/sources/cliniko/client.js';
import { ClinikoFeed } from '../src/sources/cliniko/feed.js';
import { CLINIKO_RESOURCES, CLINIKO_RESOURCE_PATHS, DEFAULT_TIERS, clinikoResource } from '../src/sources/cliniko/resources.js';
import { LowdbStore } from '../src/store/lowdb-store.js';
import { Harness, USER_AGENT, waitFor } from './helpers/harness.js';

/** A small clinic with a few records of every resource. */
const EVERYTHING: Partial<Record<SimResource, number>> = {
  users: 3,
  businesses: 2,
  taxes: 3,
  billable_items: 3,
  appointment_types: 3,
  practitioners: 4,
  concession_types: 3,
  concession_prices: 3,
  products: 3,
  referral_source_types: 3,
  services: 3,
  daily_availabilities: 3,
  availability_blocks: 3,
  patients: 8,
  contacts: 4,
  relationships: 3,
  patient_cases: 3,
  medical_alerts: 4,
  individual_appointments: 6,
  group_appointments: 3,
  unavailable_blocks: 4,
  attendees: 5,
  invoices: 5,
  invoice_items: 5,
  treatment_notes: 5,
  patient_forms: 4,
  patient_attachments: 3,
  communications: 4,
  stock_adjustments: 3,
};
// Every resource is polled by default; lift the budget so a test's polls never wait for it.
const FAST = { CLINIKO_RATE_LIMIT_PER_MIN: '10000' };

const live = (h: Harness, resource: SimResource) => h.sim.all(resource).filter((r) => !r.deleted_at && !r.archived_at && !r.cancelled_at);

describe('every Cliniko resource', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it('is polled by default: the simulator serves each one, and the bridge baselines each with its tier', async () => {
    h = await Harness.create({ seed: EVERYTHING, env: FAST });
    await h.poll();
    const { json } = await h.api('GET', '/v1/sources');
    expect(json.data.map((r: { resource: string }) => r.resource)).toEqual(CLINIKO_RESOURCE_PATHS);
    for (const r of json.data) {
      expect(r, r.resource).toMatchObject({
        status: 'ok',
        last_error: null,
        tier: DEFAULT_TIERS[r.resource],
        requests_last_minute: expect.any(Number),
      });
      expect(r.cursor.baseline_done, r.resource).toBe(true);
      expect(r.progress, r.resource).toMatchObject({ phase: 'baseline', status: 'done' });
    }
    expect(json.budgets).toEqual([
      { source: 'cliniko', limit_per_min: 10_000, budget_per_min: 9_000, used_last_minute: expect.any(Number) },
    ]);
    // Silent baseline, then nothing while nothing changes.
    await h.poll();
    expect((await h.api('GET', '/v1/events')).json.data).toEqual([]);
    // Realistic records: string ids, whole-second times, links; each list under its own key.
    for (const path of CLINIKO_RESOURCE_PATHS) {
      const rows = h.sim.all(path as SimResource);
      expect(rows.length, path).toBeGreaterThan(0);
      expect(rows[0]!.id, path).toMatch(/^\d{18,19}$/);
      expect(rows[0]!.updated_at, path).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(Object.keys(rows[0]!).length, path).toBeGreaterThan(4);
    }
  });

  it('reports creates, updates and every lifecycle change of every resource, and bookings as the union', async () => {
    h = await Harness.create({ seed: EVERYTHING, env: FAST });
    await h.subscribe(['*']);
    await h.poll();
    const expected: string[] = [];
    for (const r of CLINIKO_RESOURCES) {
      if (r.path === 'bookings') continue;
      const path = r.path as SimResource;
      const [toUpdate, toArchive, toDelete] = live(h, path);
      h.sim.create(path);
      expected.push(`${r.name}.created`);
      h.sim.update(path, toUpdate!.id, { notes: `changed in ${r.path}` });
      expected.push(`${r.name}.updated`);
      if (r.lifecycle.some((l) => l.column === 'archived_at')) {
        h.sim.archive(path, toArchive!.id);
        expected.push(`${r.name}.archived`);
      }
      if (r.lifecycle.some((l) => l.column === 'deleted_at')) {
        h.sim.remove(path, toDelete!.id);
        expected.push(`${r.name}.deleted`);
      }
    }
    // Not the one updated above: a cancellation in the same poll would replace its .updated.
    const appointment = live(h, 'individual_appointments').at(-2)!;
    h.sim.cancel('individual_appointments', appointment.id, 20, 'Condition worse');
    expected.push(
      'individual_appointment.cancelled',
      'booking.created',
      'booking.updated',
      'booking.cancelled',
      'booking.archived',
      'booking.deleted',
    );
    await h.poll();
    await h.poll();
    const missing = () => expected.filter((t) => !h.receiver.types().includes(t));
    await waitFor(() => missing().length === 0, 15_000, 'every event type').catch(() => undefined);
    expect(missing()).toEqual([]);
    const types = new Set(h.receiver.types());
    for (const t of expected) expect(types.has(t), t).toBe(true);
    expect(h.receiver.received.every((r) => r.verified)).toBe(true);

    // A setting Cliniko deletes outright is found gone by the full re-read.
    const tax = h.receiver.ofType('tax.deleted')[0]!;
    expect(h.sim.get('taxes', tax.payload.data.id)).toBeUndefined();
    expect(tax.payload.data.object.deleted_at).toEqual(expect.any(String));
    // The union shows the appointment's cancellation under the booking prefix too.
    const booking = h.receiver.ofType('booking.cancelled').find((r) => r.payload.data.id === appointment.id)!;
    expect(booking.payload.data).toMatchObject({ resource: 'booking', object: { cancellation_reason: 20 } });
  });

  it('reads practitioners from /practitioners and /practitioners/inactive: a deactivated one is updated, not deleted', async () => {
    h = await Harness.create({ seed: { practitioners: 3 }, env: { ...FAST, BRIDGE_RESOURCES: 'practitioners' } });
    await h.subscribe(['practitioner.*']);
    await h.poll();
    const who = h.sim.all('practitioners')[0]!;
    h.sim.update('practitioners', who.id, { active: false });
    await h.poll();
    await h.poll();
    await waitFor(() => h.receiver.received.length >= 1);
    await h.settled();
    expect(h.receiver.types()).toEqual(['practitioner.updated']);
    expect(h.receiver.received[0]!.payload.data.previous_attributes).toMatchObject({ active: true });
  });

  it('reports a resource the key may not read (403) as forbidden in GET /v1/sources, and keeps polling the rest', async () => {
    h = await Harness.create({
      seed: { contacts: 2, invoices: 2 },
      sim: { forbidden: ['invoices'] },
      env: { ...FAST, BRIDGE_RESOURCES: 'contacts,invoices' },
    });
    await h.subscribe(['contact.*']);
    await h.poll();
    h.sim.update('contacts', h.sim.all('contacts')[0]!.id, { notes: 'seen despite the 403 next door' });
    await h.poll();
    await waitFor(() => h.receiver.received.length === 1);
    const { json } = await h.api('GET', '/v1/sources');
    const invoices = json.data.find((r: { resource: string }) => r.resource === 'invoices');
    expect(invoices).toMatchObject({
      status: 'forbidden',
      target_interval_ms: null,
      last_error: { message: expect.stringMatching(/403/) },
    });
    expect(Date.parse(invoices.next_poll_at) - Date.now()).toBeGreaterThan(59 * 60_000);
    expect(json.data.find((r: { resource: string }) => r.resource === 'contacts')).toMatchObject({ status: 'ok', last_error: null });
  });

  it('backfills a resource on request (.created for existing records, paced by the budget) with progress in GET /v1/sources', async () => {
    h = await Harness.create({ seed: { contacts: 7 }, env: { BRIDGE_RESOURCES: 'contacts', CLINIKO_PER_PAGE: '3' } });
    await h.subscribe(['contact.created']);
    await h.poll();
    expect((await h.api('POST', '/v1/sources/widgets/backfill')).status).toBe(404);
    const started = await h.api('POST', '/v1/sources/contacts/backfill');
    expect(started.status).toBe(202);
    expect(started.json).toMatchObject({ resource: 'contacts', progress: { phase: 'backfill', status: 'running' } });
    await waitFor(() => h.receiver.received.length >= 7, 15_000, 'seven contact.created');
    const progress = await waitFor(async () => {
      const p = (await h.api('GET', '/v1/sources')).json.data[0].progress;
      return p.status === 'done' ? p : null;
    });
    expect(progress).toMatchObject({ phase: 'backfill', total_entries: 7, events: 7 });
    expect(progress.pages_done).toBeGreaterThanOrEqual(3);
    expect(new Set(h.receiver.received.map((r) => r.payload.data.id)).size).toBe(7);
    // Snapshots untouched: the next poll finds nothing new.
    await h.poll();
    await h.settled();
    expect(h.receiver.received).toHaveLength(7);
  });

  it('shows BRIDGE_BACKFILL progress (pages done / total_entries) while the first pass emits .created', async () => {
    h = await Harness.create({
      seed: { contacts: 5 },
      env: { BRIDGE_RESOURCES: 'contacts', BRIDGE_BACKFILL: 'true', CLINIKO_PER_PAGE: '2' },
    });
    await h.poll();
    const s = (await h.api('GET', '/v1/sources')).json.data[0];
    expect(s.progress).toMatchObject({ phase: 'backfill', status: 'done', total_entries: 5, events: 5 });
    expect(s.progress.pages_done).toBeGreaterThanOrEqual(3);
  });
});

describe('a forbidden resource on the schedule', () => {
  it('is asked once, skipped for an hour rather than retried, and picked up again once readable', async () => {
    const start = Date.parse('2026-11-23T06:00:00Z');
    const clock = new ManualClock(start);
    const sim = new ClinikoSimulator({ rateLimitPerMin: 200, now: () => clock.now(), forbidden: ['invoices'] });
    sim.seed({ contacts: 2, invoices: 2 });
    const { baseUrl } = await sim.listen();
    const dir = await mkdtemp(join(tmpdir(), 'bridge-forbidden-'));
    const store = new LowdbStore(dir);
    await store.load();
    const client = new ClinikoClient({
      baseUrl,
      apiKey: 'sim-key-au1',
      userAgent: USER_AGENT,
      rateLimitPerMin: 200,
      requestTimeoutMs: 30_000,
      clock,
    });
    const feeds = ['contacts', 'invoices'].map((p) => new ClinikoFeed(clinikoResource(p)!, client, { perPage: 100, overlapMs: 120_000 }));
    const poller = new Poller({ store, feeds, logger: pino({ level: 'silent' }), backfill: false, clock, onEvents: () => undefined });
    const busy = async () => {
      await store.flush();
      return client.inFlight > 0;
    };
    try {
      poller.start('* * * * * *');
      await clock.runUntil(start + 30 * 60_000, busy);
      const invoiceRequests = () => sim.served.filter((s) => s.path.startsWith('/v1/invoices')).length;
      expect(invoiceRequests()).toBe(1);
      expect(sim.served.filter((s) => s.path === '/v1/contacts').length).toBeGreaterThan(100);
      expect(poller.describe().find((r) => r.resource === 'invoices')).toMatchObject({ status: 'forbidden' });

      sim.allow('invoices');
      await clock.runUntil(start + 61 * 60_000, busy);
      expect(invoiceRequests()).toBeGreaterThan(2);
      expect(poller.describe().find((r) => r.resource === 'invoices')).toMatchObject({ status: 'ok', tier: 'hot' });
    } finally {
      const stopping = poller.stop();
      await clock.settle(busy);
      await stopping;
      await client.close();
      await sim.close();
      await rm(dir, { recursive: true, force: true });
    }
    // An hour of simulated time, one poll a second: real time is the event loop's, not the clock's.
  }, 120_000);
});

describe('an account whose API does not search a column the bridge names', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it('reads without the hidden-record filter instead of failing every poll (older accounts, notes: “the bridge must work with both”)', async () => {
    h = await Harness.create({ seed: { medical_alerts: 3 }, env: { ...FAST, BRIDGE_RESOURCES: 'medical_alerts' } });
    await h.subscribe(['medical_alert.*']);
    h.sim.injectFault({ status: 400, message: 'This column is not searchable.', pathIncludes: '/medical_alerts', times: 1 });
    await h.poll();
    const s = (await h.api('GET', '/v1/sources')).json.data[0];
    expect(s).toMatchObject({ status: 'ok', last_error: null, cursor: { baseline_done: true } });
    const refused = h.sim.served.find((r) => r.status === 400)!;
    expect(decodeURIComponent(refused.search)).toContain('archived_at:*');
    expect(decodeURIComponent(h.sim.served.at(-1)!.search)).not.toContain('archived_at:*');
    const created = h.sim.create('medical_alerts', { name: 'Asthma' });
    await h.poll();
    await waitFor(() => h.receiver.ofType('medical_alert.created').length === 1);
    expect(h.receiver.ofType('medical_alert.created')[0]!.payload.data.id).toBe(created.id);
  });
});
