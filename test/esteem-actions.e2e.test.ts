import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { daysFromNow, EsteemHarness } from './helpers/esteem-harness.js';
import { waitFor } from './helpers/harness.js';

const path = (id: number | string) => `/v1/sources/esteem/appointments/${id}/reschedule`;

describe('POST /v1/sources/esteem/appointments/:id/reschedule', () => {
  let h: EsteemHarness;
  beforeEach(async () => {
    h = await EsteemHarness.create();
  });
  afterEach(async () => h?.close());

  it('passes the change to Esteem, returns its answer, and the change arrives as appointment.rescheduled', async () => {
    const a = h.sim.create({ scheduled_at: daysFromNow(4), provider_id: 456 });
    await h.subscribe(['appointment.rescheduled']);
    await h.poll();

    const to = daysFromNow(6);
    const res = await h.api('POST', path(a.id), { scheduled_at: to, provider_id: 458, reason: 'Provider availability change' });
    expect(res.status).toBe(200);
    // Esteem's own answer, untouched (integer id).
    expect(res.json).toEqual(h.sim.get(a.id));
    expect(res.json).toMatchObject({ id: a.id, provider_id: 458, scheduled_at: new Date(to).toISOString() });
    expect(h.sim.reschedules).toEqual([{ id: a.id, reason: 'Provider availability change' }]);
    const put = h.sim.served.find((s) => s.method === 'PUT')!;
    expect(put.path).toBe(`/v1/clinic/appointments/reschedule_appointments/${a.id}`);

    await h.poll();
    await waitFor(() => h.receiver.received.length >= 1);
    const event = h.receiver.received[0]!;
    expect(event.verified).toBe(true);
    expect(event.payload.type).toBe('appointment.rescheduled');
    expect(event.payload.data).toMatchObject({
      source: 'esteem',
      id: String(a.id),
      previous: { scheduled_at: a.scheduled_at, provider_id: 456 },
      object: { provider_id: 458, scheduled_at: new Date(to).toISOString() },
    });
  });

  it("relays Esteem's 422 with its field errors, and its 404", async () => {
    const a = h.sim.create({ scheduled_at: daysFromNow(4) });
    const invalid = await h.api('POST', path(a.id), { provider_id: 999 });
    expect(invalid.status).toBe(422);
    expect(invalid.json.error).toMatchObject({ code: 'validation_failed', fields: { provider_id: ['must exist'] } });
    expect(invalid.json.error.message).toContain('provider_id must exist');

    h.sim.cancel(a.id);
    const cancelled = await h.api('POST', path(a.id), { scheduled_at: daysFromNow(5) });
    expect(cancelled.status).toBe(422);
    expect(cancelled.json.error.fields).toEqual({ base: ['a cancelled appointment cannot be rescheduled'] });

    const missing = await h.api('POST', path(424242), { scheduled_at: daysFromNow(5) });
    expect(missing.status).toBe(404);
    expect(missing.json.error).toMatchObject({ code: 'not_found' });
    expect(missing.json.error.message).toContain('Appointment not found');
  });

  it('validates the body before calling Esteem (400), and maps upstream failures to 502', async () => {
    const a = h.sim.create({ scheduled_at: daysFromNow(4) });
    for (const body of [
      {},
      { reason: 'only a reason' },
      { scheduled_at: 'tomorrow' },
      { provider_id: '457' },
      { scheduled_at: daysFromNow(5), extra: 1 },
    ]) {
      const res = await h.api('POST', path(a.id), body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json.error.code).toBe('invalid_request');
    }
    expect((await h.api('POST', path(a.id), '{"scheduled_at":')).json.error.code).toBe('invalid_json');
    expect((await h.api('POST', path('abc'), { provider_id: 457 })).status).toBe(400);
    expect(h.sim.served.filter((s) => s.method === 'PUT')).toHaveLength(0);

    h.sim.injectFault({ status: 500 });
    const failed = await h.api('POST', path(a.id), { provider_id: 457 });
    expect(failed.status).toBe(502);
    expect(failed.json.error.code).toBe('upstream_error');

    h.sim.userToken = 'revoked';
    const unauthorized = await h.api('POST', path(a.id), { provider_id: 457 });
    expect(unauthorized.status).toBe(502);
    expect(unauthorized.json.error.message).toContain('ESTEEM_USER_TOKEN');
  });

  it('sits behind the admin token', async () => {
    const a = h.sim.create({ scheduled_at: daysFromNow(4) });
    const none = await h.api('POST', path(a.id), { provider_id: 457 }, null);
    expect(none.status).toBe(401);
    expect(none.json.error.code).toBe('unauthorized');
    const wrong = await h.api('POST', path(a.id), { provider_id: 457 }, 'not-the-admin-token-at-all');
    expect(wrong.status).toBe(401);
    // Nothing reached Esteem but the start-time credentials check (a GET).
    expect(h.sim.served.filter((s) => s.method !== 'GET')).toHaveLength(0);
    expect(h.sim.get(a.id)!.provider_id).toBe(a.provider_id);
    expect((await h.api('POST', '/v1/sources/esteem/nothing-here', {})).status).toBe(404);
  });
});
