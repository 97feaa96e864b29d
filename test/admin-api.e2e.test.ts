import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Harness, waitFor } from './helpers/harness.js';

describe('admin API', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await Harness.create({ seed: { contacts: 3 }, env: { BRIDGE_RESOURCES: 'contacts', BRIDGE_ALLOW_PRIVATE_URLS: 'false' } });
  });
  afterEach(async () => h?.close());

  const expectError = (res: { status: number; json: any }, status: number, code: string) => {
    expect(res.status).toBe(status);
    expect(res.json).toEqual({ error: { code, message: expect.any(String) } });
  };

  it('serves /healthz without a token', async () => {
    const res = await fetch(`${h.bridge.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('answers 401 with the error shape for a missing or wrong token', async () => {
    const missing = await fetch(`${h.bridge.url}/v1/subscriptions`);
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
    expectError(await h.api('GET', '/v1/subscriptions', undefined, 'wrong-token-wrong-token'), 401, 'unauthorized');
  });

  it('refuses loopback and private subscriber URLs with 422 unless allowed', async () => {
    for (const url of [
      'http://127.0.0.1:9/hook',
      'http://localhost/hook',
      'http://10.0.0.1/x',
      'http://[::1]/x',
      'http://169.254.169.254/',
    ]) {
      expectError(await h.api('POST', '/v1/subscriptions', { url, event_types: ['*'] }), 422, 'unsafe_url');
    }
    expect((await h.api('GET', '/v1/subscriptions')).json.data).toEqual([]);
  });

  it('validates bodies: bad JSON, wrong types, unknown fields and bad patterns are 400s', async () => {
    expectError(await h.api('POST', '/v1/subscriptions', '{"url": '), 400, 'invalid_json');
    expectError(await h.api('POST', '/v1/subscriptions', { url: 42 }), 400, 'invalid_request');
    expectError(await h.api('POST', '/v1/subscriptions', { url: 'https://hooks.example.com/x', colour: 'red' }), 400, 'invalid_request');
    const bad = await h.api('POST', '/v1/subscriptions', { url: 'https://hooks.example.com/x', event_types: ['Contact Updated'] });
    expectError(bad, 400, 'invalid_request');
    expect(bad.json.error.message).toMatch(/^event_types\.0: /);
    expectError(await h.api('GET', '/v1/events?limit=1000'), 400, 'invalid_request');
    expectError(await h.api('GET', '/v1/events?since=yesterday'), 400, 'invalid_request');
    expectError(await h.api('GET', '/v1/events?cursor=bm9wZQ'), 400, 'invalid_cursor');
    expectError(await h.api('POST', '/v1/replay', { until: '2026-01-01T00:00:00Z' }), 400, 'invalid_request');
    expectError(await h.api('GET', '/v1/nothing-here'), 404, 'not_found');
    expectError(await h.api('GET', '/v1/subscriptions/sub_missing'), 404, 'not_found');
    expectError(await h.api('GET', '/v1/events/evt_missing/attempts'), 404, 'not_found');
    expectError(await h.api('POST', '/v1/events/evt_missing/replay', {}), 404, 'not_found');
  });

  it('creates, reads, changes and deletes a subscription; the secret is shown on create and on request only', async () => {
    // Public-looking URL accepted: creation resolves nothing for an IP literal and sends nothing.
    const created = await h.api('POST', '/v1/subscriptions', {
      url: 'https://93.184.216.34/hook',
      event_types: ['contact.*'],
      description: 'CRM',
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      id: expect.stringMatching(/^sub_/),
      url: 'https://93.184.216.34/hook',
      event_types: ['contact.*'],
      status: 'active',
      description: 'CRM',
    });
    expect(created.json.secret).toMatch(/^whsec_/);
    expect(Date.parse(created.json.created_at)).not.toBeNaN();
    const id = created.json.id;

    const got = await h.api('GET', `/v1/subscriptions/${id}`);
    expect(got.json.secret).toBeUndefined();
    expect((await h.api('GET', `/v1/subscriptions/${id}/secret`)).json).toEqual({ secret: created.json.secret });
    expect((await h.api('GET', '/v1/subscriptions')).json.data.map((s: { id: string }) => s.id)).toEqual([id]);

    const patched = await h.api('PATCH', `/v1/subscriptions/${id}`, { status: 'disabled', event_types: ['contact.updated'] });
    expect(patched.json).toMatchObject({ status: 'disabled', event_types: ['contact.updated'] });
    expectError(await h.api('PATCH', `/v1/subscriptions/${id}`, { url: 'http://192.168.0.10/' }), 422, 'unsafe_url');

    expect((await h.api('DELETE', `/v1/subscriptions/${id}`)).status).toBe(204);
    expectError(await h.api('GET', `/v1/subscriptions/${id}`), 404, 'not_found');
  });

  it('lists events newest first, filters them, and pages with an opaque cursor', async () => {
    await h.poll();
    for (const c of h.sim.all('contacts')) h.sim.update('contacts', c.id, { notes: 'n' });
    await h.poll();
    await waitFor(async () => (await h.api('GET', '/v1/events')).json.data.length === 3);
    const all = (await h.api('GET', '/v1/events')).json.data;
    expect(all.map((e: { id: string }) => e.id)).toEqual([...all.map((e: { id: string }) => e.id)].sort().reverse());

    const first = await h.api('GET', '/v1/events?limit=2');
    expect(first.json.data).toHaveLength(2);
    const second = await h.api('GET', `/v1/events?limit=2&cursor=${first.json.next_cursor}`);
    expect(second.json.data).toHaveLength(1);
    expect(second.json.next_cursor).toBeNull();
    expect([...first.json.data, ...second.json.data]).toEqual(all);

    const target = all[1];
    const byRecord = await h.api('GET', `/v1/events?resource_id=${target.data.id}`);
    expect(byRecord.json.data).toEqual([target]);
    expect((await h.api('GET', '/v1/events?type=contact.created')).json.data).toEqual([]);
    expect((await h.api('GET', '/v1/events?type=contact.*')).json.data).toHaveLength(3);
    expect((await h.api('GET', `/v1/events?since=${new Date(Date.now() + 60_000).toISOString()}`)).json.data).toEqual([]);
    expect((await h.api('GET', `/v1/events/${target.id}`)).json).toMatchObject({ id: target.id, type: 'contact.updated', deliveries: [] });
  });

  it('polls on request with 202 and reports per resource state', async () => {
    const res = await h.api('POST', '/v1/poll');
    expect(res.status).toBe(202);
    const sources = await waitFor(async () => {
      const s = (await h.api('GET', '/v1/sources')).json.data[0];
      return s.last_success_at ? s : null;
    });
    expect(sources).toMatchObject({ source: 'cliniko', resource: 'contacts', last_error: null });
    expect(sources.cursor.updated_at).toMatch(/Z$/);
  });
});
