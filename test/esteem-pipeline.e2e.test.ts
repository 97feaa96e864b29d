import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { daysFromNow, DAY, ESTEEM_TOKEN, EsteemHarness } from './helpers/esteem-harness.js';
import { waitFor } from './helpers/harness.js';

const settle = (ms = 150) => new Promise((r) => setTimeout(r, ms));

describe('Esteem end to end: an Esteem-only bridge against the simulator', () => {
  let h: EsteemHarness;
  afterEach(async () => h?.close());

  it('starts without any Cliniko variable, records a silent baseline, then delivers every event type, signed', async () => {
    h = await EsteemHarness.create();
    const sim = h.sim;
    const notes = sim.create({ scheduled_at: daysFromNow(3), notes: 'Initial consultation' });
    const moved = sim.create({ scheduled_at: daysFromNow(5), provider_id: 456 });
    const confirmed = sim.create({ scheduled_at: daysFromNow(6), status: 'scheduled' });
    const cancelled = sim.create({ scheduled_at: daysFromNow(8), status: 'confirmed' });
    const documented = sim.create({ scheduled_at: daysFromNow(-2), status: 'completed' });
    const deleted = sim.create({ scheduled_at: daysFromNow(20) });
    await h.subscribe();

    await h.poll();
    const state = await h.sourceState();
    expect(state).toMatchObject({ source: 'esteem', resource: 'appointments', last_error: null });
    expect(state.cursor.baseline_done).toBe(true);
    expect(await h.eventTypes()).toEqual([]);

    const created = sim.create({ scheduled_at: daysFromNow(10), notes: 'New booking' });
    sim.update(notes.id, { notes: 'Bring scans' });
    sim.reschedule(moved.id, { scheduled_at: daysFromNow(7), provider_id: 457 });
    sim.setStatus(confirmed.id, 'confirmed');
    sim.cancel(cancelled.id);
    sim.markDocumentationPending(documented.id);
    sim.remove(deleted.id);
    await h.poll();
    // A removal is confirmed by a second complete read that also misses it.
    sim.completeDocumentation(documented.id);
    await h.poll();
    await h.poll();

    const expected = [
      'appointment.created',
      'appointment.updated', // notes
      'appointment.updated',
      'appointment.rescheduled',
      'appointment.updated',
      'appointment.status_changed',
      'appointment.updated',
      'appointment.status_changed',
      'appointment.cancelled',
      'appointment.updated',
      'appointment.documentation_pending',
      'appointment.removed',
      'appointment.updated',
      'appointment.documentation_completed',
    ];
    await waitFor(() => h.receiver.received.length >= expected.length, 10_000, `${expected.length} deliveries`);
    expect(h.receiver.received.every((r) => r.verified)).toBe(true);
    expect(h.receiver.types().sort()).toEqual([...expected].sort());

    const one = (type: string, id: number) => {
      const found = h.receiver.ofType(type).filter((r) => r.payload.data.id === String(id));
      expect(found, `${type} for ${id}`).toHaveLength(1);
      return found[0]!.payload;
    };
    for (const r of h.receiver.received) expect(r.payload.data).toMatchObject({ source: 'esteem', resource: 'appointment' });

    const c = one('appointment.created', created.id);
    expect(c.data.object).toEqual({ ...created, id: String(created.id), documentation_pending: false });
    expect(c.data.previous_attributes).toBeUndefined();

    expect(one('appointment.updated', notes.id).data.previous_attributes).toMatchObject({ notes: 'Initial consultation' });

    const r = one('appointment.rescheduled', moved.id);
    expect((r.data as Record<string, unknown>).previous).toEqual({ scheduled_at: moved.scheduled_at, provider_id: 456 });
    expect(r.data.object).toMatchObject({ provider_id: 457, scheduled_at: sim.get(moved.id)!.scheduled_at });

    expect(one('appointment.status_changed', confirmed.id).data).toMatchObject({ from: 'scheduled', to: 'confirmed' });
    expect(one('appointment.status_changed', cancelled.id).data).toMatchObject({ from: 'confirmed', to: 'cancelled' });
    expect(one('appointment.cancelled', cancelled.id).data.object.status).toBe('cancelled');

    const pending = one('appointment.documentation_pending', documented.id);
    expect(pending.data.object.documentation_pending).toBe(true);
    expect(pending.data.previous_attributes).toEqual({ documentation_pending: false });
    expect(one('appointment.documentation_completed', documented.id).data.object.documentation_pending).toBe(false);

    const removed = one('appointment.removed', deleted.id);
    expect(removed.data.object).toMatchObject({ id: String(deleted.id), scheduled_at: deleted.scheduled_at });

    // Nothing more when nothing changed.
    await h.poll();
    await settle();
    expect(h.receiver.received).toHaveLength(expected.length);
  });

  it('reads the window in date chunks of at most 7 days whose boundaries overlap, never one wide request', async () => {
    h = await EsteemHarness.create({ env: { ESTEEM_WINDOW: '-7d..+90d' } });
    await h.poll();
    const requests = h.rangeRequests().map((s) => s.query);
    expect(requests.length).toBe(14); // 97 days in 7-day chunks
    for (const q of requests) {
      expect(q.start_date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      const span = (Date.parse(q.end_date!) - Date.parse(q.start_date!)) / DAY;
      expect(span).toBeGreaterThan(0);
      expect(span).toBeLessThanOrEqual(7);
    }
    for (let i = 1; i < requests.length; i++) expect(requests[i]!.start_date).toBe(requests[i - 1]!.end_date);
    const today = Date.parse(new Date().toISOString().slice(0, 10));
    expect(Date.parse(requests[0]!.start_date!)).toBe(today - 7 * DAY);
    expect(Date.parse(requests.at(-1)!.end_date!)).toBe(today + 90 * DAY);
    // Every request got a 200: the simulator refuses ranges over 31 days with a 422.
    expect(h.rangeRequests().every((s) => s.status === 200)).toBe(true);
  });

  it.each(['array', 'object'] as const)('accepts the list shape "%s" for both lists', async (shape) => {
    h = await EsteemHarness.create({ sim: { listShape: shape } });
    const a = h.sim.create({ scheduled_at: daysFromNow(2) });
    const b = h.sim.create({ scheduled_at: daysFromNow(-1), status: 'completed' });
    await h.subscribe();
    await h.poll();
    h.sim.setStatus(a.id, 'confirmed');
    h.sim.markDocumentationPending(b.id);
    h.sim.create({ scheduled_at: daysFromNow(30) });
    await h.poll();
    await waitFor(() => h.receiver.received.length >= 5, 10_000, 'five deliveries');
    expect(h.receiver.types().sort()).toEqual(
      [
        'appointment.created',
        'appointment.documentation_pending',
        'appointment.status_changed',
        'appointment.updated',
        'appointment.updated',
      ].sort(),
    );
    const bodies = h.sim.served.filter((s) => s.status === 200 && s.count !== undefined);
    expect(bodies.length).toBeGreaterThan(0);
    expect((await h.sourceState()).last_error).toBeNull();
  });

  it('a rejected token (401) is recorded in GET /v1/sources; the cursor stays and no event is emitted', async () => {
    h = await EsteemHarness.create();
    const a = h.sim.create({ scheduled_at: daysFromNow(4) });
    await h.subscribe();
    await h.poll();
    const before = await h.sourceState();

    h.sim.userToken = 'rotated-by-the-clinic';
    h.sim.update(a.id, { notes: 'changed while the token is revoked' });
    h.sim.remove(h.sim.create({ scheduled_at: daysFromNow(9) }).id);
    await h.poll();
    await h.poll();
    const after = await h.sourceState();
    expect(after.last_error.message).toMatch(/401/);
    // The status, never the body: error bodies can echo request data and this text is served and logged.
    expect(after.last_error.message).not.toContain('not authorized');
    expect(after.cursor).toEqual(before.cursor);
    expect(after.backoff_until).not.toBeNull();
    expect(h.sim.served.filter((s) => s.status === 401).length).toBeGreaterThan(0);
    expect(await h.eventTypes()).toEqual([]);

    h.sim.userToken = ESTEEM_TOKEN;
    await h.poll();
    await waitFor(() => h.receiver.received.length >= 1);
    expect(h.receiver.types()).toEqual(['appointment.updated']);
    expect((await h.sourceState()).last_error).toBeNull();
  });

  it('a failed or malformed chunk aborts the pass: no false removal, cursor kept', async () => {
    h = await EsteemHarness.create();
    const ids = [2, 12, 25, 40, 60, 80].map((d) => h.sim.create({ scheduled_at: daysFromNow(d) }).id);
    const gone = h.sim.create({ scheduled_at: daysFromNow(15) });
    await h.poll();
    h.sim.remove(gone.id);
    await h.poll(); // first complete read that misses it
    const cursor = (await h.sourceState()).cursor;
    expect(cursor.missing.window).toEqual([String(gone.id)]);

    // Fail the third chunk, then (next pass) serve a truncated body for the second.
    let seen = 0;
    h.sim.afterResponse = (info) => {
      if (info.path.endsWith('/in_date_range') && ++seen === 2) h.sim.injectFault({ status: 500, pathIncludes: '/in_date_range' });
    };
    await h.poll();
    let state = await h.sourceState();
    expect(state.last_error.message).toMatch(/500/);
    expect(state.cursor).toEqual(cursor);

    seen = 0;
    h.sim.afterResponse = (info) => {
      if (info.path.endsWith('/in_date_range') && ++seen === 1) h.sim.injectFault({ malformed: true, pathIncludes: '/in_date_range' });
    };
    await h.poll();
    state = await h.sourceState();
    expect(state.last_error.message).toMatch(/not JSON/);
    expect(state.cursor).toEqual(cursor);
    expect(await h.eventTypes()).toEqual([]);

    // A pending-documentation failure aborts the pass too.
    h.sim.afterResponse = undefined;
    h.sim.injectFault({ status: 503, pathIncludes: '/pending_documentation' });
    await h.poll();
    expect((await h.sourceState()).cursor).toEqual(cursor);
    expect(await h.eventTypes()).toEqual([]);

    // The next complete read confirms the one real removal, and only it.
    await h.poll();
    expect(await h.eventTypes()).toEqual(['appointment.removed']);
    const [event] = (await h.api('GET', '/v1/events')).json.data;
    expect(event.data.id).toBe(String(gone.id));
    expect(ids).not.toContain(gone.id);
    expect((await h.sourceState()).last_error).toBeNull();
  });

  it('an answer slower than ESTEEM_REQUEST_TIMEOUT, or a 429, fails the pass and backs off (Retry-After honoured)', async () => {
    h = await EsteemHarness.create({ env: { ESTEEM_REQUEST_TIMEOUT: '300ms' } });
    h.sim.create({ scheduled_at: daysFromNow(3) });
    await h.poll();
    const cursor = (await h.sourceState()).cursor;
    h.sim.injectFault({ delayMs: 1500, pathIncludes: '/in_date_range' });
    const started = Date.now();
    await h.poll();
    expect(Date.now() - started).toBeLessThan(1400);
    let state = await h.sourceState();
    expect(state.last_error.message).toMatch(/in_date_range: .*time/i);
    expect(state.cursor).toEqual(cursor);

    h.sim.injectFault({ status: 429, retryAfterSeconds: 120 });
    await h.poll();
    state = await h.sourceState();
    expect(state.last_error.message).toMatch(/429/);
    expect(Date.parse(state.backoff_until) - Date.now()).toBeGreaterThan(100_000);
    expect(state.cursor).toEqual(cursor);
  });

  it('never writes the Esteem user token to the logs', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    h = await EsteemHarness.create({ logger: createLogger('trace', sink), env: { LOG_LEVEL: 'trace' } });
    const a = h.sim.create({ scheduled_at: daysFromNow(1) });
    await h.subscribe();
    await h.poll();
    h.sim.update(a.id, { notes: 'x' });
    await h.poll();
    h.sim.userToken = 'another-token';
    await h.poll(); // 401: logged as a warning
    h.sim.userToken = ESTEEM_TOKEN;
    h.sim.injectFault({ status: 500 });
    await h.api('POST', `/v1/sources/esteem/appointments/${a.id}/reschedule`, { provider_id: 457 });
    await waitFor(() => h.receiver.received.length >= 1);
    await h.bridge.stop();
    const log = lines.join('');
    expect(log).toContain('poll failed');
    expect(log).toContain('bridge started');
    expect(log).not.toContain(ESTEEM_TOKEN);
  });
});
