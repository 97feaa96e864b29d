import { pino } from 'pino';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Sender } from '../src/delivery/sender.js';
import { UrlPolicy } from '../src/delivery/ssrf.js';
import { DeliveryWorker } from '../src/delivery/worker.js';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import { withSubscriptionDefaults } from '../src/store/schema.js';
import { Receiver } from '../tools/demo/receiver.js';
import { waitFor } from './helpers/harness.js';
import { postgresOrSkip, sql } from './helpers/postgres.js';
import { delivery, event } from './helpers/store-contract.js';

// The PostgreSQL delivery loop (src/delivery/shared-worker.ts) against a real database and a loopback
// receiver that verifies signatures: how many requests and claims it holds, and what it gives back.
const pg = await postgresOrSkip('test/postgres-delivery-loop.e2e.test.ts');
afterAll(async () => {
  await pg?.stop();
});

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const PAST = '2026-01-01T00:00:00.000Z';

describe.skipIf(!pg)('PostgreSQL delivery loop', () => {
  let schema: string;
  let store: PostgresStore;
  let receiver: Receiver;
  let sender: Sender;
  let worker: DeliveryWorker | null = null;
  beforeEach(async () => {
    schema = pg!.freshSchema();
    store = await PostgresStore.open({ url: pg!.url, schema, instanceId: 'a' });
    receiver = await new Receiver().start();
    receiver.secret = SECRET;
    sender = new Sender({ timeoutMs: 10_000, connectionsPerOrigin: 8, policy: new UrlPolicy({ allowPrivate: true }), userAgent: 'test' });
  });
  afterEach(async () => {
    await worker?.stop();
    worker = null;
    await sender.close();
    await receiver.close();
    await store.close();
  });

  /** `n` due deliveries (evt_001…, dlv_001…) to one subscription at the receiver. */
  const seed = (n: number) =>
    store.transaction((tx) => {
      tx.putSubscription(withSubscriptionDefaults({ id: 'sub_1', url: receiver.url, secret: SECRET }));
      for (let i = 1; i <= n; i++) {
        const id = String(i).padStart(3, '0');
        tx.appendEvents([{ ...event(`evt_${id}`, undefined, { id }), dispatched: true }]);
        tx.putDelivery(delivery(`dlv_${id}`, `evt_${id}`, 'sub_1', { next_attempt_at: PAST }));
      }
    });
  const startWorker = async (concurrency: number) => {
    worker = new DeliveryWorker({
      store,
      sender,
      logger: pino({ level: 'silent' }),
      retryScheduleMs: [60_000],
      disableAfterMs: 86_400_000,
      concurrency,
      instanceId: 'a',
    });
    await worker.start();
  };
  const states = () =>
    sql<{ id: string; status: string; attempt_count: number; claimed: boolean }>(
      pg!.url,
      `SELECT id, status, attempt_count, claimed_until IS NOT NULL AS claimed FROM "${schema}".deliveries ORDER BY id`,
    );

  it('keeps at most `concurrency` requests in flight, claims up to as many again ahead of them, and records each attempt once', async () => {
    await seed(120);
    receiver.respond = () => ({ status: 204, delayMs: 5 });
    const limits: number[] = [];
    const claimDue = store.shared.claimDue.bind(store.shared);
    store.shared.claimDue = (holder, ttlMs, limit, now) => (limits.push(limit), claimDue(holder, ttlMs, limit, now));
    // Claims held at once, as the database sees them, sampled while the worker runs.
    let mostClaimed = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const [row] = await sql<{ n: number }>(
          pg!.url,
          `SELECT count(*)::int AS n FROM "${schema}".deliveries WHERE claimed_until IS NOT NULL`,
        );
        mostClaimed = Math.max(mostClaimed, row!.n);
      }
    })();
    await startWorker(4);
    await waitFor(async () => (await states()).every((d) => d.status === 'succeeded'), 30_000, 'every delivery recorded');
    sampling = false;
    await sampler;

    expect(receiver.maxActive).toBeLessThanOrEqual(4);
    expect(Math.max(...limits)).toBe(8); // the first claim: four to send, four ahead
    expect(mostClaimed).toBeLessThanOrEqual(8);
    expect(receiver.received).toHaveLength(120);
    expect(new Set(receiver.received.map((r) => r.id)).size).toBe(120);
    expect(receiver.received.every((r) => r.verified)).toBe(true);
    expect((await states()).every((d) => d.attempt_count === 1 && !d.claimed)).toBe(true);
  });

  it('gives back a claim taken ahead that waited too long for a slow request, then claims and sends it once', async () => {
    await seed(3);
    receiver.respond = (d) => (d.id === 'evt_001' ? { status: 204, delayMs: 1_300 } : undefined);
    const released: string[][] = [];
    const releaseClaims = store.shared.releaseClaims.bind(store.shared);
    store.shared.releaseClaims = (holder, ids) => (ids && released.push([...ids]), releaseClaims(holder, ids));
    await startWorker(1);
    await waitFor(async () => (await states()).every((d) => d.status === 'succeeded'), 15_000, 'every delivery recorded');

    // dlv_002 was claimed with dlv_001 (requests looked fast), waited 1.3 s behind it, and was given
    // back rather than sent on a claim that old; sent once when claimed again.
    expect(released).toEqual([['dlv_002']]);
    expect(receiver.received.map((r) => r.id)).toEqual(['evt_001', 'evt_002', 'evt_003']);
    expect(receiver.maxActive).toBe(1);
  });

  it('on stop gives back the claims it has not sent, so another process can take them at once', async () => {
    await seed(4);
    receiver.respond = () => ({ status: 204, delayMs: 300 });
    await startWorker(1);
    await waitFor(() => receiver.received.length === 1, 10_000, 'the first request');
    await worker!.stop();
    worker = null;

    const after = await states();
    expect(after.filter((d) => d.status === 'succeeded').map((d) => d.id)).toEqual(['dlv_001']);
    expect(after.filter((d) => d.claimed)).toEqual([]);
    const other = await PostgresStore.open({ url: pg!.url, schema, instanceId: 'b' });
    try {
      const batch = await other.shared.claimDue('b', 60_000, 10, new Date().toISOString());
      expect(batch.claimed.map((c) => c.delivery.id)).toEqual(['dlv_002', 'dlv_003', 'dlv_004']);
    } finally {
      await other.close();
    }
  });
});
