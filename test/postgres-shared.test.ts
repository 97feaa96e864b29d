import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import { withSubscriptionDefaults, type Subscription } from '../src/store/schema.js';
import { postgresOrSkip } from './helpers/postgres.js';
import { delivery, event } from './helpers/store-contract.js';

// Two stores on one schema stand for two bridge processes: leases, claims and notices between them.
const pg = await postgresOrSkip('test/postgres-shared.test.ts');
afterAll(async () => {
  await pg?.stop();
});

const PAST = '2026-01-01T00:00:00.000Z';
const FUTURE = '2999-01-01T00:00:00.000Z';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!pg)('several processes on one PostgreSQL store', () => {
  let a: PostgresStore;
  let b: PostgresStore;
  beforeEach(async () => {
    const schema = pg!.freshSchema();
    a = await PostgresStore.open({ url: pg!.url, schema, instanceId: 'a' });
    b = await PostgresStore.open({ url: pg!.url, schema, instanceId: 'b' });
  });
  afterEach(async () => {
    await a.close();
    await b.close();
  });
  const setup = async (over: Partial<Subscription> = {}, n = 1) => {
    await a.transaction((tx) => {
      tx.putSubscription(withSubscriptionDefaults({ id: 'sub_1', url: 'https://x.example/h', secret: 'whsec_x', ...over }));
      tx.appendEvents(Array.from({ length: n }, (_, i) => event(`evt_${i + 1}`)));
      for (let i = 1; i <= n; i++) tx.putDelivery(delivery(`dlv_${i}`, `evt_${i}`, 'sub_1', { next_attempt_at: PAST }));
    });
  };
  const recordAttempt = (store: PostgresStore, id: string, next: string | null, status: 'pending' | 'succeeded' = 'pending') =>
    store.transaction(async (tx) => {
      const d = (await tx.getDelivery(id))!;
      tx.putDelivery({ ...d, attempt_count: d.attempt_count + 1, status, next_attempt_at: next });
    });

  it('gives a resource lease to one holder at a time; another takes it once it expires or is released', async () => {
    expect(await a.shared.lease('cliniko:patients', 'a', 300)).toBe(true);
    expect(await b.shared.lease('cliniko:patients', 'b', 300)).toBe(false);
    expect(await a.shared.lease('cliniko:patients', 'a', 300)).toBe(true);
    expect(await b.shared.lease('cliniko:contacts', 'b', 300)).toBe(true);
    await sleep(350);
    expect(await b.shared.lease('cliniko:patients', 'b', 300)).toBe(true);
    expect(await a.shared.lease('cliniko:patients', 'a', 300)).toBe(false);
    await b.shared.releaseLeases('b');
    expect(await a.shared.lease('cliniko:patients', 'a', 300)).toBe(true);
  });

  it('lets exactly one process claim a due attempt; recording it ends the claim; a dead holder’s claim expires', async () => {
    await setup();
    const claims = await Promise.all([
      a.shared.claimDelivery('dlv_1', 'a', 60_000),
      b.shared.claimDelivery('dlv_1', 'b', 60_000),
      b.shared.claimDelivery('dlv_1', 'b', 60_000),
    ]);
    expect(claims.filter(Boolean)).toHaveLength(claims[0] ? 1 : 2);
    const [winner, other] = claims[0] ? [a, b] : [b, a];
    expect(await other.shared.claimDelivery('dlv_1', other.instanceId, 60_000)).toBe(false);
    // The attempt failed; its retry is not due yet: nobody may send it now.
    await recordAttempt(winner, 'dlv_1', FUTURE);
    expect(await other.shared.claimDelivery('dlv_1', other.instanceId, 60_000)).toBe(false);
    // Due again: the claim ended with the record, so the other process may take it.
    await recordAttempt(winner, 'dlv_1', PAST);
    await winner.transaction(async (tx) => tx.putDelivery({ ...(await tx.getDelivery('dlv_1'))!, next_attempt_at: PAST }));
    expect(await other.shared.claimDelivery('dlv_1', other.instanceId, 200)).toBe(true);
    // That holder dies without recording anything: after its claim expires the first takes over.
    expect(await winner.shared.claimDelivery('dlv_1', winner.instanceId, 60_000)).toBe(false);
    await sleep(250);
    expect(await winner.shared.claimDelivery('dlv_1', winner.instanceId, 60_000)).toBe(true);
    await recordAttempt(winner, 'dlv_1', null, 'succeeded');
    expect(await other.shared.claimDelivery('dlv_1', other.instanceId, 60_000)).toBe(false);
  });

  it('holds max_in_flight and per-record ordering across processes', async () => {
    await setup({ max_in_flight: 1, ordering: 'per_record' }, 2);
    // evt_2 is the same record as evt_1: its delivery waits for the first, whoever holds it.
    expect(await b.shared.claimDelivery('dlv_2', 'b', 60_000)).toBe(false);
    expect(await a.shared.claimDelivery('dlv_1', 'a', 60_000)).toBe(true);
    await recordAttempt(a, 'dlv_1', null, 'succeeded');
    expect(await b.shared.claimDelivery('dlv_2', 'b', 60_000)).toBe(true);
  });

  it('counts max_in_flight and rate_limit_per_second over every process', async () => {
    await setup({ max_in_flight: 2, rate_limit_per_second: 3 }, 5);
    await a.transaction((tx) => {
      for (let i = 1; i <= 5; i++) tx.putDelivery(delivery(`dlv_${i}`, `evt_${i}`, 'sub_1', { next_attempt_at: PAST }));
    });
    expect(await a.shared.claimDelivery('dlv_1', 'a', 60_000)).toBe(true);
    expect(await b.shared.claimDelivery('dlv_2', 'b', 60_000)).toBe(true);
    expect(await a.shared.claimDelivery('dlv_3', 'a', 60_000)).toBe(false); // two in flight
    await recordAttempt(a, 'dlv_1', null, 'succeeded');
    expect(await a.shared.claimDelivery('dlv_3', 'a', 60_000)).toBe(true);
    await recordAttempt(b, 'dlv_2', null, 'succeeded');
    expect(await b.shared.claimDelivery('dlv_4', 'b', 60_000)).toBe(false); // three started within a second
    await sleep(1_100);
    expect(await b.shared.claimDelivery('dlv_4', 'b', 60_000)).toBe(true);
  });

  it('tells the other processes about new deliveries when they commit (LISTEN/NOTIFY), not itself', async () => {
    const seenByB: Array<string[] | null> = [];
    const seenByA: Array<string[] | null> = [];
    b.shared.onDeliveries((ids) => seenByB.push(ids));
    a.shared.onDeliveries((ids) => seenByA.push(ids));
    await sleep(200);
    await setup({}, 2);
    // A transaction that rolls back announces nothing.
    await a
      .transaction((tx) => {
        tx.putDelivery(delivery('dlv_9', 'evt_1', 'sub_1'));
        throw new Error('no');
      })
      .catch(() => undefined);
    for (let i = 0; i < 100 && seenByB.length === 0; i++) await sleep(20);
    await sleep(100);
    expect(seenByB).toEqual([['dlv_1', 'dlv_2']]);
    expect(seenByA).toEqual([]);
  });

  it('lets one process at a time read-modify-write an event: a second dispatcher waits and sees it dispatched', async () => {
    await a.transaction((tx) => tx.appendEvents([event('evt_1')]));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const first = a.transaction(async (tx) => {
      const seen = (await tx.getEvent('evt_1'))!.dispatched;
      await gate;
      tx.markDispatched(['evt_1']);
      return seen;
    });
    await sleep(100);
    const second = b.transaction(async (tx) => (await tx.getEvent('evt_1'))!.dispatched);
    await sleep(100);
    release();
    expect(await first).toBe(false);
    expect(await second).toBe(true);
  });
});
