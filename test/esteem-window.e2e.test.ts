import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Poller } from '../src/poller/poller.js';
import { EsteemSimulator } from '../tools/simulator/esteem/index.js';
import { UpstreamError } from '../src/sources/errors.js';
import { EsteemClient } from '../src/sources/esteem/client.js';
import { deriveAppointmentEvents } from '../src/sources/esteem/events.js';
import { EsteemAppointmentsFeed } from '../src/sources/esteem/feed.js';
import { parseAppointmentList } from '../src/sources/esteem/list.js';
import { planWindow } from '../src/sources/esteem/window.js';
import { LowdbStore } from '../src/store/lowdb-store.js';
import { systemClock } from '../src/util/clock.js';

const DAY = 86_400_000;
const T0 = Date.parse('2026-03-10T12:00:00Z');
const WINDOW = { beforeMs: 7 * DAY, afterMs: 90 * DAY };
const iso = (ms: number) => new Date(ms).toISOString();

describe('the Esteem window', () => {
  it('is cut into chunks of at most 7 days that share their boundary dates', () => {
    const plan = planWindow(T0, WINDOW);
    expect(plan.start_date).toBe('2026-03-03');
    expect(plan.end_date).toBe('2026-06-08');
    expect(plan.chunks).toHaveLength(14);
    expect(plan.chunks[0]).toEqual({ start_date: '2026-03-03', end_date: '2026-03-10' });
    expect(plan.chunks[1]).toEqual({ start_date: '2026-03-10', end_date: '2026-03-17' });
    expect(plan.chunks.at(-1)).toEqual({ start_date: '2026-06-02', end_date: '2026-06-08' });
    // Removals are only concluded a day inside the dates asked for.
    expect(iso(plan.inner.fromMs)).toBe('2026-03-04T00:00:00.000Z');
    expect(iso(plan.inner.toMs)).toBe('2026-06-07T00:00:00.000Z');
    expect(planWindow(T0, { beforeMs: 0, afterMs: 0 }).chunks).toEqual([{ start_date: '2026-03-10', end_date: '2026-03-10' }]);
    expect(planWindow(T0, WINDOW, 31).chunks).toHaveLength(4);
  });
});

describe('Esteem domain events', () => {
  const base = { id: '1', status: 'scheduled', scheduled_at: '2026-03-11T09:00:00.000Z', provider_id: 456, documentation_pending: false };
  it('derives rescheduled, status_changed, cancelled and documentation events, none for a new record', () => {
    expect(deriveAppointmentEvents(undefined, { ...base, status: 'cancelled' }, [])).toEqual([]);
    expect(deriveAppointmentEvents(base, { ...base, provider_id: 457 }, ['provider_id'])).toEqual([
      { kind: 'rescheduled', data: { previous: { scheduled_at: base.scheduled_at, provider_id: 456 } } },
    ]);
    expect(deriveAppointmentEvents(base, { ...base, status: 'canceled' }, ['status'])).toEqual([
      { kind: 'status_changed', data: { from: 'scheduled', to: 'canceled' } },
      { kind: 'cancelled' },
    ]);
    expect(deriveAppointmentEvents(base, { ...base, documentation_pending: true }, ['documentation_pending'])).toEqual([
      { kind: 'documentation_pending' },
    ]);
    expect(deriveAppointmentEvents({ ...base, documentation_pending: true }, base, ['documentation_pending'])).toEqual([
      { kind: 'documentation_completed' },
    ]);
    expect(deriveAppointmentEvents(base, { ...base, notes: 'x' }, ['notes'])).toEqual([]);
  });
});

describe('Esteem list shapes', () => {
  const item = { id: 123, patient_id: 1049, provider_id: 456 };
  it('accepts an array or an object holding one, and keeps ids as strings', () => {
    const expected = [{ id: '123', patient_id: 1049, provider_id: 456 }];
    expect(parseAppointmentList([item], 'x')).toEqual(expected);
    expect(parseAppointmentList({ appointments: [item] }, 'x')).toEqual(expected);
    expect(parseAppointmentList({ data: [item], meta: { page: 1 } }, 'x')).toEqual(expected);
    expect(parseAppointmentList({ whatever: [item], meta: { page: 1 } }, 'x')).toEqual(expected);
    expect(parseAppointmentList({ appointments: [] }, 'x')).toEqual([]);
  });
  it('refuses anything else as malformed', () => {
    for (const body of [null, 'text', { a: [], b: [] }, { errors: 'x' }, [{ no: 'id' }], [{ id: 2 ** 60 }], [{ id: 'abc' }]]) {
      expect(() => parseAppointmentList(body, 'x'), JSON.stringify(body)).toThrow(UpstreamError);
    }
  });
});

