import { afterEach, describe, expect, it } from 'vitest';
import { Harness, waitFor } from './helpers/harness.js';

describe('delivery', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  async function oneChange(): Promise<string> {
    await h.poll();
    const id = h.sim.all('contacts')[0]!.id;
    h.sim.update('contacts', id, { notes: `changed ${Date.now()}` });
    await h.poll();
    return id;
  }

  it('retries a failing receiver on the schedule with the same webhook-id and body until a 2xx', async () => {
    h = await Harness.create({ seed: { contacts: 2 }, env: { BRIDGE_RESOURCES: 'contacts' } });
    await h.subscribe();
    h.receiver.respondWith.push(500, 302);
    await oneChange();
    await waitFor(() => h.receiver.received.length >= 3, 10_000, 'three attempts');
    const [first, second, third] = h.receiver.received;
    expect(second!.id).toBe(first!.id);
    expect(third!.id).toBe(first!.id);
    expect(third!.body).toBe(first!.body);
    expect(h.receiver.received.every((r) => r.verified)).toBe(true);

    const eventId = first!.id;
    const attempts = await waitFor(async () => {
      const res = await h.api('GET', `/v1/events/${eventId}/attempts`);
      return res.json.data.length === 3 ? res.json.data : null;
    });
    expect(attempts.map((a: { status_code: number }) => a.status_code)).toEqual([500, 302, 204]);
    expect(attempts.map((a: { error: string | null }) => a.error)).toEqual(['http_status', 'redirect', null]);
    // The sender's explanation is kept with each failed attempt and shown by the API.
    expect(attempts[0].error_message).toMatch(/500/);
    expect(attempts[1].error_message).toEqual(expect.any(String));
    expect(attempts[2].error_message).toBeNull();
    for (const a of attempts) {
      expect(a.duration_ms).toEqual(expect.any(Number));
      expect(Date.parse(a.attempted_at)).not.toBeNaN();
    }
    const event = await h.api('GET', `/v1/events/${eventId}`);
    expect(event.json.deliveries[0]).toMatchObject({ status: 'succeeded', attempt_count: 3 });
  });

  it('marks a delivery failed after the last retry, and replays it with the same webhook-id', async () => {
    h = await Harness.create({ seed: { contacts: 2 }, env: { BRIDGE_RESOURCES: 'contacts' } });
    const subId = await h.subscribe();
    h.receiver.respondWith.push(503, 503, 503);
    await oneChange();
    const eventId = await waitFor(() => h.receiver.received[0]?.id);
    const failed = await waitFor(async () => {
      const res = await h.api('GET', `/v1/events/${eventId}`);
      return res.json.deliveries[0]?.status === 'failed' ? res.json.deliveries[0] : null;
    });
    expect(failed.attempt_count).toBe(3);
    expect(h.receiver.received).toHaveLength(3);

    const replay = await h.api('POST', `/v1/events/${eventId}/replay`, { subscription_id: subId });
    expect(replay.status).toBe(202);
    await waitFor(() => h.receiver.received.length === 4);
    const last = h.receiver.received[3]!;
    expect(last.id).toBe(eventId);
    expect(last.body).toBe(h.receiver.received[0]!.body);
    expect(last.verified).toBe(true);
  });

  it('replays a time window to every matching subscription', async () => {
    h = await Harness.create({ seed: { contacts: 3 }, env: { BRIDGE_RESOURCES: 'contacts' } });
    await h.subscribe(['contact.updated']);
    const since = new Date(Date.now() - 1000).toISOString();
    await h.poll();
    for (const c of h.sim.all('contacts')) h.sim.update('contacts', c.id, { notes: 'x' });
    await h.poll();
    await waitFor(() => h.receiver.received.length === 3);
    const res = await h.api('POST', '/v1/replay', { since, event_types: ['contact.*'] });
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ events: 3, deliveries: 3 });
    await waitFor(() => h.receiver.received.length === 6);
    const ids = h.receiver.received.map((r) => r.id);
    expect(new Set(ids).size).toBe(3);
  });

  it('keeps pending retries across a restart', async () => {
    h = await Harness.create({ seed: { contacts: 2 }, env: { BRIDGE_RESOURCES: 'contacts', BRIDGE_RETRY_SCHEDULE: '1s' } });
    await h.subscribe();
    h.receiver.respondWith.push(500);
    await oneChange();
    await waitFor(() => h.receiver.received.length === 1);
    await h.bridge.stop();
    await h.startBridge();
    await waitFor(() => h.receiver.received.length === 2, 10_000, 'the retry after restart');
    expect(h.receiver.received[1]!.id).toBe(h.receiver.received[0]!.id);
    expect(h.receiver.received[1]!.verified).toBe(true);
  });

  it('times out a receiver that does not answer within BRIDGE_DELIVERY_TIMEOUT', async () => {
    const { createServer } = await import('node:http');
    const hanging = createServer(() => undefined);
    await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', () => r()));
    const port = (hanging.address() as { port: number }).port;
    try {
      h = await Harness.create({
        seed: { contacts: 2 },
        env: { BRIDGE_RESOURCES: 'contacts', BRIDGE_DELIVERY_TIMEOUT: '300ms', BRIDGE_RETRY_SCHEDULE: '10s' },
      });
      const sub = await h.api('POST', '/v1/subscriptions', { url: `http://127.0.0.1:${port}/hook` });
      expect(sub.status).toBe(201);
      await oneChange();
      const eventId = await waitFor(async () => (await h.api('GET', '/v1/events')).json.data[0]?.id);
      const attempts = await waitFor(async () => {
        const res = await h.api('GET', `/v1/events/${eventId}/attempts`);
        return res.json.data.length ? res.json.data : null;
      });
      expect(attempts[0]).toMatchObject({ status_code: null, error: 'timeout' });
    } finally {
      hanging.closeAllConnections();
      hanging.close();
    }
  });
});
