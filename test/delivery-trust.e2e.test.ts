import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, waitFor } from './helpers/harness.js';

const ONE_CONTACT = { seed: { contacts: 4 }, env: { BRIDGE_RESOURCES: 'contacts' } };

describe('delivery that receivers can trust', () => {
  let h: Harness;
  const servers: Server[] = [];
  afterEach(async () => {
    await h?.close();
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });

  /** Changes `n` contacts (distinct records) and polls. */
  async function changeContacts(n: number, note = `n${Date.now()}`): Promise<string[]> {
    const ids = h.sim
      .all('contacts')
      .slice(0, n)
      .map((c) => c.id);
    for (const id of ids) h.sim.update('contacts', id, { notes: `${note}-${id}` });
    await h.poll();
    return ids;
  }

  async function deliveries(subId: string, status?: string) {
    return (await h.api('GET', `/v1/subscriptions/${subId}/deliveries${status ? `?status=${status}` : ''}`)).json.data as any[];
  }

  it('honours Retry-After on 429/503 up to the longest scheduled delay', async () => {
    h = await Harness.create({ ...ONE_CONTACT, env: { ...ONE_CONTACT.env, BRIDGE_RETRY_SCHEDULE: '100ms,20s' } });
    const subId = await h.subscribe();
    await h.poll();
    let n = 0;
    h.receiver.respond = () =>
      n++ === 0 ? { status: 429, headers: { 'retry-after': '7' } } : { status: 503, headers: { 'retry-after': '3600' } };
    await changeContacts(1);
    await waitFor(async () => (await deliveries(subId))[0]?.attempt_count === 1);
    const [first] = await deliveries(subId);
    const wait1 = Date.parse(first.next_attempt_at) - Date.parse(first.last_attempt.attempted_at);
    expect(wait1).toBeGreaterThanOrEqual(6_900);
    expect(wait1).toBeLessThan(8_500);
    expect(first.last_attempt.response_headers['retry-after']).toBe('7');

    await h.api('POST', `/v1/deliveries/${first.id}/retry`);
    await waitFor(async () => (await deliveries(subId))[0]?.attempt_count === 2);
    const [second] = await deliveries(subId);
    const wait2 = Date.parse(second.next_attempt_at) - Date.parse(second.last_attempt.attempted_at);
    // Retry-After: 3600 s is capped at the schedule's longest delay, 20 s (±20 % jitter applies to the schedule).
    expect(wait2).toBeGreaterThanOrEqual(19_000);
    expect(wait2).toBeLessThan(25_000);
  });

  it('disables a subscription at once on 410 Gone and sends it nothing more', async () => {
    h = await Harness.create(ONE_CONTACT);
    const subId = await h.subscribe();
    await h.poll();
    h.receiver.respondWith.push(410);
    await changeContacts(1, 'a');
    await waitFor(async () => (await h.api('GET', `/v1/subscriptions/${subId}`)).json.status === 'disabled');
    expect((await h.api('GET', `/v1/subscriptions/${subId}`)).json.disabled_reason).toBe('gone');
    await changeContacts(2, 'b');
    await new Promise((r) => setTimeout(r, 300));
    expect(h.receiver.received).toHaveLength(1);
  });

  it('disables a subscription that only failed for BRIDGE_DISABLE_AFTER, and resumes its pending work when re-enabled', async () => {
    h = await Harness.create({
      ...ONE_CONTACT,
      env: { ...ONE_CONTACT.env, BRIDGE_DISABLE_AFTER: '600ms', BRIDGE_RETRY_SCHEDULE: '200ms,200ms,200ms,200ms,200ms,200ms,30s' },
    });
    const subId = await h.subscribe();
    await h.poll();
    h.receiver.respond = () => ({ status: 500 });
    await changeContacts(2);
    const sub = await waitFor(async () => {
      const s = (await h.api('GET', `/v1/subscriptions/${subId}`)).json;
      return s.status === 'disabled' ? s : null;
    });
    expect(sub.disabled_reason).toBe('failing');
    expect(Date.parse(sub.disabled_at)).not.toBeNaN();
    // An attempt already in flight when the subscription flipped may still land: let it settle.
    await new Promise((r) => setTimeout(r, 300));
    const countAtDisable = h.receiver.received.length;
    await new Promise((r) => setTimeout(r, 500));
    expect(h.receiver.received.length).toBe(countAtDisable);
    expect((await deliveries(subId, 'pending')).length).toBe(2);

    h.receiver.respond = undefined;
    await h.api('PATCH', `/v1/subscriptions/${subId}`, { status: 'active' });
    await waitFor(async () => (await deliveries(subId, 'succeeded')).length === 2, 10_000, 'pending work resumed');
  });

  it('never follows a redirect', async () => {
    // A long retry delay: any second request within the test could only be a followed redirect.
    h = await Harness.create({ ...ONE_CONTACT, env: { ...ONE_CONTACT.env, BRIDGE_RETRY_SCHEDULE: '1h' } });
    const subId = await h.subscribe();
    await h.poll();
    h.receiver.respond = () => ({ status: 307, headers: { location: `${h.receiver.url}?followed=1` } });
    await changeContacts(1);
    await waitFor(async () => (await deliveries(subId))[0]?.attempt_count === 1);
    await new Promise((r) => setTimeout(r, 200));
    expect(h.receiver.received).toHaveLength(1);
    const [d] = await deliveries(subId);
    expect(d.last_attempt).toMatchObject({ status_code: 307, error: 'redirect' });
    expect(d.last_attempt.response_headers.location).toContain('followed=1');
  });

  it('reads only the first 4 KB of a 50 MB response', async () => {
    let written = 0;
    let closedEarly = false;
    const big = createServer(async (req, res) => {
      req.resume();
      res.writeHead(500, { 'content-type': 'text/plain' });
      const chunk = Buffer.alloc(64 * 1024, 'x');
      res.on('close', () => (closedEarly = written < 50 * 1024 * 1024));
      while (written < 50 * 1024 * 1024 && !res.destroyed) {
        written += chunk.length;
        if (!res.write(chunk)) await new Promise((r) => res.once('drain', r).once('close', r));
      }
      res.end();
    });
    servers.push(big);
    await new Promise<void>((r) => big.listen(0, '127.0.0.1', () => r()));
    h = await Harness.create({ ...ONE_CONTACT, env: { ...ONE_CONTACT.env, BRIDGE_RETRY_SCHEDULE: '1h' } });
    const sub = await h.api('POST', '/v1/subscriptions', { url: `http://127.0.0.1:${(big.address() as AddressInfo).port}/big` });
    await h.poll();
    const heapBefore = process.memoryUsage().heapUsed;
    await changeContacts(1);
    const d = await waitFor(async () => (await deliveries(sub.json.id))[0]?.last_attempt);
    expect(d.response_excerpt).toHaveLength(4096);
    await waitFor(() => closedEarly, 5_000, 'the bridge to hang up');
    expect(written).toBeLessThan(50 * 1024 * 1024);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(40 * 1024 * 1024);
  });

  it('signs with the old and the new secret during the grace period, and only the new one after', async () => {
    h = await Harness.create(ONE_CONTACT);
    const subId = await h.subscribe();
    const oldSecret = h.receiver.secret;
    await h.poll();
    const rotated = await h.api('POST', `/v1/subscriptions/${subId}/secret/rotate`, { grace_period_seconds: 2 });
    expect(rotated.status).toBe(200);
    const newSecret = rotated.json.secret as string;
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(oldSecret);
    expect((await h.api('GET', `/v1/subscriptions/${subId}/secret`)).json.secret).toBe(newSecret);

    const verifies = (secret: string, r: (typeof h.receiver.received)[number]) => {
      try {
        new Webhook(secret).verify(r.body, r.headers);
        return true;
      } catch {
        return false;
      }
    };
    await changeContacts(1, 'during');
    const during = await waitFor(() => h.receiver.received[0]);
    expect(during.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(verifies(oldSecret, during)).toBe(true);
    expect(verifies(newSecret, during)).toBe(true);

    await new Promise((r) => setTimeout(r, 2_100));
    await changeContacts(1, 'after');
    const after = await waitFor(() => h.receiver.received[1]);
    expect(after.headers['webhook-signature']!.split(' ')).toHaveLength(1);
    expect(verifies(newSecret, after)).toBe(true);
    expect(verifies(oldSecret, after)).toBe(false);
  });

  it('recovers exactly the failed deliveries in the window', async () => {
    h = await Harness.create({ ...ONE_CONTACT, env: { ...ONE_CONTACT.env, BRIDGE_RETRY_SCHEDULE: '50ms' } });
    const subId = await h.subscribe();
    await h.poll();
    h.receiver.respond = () => ({ status: 500 });
    await changeContacts(3, 'early');
    await waitFor(async () => (await deliveries(subId, 'failed')).length === 3);
    await new Promise((r) => setTimeout(r, 20));
    const cut = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    await changeContacts(1, 'late');
    await waitFor(async () => (await deliveries(subId, 'failed')).length === 4);
    h.receiver.respond = undefined;
    const before = h.receiver.received.length;

    const res = await h.api('POST', `/v1/subscriptions/${subId}/recover`, {
      since: new Date(Date.now() - 60_000).toISOString(),
      until: cut,
    });
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ deliveries: 3 });
    await waitFor(async () => (await deliveries(subId, 'succeeded')).length === 3);
    await h.settled();
    const resent = h.receiver.received.slice(before);
    expect(resent).toHaveLength(3);
    expect(resent.every((r) => r.verified && String(r.payload.data.object.notes).startsWith('early'))).toBe(true);
    expect((await deliveries(subId, 'failed')).length).toBe(1);
  });

  it('keeps per-record order while a receiver fails and recovers; other records go in parallel', async () => {
    h = await Harness.create({
      seed: { contacts: 2 },
      env: { BRIDGE_RESOURCES: 'contacts', BRIDGE_RETRY_SCHEDULE: '150ms,150ms,150ms,150ms,150ms' },
    });
    const created = await h.api('POST', '/v1/subscriptions', {
      url: h.receiver.url,
      event_types: ['contact.updated'],
      ordering: 'per_record',
    });
    h.receiver.secret = created.json.secret;
    await h.poll();
    const [a, b] = h.sim.all('contacts').map((c) => c.id);
    // Record A's first event fails three times; B's go straight through.
    let aFailures = 0;
    h.receiver.respond = (d) =>
      d.payload.data.id === a && d.payload.data.object.notes === 'a1' && aFailures++ < 3 ? { status: 503 } : undefined;
    for (const n of [1, 2, 3]) {
      h.sim.update('contacts', a!, { notes: `a${n}` });
      h.sim.update('contacts', b!, { notes: `b${n}` });
      await h.poll();
    }
    await waitFor(() => h.receiver.received.filter((r) => r.payload.data.id === a).length === 6, 10_000, 'A delivered');
    const notes = (id: string) => h.receiver.received.filter((r) => r.payload.data.id === id).map((r) => r.payload.data.object.notes);
    expect(notes(a!)).toEqual(['a1', 'a1', 'a1', 'a1', 'a2', 'a3']);
    expect(notes(b!)).toEqual(['b1', 'b2', 'b3']);
    // B was not held back by A's failures.
    const lastB = h.receiver.received.findIndex((r) => r.payload.data.object.notes === 'b3');
    const firstA2 = h.receiver.received.findIndex((r) => r.payload.data.object.notes === 'a2');
    expect(lastB).toBeLessThan(firstA2);
  });

  it('sends custom headers without letting them override webhook-* headers', async () => {
    h = await Harness.create(ONE_CONTACT);
    const bad = await h.api('POST', '/v1/subscriptions', { url: h.receiver.url, headers: { 'Webhook-Id': 'forged' } });
    expect(bad.status).toBe(400);
    const created = await h.api('POST', '/v1/subscriptions', { url: h.receiver.url, headers: { 'x-tenant': 'clinic-42' } });
    h.receiver.secret = created.json.secret;
    // Shown by name only: header values often carry the receiver's own credentials.
    expect((await h.api('GET', `/v1/subscriptions/${created.json.id}`)).json.headers).toEqual({ 'x-tenant': '[hidden]' });
    await h.poll();
    await changeContacts(1);
    const r = await waitFor(() => h.receiver.received[0]);
    expect(r.headers['x-tenant']).toBe('clinic-42');
    expect(r.verified).toBe(true);
  });

  it('caps a subscription at max_in_flight and rate_limit_per_second', async () => {
    h = await Harness.create(ONE_CONTACT);
    const created = await h.api('POST', '/v1/subscriptions', { url: h.receiver.url, max_in_flight: 1, rate_limit_per_second: 2 });
    h.receiver.secret = created.json.secret;
    h.receiver.respond = () => ({ status: 204, delayMs: 50 });
    await h.poll();
    await changeContacts(4);
    await waitFor(() => h.receiver.received.length === 4, 10_000);
    expect(h.receiver.maxActive).toBe(1);
    const times = h.receiver.received.map((r) => r.receivedAt);
    // Two per second: any three arrivals span a second (uncapped they would be ~50 ms apart). Arrival
    // times carry the loopback's jitter on a busy machine, hence the 100 ms allowance.
    for (let i = 2; i < times.length; i++) expect(times[i]! - times[i - 2]!).toBeGreaterThanOrEqual(900);
  });

  it('checks the resolved address at send time: a name rebound to loopback is refused without a packet sent', async () => {
    let calls = 0;
    // First resolution (at creation) looks public; every later one answers loopback, as a
    // DNS-rebinding attacker would. Nothing is ever sent to the public-looking address.
    const resolve = async () => (calls++ === 0 ? ['93.184.216.34'] : ['127.0.0.1']);
    h = await Harness.create({
      ...ONE_CONTACT,
      env: { ...ONE_CONTACT.env, BRIDGE_ALLOW_PRIVATE_URLS: 'false', BRIDGE_RETRY_SCHEDULE: '1h' },
      resolve,
    });
    const port = new URL(h.receiver.url).port;
    const created = await h.api('POST', '/v1/subscriptions', { url: `http://hooks.rebind.test:${port}/hook` });
    expect(created.status).toBe(201);
    await h.poll();
    await changeContacts(1);
    const d = await waitFor(async () => (await deliveries(created.json.id))[0]?.last_attempt);
    expect(d.error).toBe('unsafe_address');
    expect(h.receiver.received).toHaveLength(0);
    // And a name that resolves to loopback is refused at creation.
    const refused = await h.api('POST', '/v1/subscriptions', { url: `http://hooks.rebind.test:${port}/hook` });
    expect(refused.status).toBe(422);
  });

  it('answers a host name that does not resolve with its own code, not unsafe_url', async () => {
    const resolve = async (host: string) => {
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    };
    h = await Harness.create({ ...ONE_CONTACT, env: { ...ONE_CONTACT.env, BRIDGE_ALLOW_PRIVATE_URLS: 'false' }, resolve });
    const refused = await h.api('POST', '/v1/subscriptions', { url: 'https://hooks.nowhere.test/in' });
    expect(refused.status).toBe(422);
    expect(refused.json.error).toEqual({
      code: 'unresolvable_host',
      message: expect.stringContaining('hooks.nowhere.test could not be resolved'),
    });
  });

  it('records an attempt whose host stopped resolving as unresolvable_host, without a packet sent', async () => {
    let calls = 0;
    const resolve = async (host: string) => {
      if (calls++ === 0) return ['93.184.216.34'];
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    };
    h = await Harness.create({
      ...ONE_CONTACT,
      env: { ...ONE_CONTACT.env, BRIDGE_ALLOW_PRIVATE_URLS: 'false', BRIDGE_RETRY_SCHEDULE: '1h' },
      resolve,
    });
    const created = await h.api('POST', '/v1/subscriptions', { url: 'http://hooks.gone.test/hook' });
    expect(created.status).toBe(201);
    await h.poll();
    await changeContacts(1);
    const attempt = await waitFor(async () => (await deliveries(created.json.id))[0]?.last_attempt);
    expect(attempt.error).toBe('unresolvable_host');
  });
});