/** Feed + poller + store against the simulator, every clock injected. */
async function rig(opts: { pageSize?: number } = {}) {
  let now = T0;
  // Moves only when the test says; waits are real (nothing here sleeps unless a poll fails).
  const clock = { now: () => now, sleep: systemClock.sleep, advance: (ms: number) => (now += ms) };
  const sim = new EsteemSimulator({ userToken: 't', now: clock.now });
  const { baseUrl } = await sim.listen();
  const dir = await mkdtemp(join(tmpdir(), 'esteem-window-'));
  const store = new LowdbStore(dir);
  await store.load();
  const client = new EsteemClient({ baseUrl, userToken: 't', requestTimeoutMs: 2000, clock });
  const feed = new EsteemAppointmentsFeed(client, { window: WINDOW, clock, pageSize: opts.pageSize });
  const poller = new Poller({
    store,
    feeds: [feed],
    logger: pino({ level: 'silent' }),
    backfill: false,
    onEvents: () => undefined,
    clock,
  });
  return {
    sim,
    clock,
    store,
    poll: () => poller.pollNow(),
    events: async () => (await store.dump()).events.map((e) => `${e.payload.type} ${e.payload.data.id}`),
    state: async () => (await store.dump()).resources['esteem:appointments'] as { cursor: any; last_error: unknown },
    close: async () => {
      await poller.stop();
      await client.close();
      await sim.close();
      await store.flush();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

describe('time passing (injected clocks)', () => {
  let r: Awaited<ReturnType<typeof rig>>;
  afterEach(async () => r?.close());

  it('emits nothing for appointments the window leaves or reaches by time alone, and still reports real changes', async () => {
    r = await rig();
    const monthAgo = iso(T0 - 30 * DAY);
    const leaving = r.sim.create({ scheduled_at: iso(T0 - 6 * DAY), created_at: monthAgo, updated_at: monthAgo });
    const arriving = r.sim.create({ scheduled_at: iso(T0 + 95 * DAY), created_at: monthAgo, updated_at: monthAgo });
    const stays = r.sim.create({ scheduled_at: iso(T0 + 10 * DAY) });
    await r.poll();
    expect((await r.state()).cursor).toMatchObject({ baseline_done: true, window: { start_date: '2026-03-03', end_date: '2026-06-08' } });

    r.clock.advance(6 * DAY); // `leaving` is now 12 days ago; `arriving` 89 days ahead
    const booked = r.sim.create({ scheduled_at: iso(r.clock.now() + 89 * DAY) });
    await r.poll();
    await r.poll();
    await r.poll();
    expect(await r.events()).toEqual([`appointment.created ${booked.id}`]);
    expect((await r.state()).cursor.missing).toEqual({ window: [], pending_documentation: [] });

    // `arriving` was recorded silently: its next change is an update.
    r.sim.update(arriving.id, { notes: 'moved room' });
    r.sim.remove(stays.id);
    await r.poll();
    await r.poll();
    expect((await r.events()).slice(1)).toEqual([`appointment.updated ${arriving.id}`, `appointment.removed ${stays.id}`]);
    // `leaving` is out of sight, not removed: still known.
    expect((await r.store.dump()).snapshots['esteem:appointments']![String(leaving.id)]).toBeDefined();
  });

  it('pages through pending documentation and checks appointments outside the window before calling them completed', async () => {
    r = await rig({ pageSize: 2 });
    const old = [20, 21, 22].map((d) => r.sim.create({ scheduled_at: iso(T0 - d * DAY), status: 'completed' }));
    const recent = r.sim.create({ scheduled_at: iso(T0 - 1 * DAY), status: 'completed' });
    for (const a of [...old, recent]) r.sim.markDocumentationPending(a.id);
    await r.poll();
    const pages = r.sim.served.filter((s) => s.path.endsWith('/pending_documentation')).map((s) => s.query);
    expect(pages).toEqual([
      { page: '1', page_size: '2' },
      { page: '2', page_size: '2' },
      { page: '3', page_size: '2' },
    ]);
    // Older than the window, known only through the list: held as pending.
    expect((await r.store.dump()).snapshots['esteem:appointments']![String(old[0]!.id)]!.record.documentation_pending).toBe(true);

    r.sim.completeDocumentation(old[0]!.id); // documented, still exists
    r.sim.remove(old[1]!.id); // deleted: leaves the list too
    r.sim.completeDocumentation(recent.id);
    await r.poll();
    expect(await r.events()).toEqual([]); // missing once: not concluded yet
    await r.poll();
    expect((await r.events()).sort()).toEqual(
      [
        `appointment.updated ${old[0]!.id}`,
        `appointment.documentation_completed ${old[0]!.id}`,
        `appointment.removed ${old[1]!.id}`,
        `appointment.updated ${recent.id}`,
        `appointment.documentation_completed ${recent.id}`,
      ].sort(),
    );
    // The check for the old ones was a narrow, filtered in_date_range request.
    const lookups = r.sim.served.filter((s) => s.query.patient_id !== undefined).map((s) => s.query);
    expect(lookups).toContainEqual({ start_date: '2026-02-17', end_date: '2026-02-19', patient_id: String(old[0]!.patient_id) });
    await r.poll();
    expect(await r.events()).toHaveLength(5);
  });

  it('a record seen in the list once more clears its "missing" mark (no false completion)', async () => {
    r = await rig();
    const a = r.sim.create({ scheduled_at: iso(T0 - DAY), status: 'completed' });
    r.sim.markDocumentationPending(a.id);
    await r.poll();
    r.sim.completeDocumentation(a.id);
    await r.poll();
    expect((await r.state()).cursor.missing.pending_documentation).toEqual([String(a.id)]);
    r.sim.markDocumentationPending(a.id); // back on the list (e.g. a paging hiccup)
    await r.poll();
    await r.poll();
    expect(await r.events()).toEqual([]);
    expect((await r.state()).cursor.missing.pending_documentation).toEqual([]);
  });
});
