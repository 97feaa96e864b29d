import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EsteemSimulator } from '../tools/simulator/esteem/index.js';

const TOKEN = 'sim-test-token';
const BASE = '/v1/clinic/appointments';

describe('the Esteem simulator', () => {
  const sim = new EsteemSimulator({ userToken: TOKEN, now: () => Date.parse('2026-03-10T12:00:00Z') });
  let origin = '';
  beforeAll(async () => {
    origin = (await sim.listen()).baseUrl;
  });
  afterAll(async () => sim.close());
  beforeEach(() => {
    sim.listShape = 'array';
    sim.clearFaults();
  });

  const call = async (path: string, init: { method?: string; token?: string | null; body?: unknown } = {}) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (init.token !== null) headers['x-user-token'] = init.token ?? TOKEN;
    const res = await fetch(`${origin}${path}`, {
      method: init.method ?? 'GET',
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    const text = await res.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: res.status, json, headers: res.headers };
  };

  const a = sim.create({ scheduled_at: '2026-03-12T09:00:00Z', provider_id: 456, patient_id: 1049 });
  const b = sim.create({ scheduled_at: '2026-03-12T23:45:00Z', provider_id: 457, patient_id: 1050 });
  const c = sim.create({ scheduled_at: '2026-03-13T00:00:00Z', provider_id: 456, patient_id: 1049 });

  it('answers 401 in the documented shape without the right X-User-Token', async () => {
    for (const token of [null, 'wrong']) {
      const res = await call(`${BASE}/in_date_range?start_date=2026-03-12&end_date=2026-03-12`, { token });
      expect(res.status).toBe(401);
      expect(res.json).toEqual({ errors: 'You are not authorized to perform this action.' });
    }
  });

  it('serves in_date_range with whole-day dates (end_date inclusive), filters, and either list shape', async () => {
    const day = await call(`${BASE}/in_date_range?start_date=2026-03-12&end_date=2026-03-12`);
    expect(day.json.map((x: { id: number }) => x.id)).toEqual([a.id, b.id]);
    expect(day.json[0]).toEqual({ ...a, scheduled_at: '2026-03-12T09:00:00.000Z' });
    expect(Object.keys(day.json[0])).toEqual([
      'id',
      'patient_id',
      'provider_id',
      'scheduled_at',
      'status',
      'appointment_type',
      'duration_minutes',
      'notes',
      'created_at',
      'updated_at',
    ]);
    const filtered = await call(`${BASE}/in_date_range?start_date=2026-03-12&end_date=2026-03-13&provider_id=456&patient_id=1049`);
    expect(filtered.json.map((x: { id: number }) => x.id)).toEqual([a.id, c.id]);
    sim.listShape = 'object';
    const wrapped = await call(`${BASE}/in_date_range?start_date=2026-03-13&end_date=2026-03-13`);
    expect(wrapped.json).toEqual({ appointments: [expect.objectContaining({ id: c.id })] });
  });

  it('requires start_date and end_date (422) and caps the range at 31 days', async () => {
    const missing = await call(`${BASE}/in_date_range?start_date=2026-03-12`);
    expect(missing.status).toBe(422);
    expect(missing.json).toEqual({ errors: { end_date: ["can't be blank"] } });
    expect((await call(`${BASE}/in_date_range?start_date=soon&end_date=2026-03-12`)).json).toEqual({
      errors: { start_date: ['is not a valid date'] },
    });
    const wide = await call(`${BASE}/in_date_range?start_date=2026-03-01&end_date=2026-04-02`);
    expect(wide.status).toBe(422);
    expect(wide.json.errors.end_date[0]).toMatch(/at most 31 days/);
    expect((await call(`${BASE}/in_date_range?start_date=2026-03-01&end_date=2026-04-01`)).status).toBe(200);
    expect((await call(`${BASE}/in_date_range?start_date=2026-03-12&end_date=2026-03-11`)).status).toBe(422);
  });

  it('pages pending_documentation with page and page_size', async () => {
    for (const x of [a, b, c]) sim.markDocumentationPending(x.id);
    const first = await call(`${BASE}/pending_documentation?page=1&page_size=2`);
    const second = await call(`${BASE}/pending_documentation?page=2&page_size=2`);
    expect([...first.json, ...second.json].map((x: { id: number }) => x.id)).toEqual([a.id, b.id, c.id]);
    sim.listShape = 'object';
    const wrapped = await call(`${BASE}/pending_documentation?page=2&page_size=2`);
    expect(wrapped.json).toEqual({
      appointments: [expect.objectContaining({ id: c.id })],
      meta: { page: 2, page_size: 2, total_count: 3 },
    });
    expect((await call(`${BASE}/pending_documentation?page_size=101`)).status).toBe(422);
    expect((await call(`${BASE}/pending_documentation?page=0`)).status).toBe(422);
    for (const x of [a, b, c]) sim.completeDocumentation(x.id);
  });

  it('reschedules with 404 and 422 in the documented shapes', async () => {
    expect(
      await call(`${BASE}/reschedule_appointments/999999`, { method: 'PUT', body: { appointment: { provider_id: 457 } } }),
    ).toMatchObject({
      status: 404,
      json: { errors: 'Appointment not found' },
    });
    const blank = await call(`${BASE}/reschedule_appointments/${a.id}`, {
      method: 'PUT',
      body: { appointment: { scheduled_at: '', provider_id: 1 } },
    });
    expect(blank).toMatchObject({ status: 422, json: { errors: { scheduled_at: ["can't be blank"], provider_id: ['must exist'] } } });
    const ok = await call(`${BASE}/reschedule_appointments/${a.id}`, {
      method: 'PUT',
      body: { appointment: { scheduled_at: '2026-03-14T10:00:00+01:00', reason: 'Provider availability change' } },
    });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ id: a.id, scheduled_at: '2026-03-14T09:00:00.000Z' });
    expect(sim.reschedules.at(-1)).toEqual({ id: a.id, reason: 'Provider availability change' });
  });

  it('injects faults: 5xx, 429 with Retry-After, a truncated body, a slow answer', async () => {
    const path = `${BASE}/in_date_range?start_date=2026-03-13&end_date=2026-03-13`;
    sim.injectFault({ status: 503 });
    expect((await call(path)).status).toBe(503);
    sim.injectFault({ status: 429, retryAfterSeconds: 7 });
    const limited = await call(path);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    sim.injectFault({ malformed: true });
    const broken = await call(path);
    expect(broken.status).toBe(200);
    expect(typeof broken.json).toBe('string');
    sim.injectFault({ delayMs: 150 });
    const started = Date.now();
    expect((await call(path)).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    const last = sim.served.at(-1)!;
    expect(last).toMatchObject({ method: 'GET', status: 200, count: 1, query: { start_date: '2026-03-13', end_date: '2026-03-13' } });
  });

  it('makes random changes for the demo without patient data in the result', () => {
    const before = sim.all().length;
    const changes = Array.from({ length: 30 }, () => sim.randomChange());
    for (const change of changes) expect(Object.keys(change).sort()).toEqual(['action', 'id']);
    expect(sim.all().length).toBeGreaterThanOrEqual(before - 30);
    expect(new Set(changes.map((c) => c.action)).size).toBeGreaterThan(3);
  });
});
