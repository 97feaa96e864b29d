import type { LowdbStore } from '../src/store/lowdb-store.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, Harness, waitFor } from './helpers/harness.js';

describe('admin API hardening and audit', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await Harness.create({ seed: { contacts: 3 }, env: { BRIDGE_RESOURCES: 'contacts' } });
  });
  afterEach(async () => h?.close());

  const raw = (method: string, path: string, body?: string, headers: Record<string, string> = {}) =>
    fetch(`${h.bridge.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', ...headers },
      body,
    });

  it('records every admin action with time, actor and request id, readable at GET /v1/audit', async () => {
    const created = await raw('POST', '/v1/subscriptions', JSON.stringify({ url: h.receiver.url }), { 'x-request-id': 'req-create-1' });
    expect(created.headers.get('x-request-id')).toBe('req-create-1');
    const sub = (await created.json()) as { id: string; secret: string };
    h.receiver.secret = sub.secret;
    await h.api('PATCH', `/v1/subscriptions/${sub.id}`, { description: 'crm' });
    await h.api('POST', `/v1/subscriptions/${sub.id}/secret/rotate`, { grace_period_seconds: 0 });
    await h.poll();
    h.sim.update('contacts', h.sim.all('contacts')[0]!.id, { notes: 'x' });
    await h.poll();
    const eventId = await waitFor(() => h.receiver.received[0]?.id);
    await h.api('POST', `/v1/events/${eventId}/replay`, {});
    await h.api('POST', '/v1/replay', { since: new Date(Date.now() - 60_000).toISOString() });
    await h.api('POST', `/v1/subscriptions/${sub.id}/recover`, { since: new Date(Date.now() - 60_000).toISOString() });
    await h.api('DELETE', `/v1/subscriptions/${sub.id}`);

    const log = await h.api('GET', '/v1/audit');
    expect(log.status).toBe(200);
    expect(log.json.data.map((e: { action: string }) => e.action).reverse()).toEqual([
      'subscription.created',
      'subscription.updated',
      'subscription.secret_rotated',
      'event.replayed',
      'events.replayed',
      'subscription.recovered',
      'subscription.deleted',
    ]);
    const first = log.json.data.at(-1);
    expect(first).toMatchObject({ actor: 'admin', request_id: 'req-create-1', target: sub.id });
    expect(Date.parse(first.at)).not.toBeNaN();
    expect(JSON.stringify(log.json)).not.toContain(sub.secret);
    // Durable like everything else: it survives a restart.
    await h.bridge.stop();
    await h.startBridge();
    expect((await h.api('GET', '/v1/audit')).json.data).toHaveLength(7);
  });

  it('sends security headers and no CORS headers', async () => {
    const res = await fetch(`${h.bridge.url}/healthz`, { headers: { origin: 'https://evil.example' } });
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(res.headers.get('strict-transport-security')).toContain('max-age');
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await fetch(`${h.bridge.url}/v1/subscriptions`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers every malformed, mistyped, oversized or over-specified request with a 4xx JSON error and changes nothing', async () => {
    const sub = await h.api('POST', '/v1/subscriptions', { url: h.receiver.url, event_types: ['contact.*'] });
    h.receiver.secret = sub.json.secret;
    await h.poll();
    h.sim.update('contacts', h.sim.all('contacts')[0]!.id, { notes: 'y' });
    await h.poll();
    const eventId = await waitFor(() => h.receiver.received[0]?.id);
    const deliveryId = (await h.api('GET', `/v1/events/${eventId}`)).json.deliveries[0].id;
    await (h.bridge.store as LowdbStore).flush();
    const state = async () => JSON.stringify({ ...(await (h.bridge.store as LowdbStore).dump()), audit: [] });
    const before = await state();

    const bodyRoutes: Array<[string, string]> = [
      ['POST', '/v1/subscriptions'],
      ['PATCH', `/v1/subscriptions/${sub.json.id}`],
      ['POST', `/v1/subscriptions/${sub.json.id}/secret/rotate`],
      ['POST', `/v1/subscriptions/${sub.json.id}/recover`],
      ['POST', `/v1/events/${eventId}/replay`],
      ['POST', '/v1/replay'],
    ];
    const bodies = [
      '{"url": ',
      '[]',
      '42',
      '"text"',
      'null',
      JSON.stringify({
        url: 7,
        event_types: 'contact.*',
        since: 5,
        until: [],
        subscription_id: {},
        grace_period_seconds: 'soon',
        status: 'on',
        headers: 'x',
      }),
      JSON.stringify({ unknown_field: true }),
      JSON.stringify({ url: `${h.receiver.url}?${'x'.repeat(70_000)}` }),
    ];
    const responses: Array<{ route: string; body: string; status: number; json: any }> = [];
    for (const [method, path] of bodyRoutes) {
      for (const body of bodies) {
        const res = await raw(method, path, body);
        const text = await res.text();
        responses.push({ route: `${method} ${path}`, body: body.slice(0, 40), status: res.status, json: JSON.parse(text) });
      }
    }
    const queryRoutes = [
      '/v1/events?limit=abc',
      '/v1/events?limit=0',
      '/v1/events?since=never',
      '/v1/events?cursor=%%%',
      '/v1/events?type=BAD%20TYPE',
      `/v1/subscriptions/${sub.json.id}/deliveries?status=lost`,
      '/v1/subscriptions?limit=101',
      '/v1/audit?since=yesterday',
    ];
    for (const path of queryRoutes) {
      const res = await raw('GET', path);
      responses.push({ route: `GET ${path}`, body: '', status: res.status, json: await res.json() });
    }
    for (const [method, path] of [
      ['POST', '/v1/deliveries/dlv_nope/retry'],
      ['GET', '/v1/events/evt_nope'],
      ['DELETE', '/v1/subscriptions/sub_nope'],
    ] as const) {
      const res = await raw(method, path);
      responses.push({ route: `${method} ${path}`, body: '', status: res.status, json: await res.json() });
    }
    const retrySucceeded = await raw('POST', `/v1/deliveries/${deliveryId}/retry`);
    responses.push({ route: 'retry a succeeded delivery', body: '', status: retrySucceeded.status, json: await retrySucceeded.json() });

    for (const r of responses) {
      expect(r.status, `${r.route} ${r.body}`).toBeGreaterThanOrEqual(400);
      expect(r.status, `${r.route} ${r.body}`).toBeLessThan(500);
      expect(r.json, `${r.route} ${r.body}`).toEqual({ error: { code: expect.any(String), message: expect.any(String) } });
    }
    expect(responses.some((r) => r.status === 413)).toBe(true);
    expect((await fetch(`${h.bridge.url}/healthz`)).status).toBe(200);
    await (h.bridge.store as LowdbStore).flush();
    expect(await state()).toBe(before);
    expect((await h.api('GET', '/v1/audit')).json.data.map((e: { action: string }) => e.action)).toEqual(['subscription.created']);
  });
});

describe('readiness', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it('is 503 until every resource has polled, 200 after, and stays 200 while a failed resource is within its backoff', async () => {
    h = await Harness.create({ seed: { contacts: 2 }, env: { BRIDGE_RESOURCES: 'contacts' } });
    const ready = async () => {
      const res = await fetch(`${h.bridge.url}/readyz`);
      return { status: res.status, json: (await res.json()) as { status: string; waiting: unknown[] } };
    };
    expect(await ready()).toMatchObject({ status: 503, json: { status: 'not_ready' } });
    await h.poll();
    expect(await ready()).toMatchObject({ status: 200, json: { status: 'ready', waiting: [] } });
    h.sim.injectFault({ status: 500, times: 1 });
    await h.poll();
    // Failed, but within its backoff: still ready.
    expect((await ready()).status).toBe(200);
    expect((await fetch(`${h.bridge.url}/healthz`)).status).toBe(200);
  });
});

describe('metrics', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it('serves Prometheus metrics for polls, upstream requests, events, deliveries and the store', async () => {
    h = await Harness.create({ seed: { contacts: 2 }, env: { BRIDGE_RESOURCES: 'contacts' } });
    await h.subscribe(['*']);
    await h.poll();
    h.sim.update('contacts', h.sim.all('contacts')[0]!.id, { notes: 'counted' });
    await h.poll();
    await waitFor(() => h.receiver.received.length === 1);
    await waitFor(async () => (await h.api('GET', `/v1/events/${h.receiver.received[0]!.id}`)).json.deliveries[0]?.status === 'succeeded');
    const res = await fetch(`${h.bridge.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    for (const line of [
      /^bridge_polls_total\{source="cliniko",resource="contacts",outcome="ok"\} [1-9]/m,
      /^bridge_upstream_requests_total\{source="cliniko",status="200"\} [1-9]/m,
      /^bridge_events_total\{type="contact.updated"\} [1-9]/m,
      /^bridge_delivery_attempts_total\{outcome="succeeded"\} [1-9]/m,
      /^bridge_delivery_latency_seconds_count [1-9]/m,
      /^bridge_pending_deliveries 0$/m,
      /^bridge_store_commit_seconds_count [1-9]/m,
      /^bridge_store_bytes [1-9]/m,
    ]) {
      expect(text).toMatch(line);
    }
    // Labels never carry ids or URLs.
    expect(text).not.toContain(h.receiver.url);
    expect(text).not.toMatch(/evt_|sub_/);
  });
});
