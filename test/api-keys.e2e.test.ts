import type { LowdbStore } from '../src/store/lowdb-store.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Harness, waitFor } from './helpers/harness.js';

describe('API keys with scopes', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await Harness.create({ seed: { contacts: 2 }, env: { BRIDGE_RESOURCES: 'contacts' } });
  });
  afterEach(async () => h?.close());

  const issue = async (name: string, scopes: string[], subscriptions?: 'own' | 'all') => {
    const res = await h.api('POST', '/v1/api-keys', { name, scopes, ...(subscriptions ? { subscriptions } : {}) });
    expect(res.status).toBe(201);
    return res.json as { id: string; key: string; name: string; scopes: string[] };
  };

  it('issues a key once, lists keys without their value, and revokes them', async () => {
    const k = await issue('zapier', ['subscriptions:read', 'subscriptions:write']);
    expect(k.key).toMatch(/^ceb_[A-Za-z0-9_-]{43}$/);
    const list = await h.api('GET', '/v1/api-keys');
    expect(list.json.data).toEqual([
      expect.objectContaining({ id: k.id, name: 'zapier', scopes: ['subscriptions:read', 'subscriptions:write'], subscriptions: 'own' }),
    ]);
    expect(JSON.stringify(list.json)).not.toContain(k.key);
    expect(JSON.stringify(await (h.bridge.store as LowdbStore).dump())).not.toContain(k.key);
    expect((await h.api('GET', '/v1/subscriptions', undefined, k.key)).status).toBe(200);
    expect((await h.api('DELETE', `/v1/api-keys/${k.id}`)).status).toBe(204);
    const revoked = await h.api('GET', '/v1/subscriptions', undefined, k.key);
    expect(revoked.status).toBe(401);
    expect(revoked.json.error.code).toBe('unauthorized');
  });

  it('answers 403 for a valid key without the scope, 401 for a wrong token', async () => {
    const k = await issue('reader', ['subscriptions:read']);
    for (const [method, path, body] of [
      ['GET', '/v1/events', undefined],
      ['POST', '/v1/subscriptions', { url: h.receiver.url }],
      ['POST', '/v1/poll', undefined],
      ['GET', '/v1/audit', undefined],
      ['GET', '/v1/api-keys', undefined],
      ['POST', '/v1/api-keys', { name: 'x', scopes: ['events:read'] }],
    ] as const) {
      const res = await h.api(method, path, body, k.key);
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.json.error.code).toBe('forbidden');
    }
    expect((await h.api('GET', '/v1/events', undefined, 'ceb_not-a-key-at-all-000000000000000000000')).status).toBe(401);
  });

  it('keeps a key limited to its own subscriptions out of everyone else’s', async () => {
    const a = await issue('clinic-a', ['subscriptions:read', 'subscriptions:write', 'events:write', 'audit:read']);
    const b = await issue('clinic-b', ['subscriptions:read', 'subscriptions:write', 'events:write']);
    const all = await issue('ops', ['subscriptions:read'], 'all');
    const subA = (await h.api('POST', '/v1/subscriptions', { url: h.receiver.url }, a.key)).json;
    const subB = (await h.api('POST', '/v1/subscriptions', { url: h.receiver.url }, b.key)).json;
    const adminSub = (await h.api('POST', '/v1/subscriptions', { url: h.receiver.url })).json;

    expect((await h.api('GET', '/v1/subscriptions', undefined, a.key)).json.data.map((s: { id: string }) => s.id)).toEqual([subA.id]);
    for (const [method, path, body] of [
      ['GET', `/v1/subscriptions/${subB.id}`, undefined],
      ['GET', `/v1/subscriptions/${subB.id}/secret`, undefined],
      ['PATCH', `/v1/subscriptions/${subB.id}`, { description: 'mine now' }],
      ['DELETE', `/v1/subscriptions/${adminSub.id}`, undefined],
      ['POST', `/v1/subscriptions/${subB.id}/secret/rotate`, {}],
      ['POST', '/v1/replay', { since: new Date(0).toISOString(), subscription_id: subB.id }],
    ] as const) {
      const res = await h.api(method, path, body, a.key);
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    expect((await h.api('GET', `/v1/subscriptions/${subB.id}`)).json.description).toBeNull();
    expect((await h.api('GET', '/v1/subscriptions', undefined, all.key)).json.data).toHaveLength(3);
    const auditLog = await h.api('GET', '/v1/audit', undefined, a.key);
    expect(auditLog.json.data.find((e: { target: string }) => e.target === subA.id).actor).toBe('key:clinic-a');
  });

  it('shows a key limited to its own subscriptions only the events delivered to them, as they were delivered', async () => {
    const k = await issue('clinic-a', ['subscriptions:write', 'subscriptions:read', 'events:read', 'audit:read']);
    const own = await h.api('POST', '/v1/subscriptions', { url: h.receiver.url, event_types: ['contact.updated'], payload: 'thin' }, k.key);
    h.receiver.secret = own.json.secret;
    await h.api('POST', '/v1/subscriptions', { url: h.receiver.url, event_types: ['contact.archived'] });
    await h.poll();
    const [a, b] = h.sim.all('contacts');
    h.sim.update('contacts', a!.id, { first_name: 'Visible' });
    h.sim.archive('contacts', b!.id);
    await h.poll();
    await waitFor(() => h.receiver.received.length >= 2);
    const admin = await h.api('GET', '/v1/events');
    expect(admin.json.data.map((e: { type: string }) => e.type).sort()).toEqual(['contact.archived', 'contact.updated']);
    const mine = await h.api('GET', '/v1/events', undefined, k.key);
    expect(mine.json.data).toHaveLength(1);
    expect(mine.json.data[0]).toMatchObject({ type: 'contact.updated', data: { changed_fields: expect.arrayContaining(['first_name']) } });
    expect(JSON.stringify(mine.json)).not.toContain('Visible');
    const archived = admin.json.data.find((e: { type: string }) => e.type === 'contact.archived');
    expect((await h.api('GET', `/v1/events/${archived.id}`, undefined, k.key)).status).toBe(404);
    expect((await h.api('GET', '/v1/hooks/sample?event=contact.archived', undefined, k.key)).json[0].id).not.toBe(archived.id);
    const audit = await h.api('GET', '/v1/audit', undefined, k.key);
    expect(audit.json.data.every((e: { actor: string }) => e.actor === 'key:clinic-a')).toBe(true);
  });
});

describe('admin API rate limit', () => {
  it('answers 429 with Retry-After once a key spends its minute, without slowing other callers', async () => {
    const h = await Harness.create({ env: { BRIDGE_RESOURCES: 'contacts', BRIDGE_ADMIN_RATE_LIMIT_PER_MIN: '5' } });
    try {
      const k = (await h.api('POST', '/v1/api-keys', { name: 'busy', scopes: ['subscriptions:read'] })).json.key as string;
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++) statuses.push((await h.api('GET', '/v1/subscriptions', undefined, k)).status);
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
      const res = await fetch(`${h.bridge.url}/v1/subscriptions`, { headers: { authorization: `Bearer ${k}` } });
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(await res.json()).toEqual({ error: { code: 'rate_limited', message: expect.any(String) } });
      // The admin token has its own budget (one request spent issuing the key).
      expect((await h.api('GET', '/v1/subscriptions')).status).toBe(200);
    } finally {
      await h.close();
    }
  });
});
