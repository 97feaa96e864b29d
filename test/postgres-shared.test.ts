import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SharedRequestBudget } from '../src/sources/cross-process-budget.js';
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

  const NOW = new Date().toISOString();
  /** The ids one `claimDue` call claimed, in the order returned. */
  const claim = async (store: PostgresStore, limit = 10, ttlMs = 60_000) =>
    (await store.shared.claimDue(store.instanceId, ttlMs, limit, NOW)).claimed.map((c) => c.delivery.id);

  it('lets exactly one process claim a due attempt; recording it ends the claim; a dead holder’s claim expires', async () => {
    await setup();
    const claims = await Promise.all([claim(a), claim(b), claim(b)]);
    expect(claims.flat()).toEqual(['dlv_1']);
    const [winner, other] = claims[0]!.length === 1 ? [a, b] : [b, a];
    expect(await claim(other)).toEqual([]);
    // The attempt failed; its retry is not due yet: nobody may send it now, and the claim says when.
    await recordAttempt(winner, 'dlv_1', FUTURE);
    const later = await other.shared.claimDue(other.instanceId, 60_000, 10, NOW);
    expect(later).toEqual({ claimed: [], nextAt: Date.parse(FUTURE) });
    // Due again: the claim ended with the record, so the other process may take it.
    await recordAttempt(winner, 'dlv_1', PAST);
    expect(await claim(other, 10, 200)).toEqual(['dlv_1']);
    // That holder dies without recording anything: after its claim expires the first takes over.
    expect(await claim(winner)).toEqual([]);
    await sleep(250);
    expect(await claim(winner)).toEqual(['dlv_1']);
    await recordAttempt(winner, 'dlv_1', null, 'succeeded');
    expect(await claim(other)).toEqual([]);
  });

  it('claims many due deliveries in one call, oldest first, and two processes claiming together get disjoint sets', async () => {
    await a.transaction((tx) => {
      tx.putSubscription(withSubscriptionDefaults({ id: 'sub_1', url: 'https://x.example/h', secret: 'whsec_x' }));
      for (let i = 1; i <= 60; i++) {
        const id = String(i).padStart(2, '0');
        tx.appendEvents([event(`evt_${id}`, undefined, { id })]);
        tx.putDelivery(delivery(`dlv_${id}`, `evt_${id}`, 'sub_1', { next_attempt_at: PAST }));
      }
      // Not due yet: never claimed now.
      tx.appendEvents([event('evt_99', undefined, { id: '99' })]);
      tx.putDelivery(delivery('dlv_99', 'evt_99', 'sub_1', { next_attempt_at: FUTURE }));
    });
    expect(await claim(a, 5)).toEqual(['dlv_01', 'dlv_02', 'dlv_03', 'dlv_04', 'dlv_05']);
    const [x, y] = await Promise.all([claim(a, 30), claim(b, 30)]);
    expect(new Set([...x!, ...y!]).size).toBe(55);
    expect([...x!, ...y!].sort()).toEqual(Array.from({ length: 55 }, (_, i) => `dlv_${String(i + 6).padStart(2, '0')}`));
    expect(await claim(b, 30)).toEqual([]);
  });

  it('a process that starts again under the same name releases the claims its predecessor left', async () => {
    await setup({}, 2);
    expect(await claim(a)).toEqual(['dlv_1', 'dlv_2']);
    await a.shared.releaseClaims('a');
    expect(await claim(b)).toEqual(['dlv_1', 'dlv_2']);
  });

  it('gives back only the named claims, and only the holder’s own', async () => {
    await setup({}, 3);
    expect(await claim(a)).toEqual(['dlv_1', 'dlv_2', 'dlv_3']);
    await b.shared.releaseClaims('b', ['dlv_1']);
    await a.shared.releaseClaims('a', ['dlv_2']);
    await a.shared.releaseClaims('a', []);
    expect(await claim(b)).toEqual(['dlv_2']);
  });

  it('holds per-record ordering across processes: a later event of a record waits for the earlier one’s delivery', async () => {
    await setup({ ordering: 'per_record' }, 3);
    // evt_1..3 are the same record: only the oldest is claimable, by whoever asks, until it is final.
    expect(await claim(b)).toEqual(['dlv_1']);
    expect(await claim(a)).toEqual([]);
    // A failed attempt keeps it pending (retry due later): the next ones still wait.
    await recordAttempt(b, 'dlv_1', FUTURE);
    expect(await claim(a)).toEqual([]);
    await recordAttempt(b, 'dlv_1', null, 'succeeded');
    expect(await claim(a)).toEqual(['dlv_2']);
  });

  it('claims with the subscriptions as they are now, though it keeps a copy between claims', async () => {
    await setup({}, 4);
    expect(await claim(a, 1)).toEqual(['dlv_1']);
    // Another process disables the subscription: a's copy still says active, its next claim must not.
    const change = (over: Partial<Subscription>) =>
      b.transaction(async (tx) => {
        tx.putSubscription({ ...(await tx.getSubscription('sub_1'))!, ...over });
      });
    await change({ status: 'disabled' });
    expect(await claim(a)).toEqual([]);
    await change({ status: 'active', max_in_flight: 2 });
    // Enabled again with a limit: dlv_1 is still claimed, so one more fits.
    expect(await claim(a)).toEqual(['dlv_2']);
    expect(await claim(a)).toEqual([]);
    // The secret rotates: what is claimed carries the new one, to sign with.
    await change({ max_in_flight: null, secret: 'whsec_rotated' });
    const [next] = (await a.shared.claimDue('a', 60_000, 1, NOW)).claimed;
    expect(next?.subscription.secret).toBe('whsec_rotated');
    // Deleted with its deliveries: nothing left to claim, and no claim of a gone subscription.
    await b.transaction((tx) => tx.deleteSubscription('sub_1'));
    expect(await claim(a)).toEqual([]);
  });

  it('counts max_in_flight and rate_limit_per_second over every process', async () => {
    await setup({ max_in_flight: 2, rate_limit_per_second: 3 }, 5);
    expect(await claim(a, 1)).toEqual(['dlv_1']);
    expect(await claim(b)).toEqual(['dlv_2']); // two in flight
    expect(await claim(a)).toEqual([]);
    await recordAttempt(a, 'dlv_1', null, 'succeeded');
    expect(await claim(a)).toEqual(['dlv_3']);
    await recordAttempt(b, 'dlv_2', null, 'succeeded');
    expect(await claim(b)).toEqual([]); // three started within a second
    await sleep(1_100);
    expect(await claim(b)).toEqual(['dlv_4']);
  });

  it('never lets processes claiming at once exceed max_in_flight together', async () => {
    // More due deliveries than one claim locks as candidates: the others find unlocked ones.
    await setup({ max_in_flight: 3 }, 600);
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => claim(i % 2 ? a : b, 10)));
    expect(results.flat()).toHaveLength(3);
  });

  it('records a batch of attempts in one transaction with the deliveries read and locked together', async () => {
    await setup({}, 3);
    const seen = await a.shared.recordAttempts(['dlv_1', 'dlv_3', 'dlv_nope'], (tx, current) => {
      for (const d of current.values()) tx.putDelivery({ ...d, status: 'succeeded', attempt_count: 1, next_attempt_at: null });
      return [...current.keys()];
    });
    expect(seen).toEqual(['dlv_1', 'dlv_3']);
    expect((await b.getDelivery('dlv_3'))?.status).toBe('succeeded');
    expect(await claim(b)).toEqual(['dlv_2']);
    expect(await b.shared.countPending()).toBe(1);
  });

  it('records claimed attempts in one statement only while the claim is still the recorder’s', async () => {
    await setup({}, 2);
    const [first, second] = (await a.shared.claimDue('a', 60_000, 10, NOW)).claimed.map((c) => c.delivery);
    // The second's claim is taken over (it expired and another process claimed it): a stays out.
    await a.shared.releaseClaims('a');
    await b.shared.claimDue('b', 60_000, 10, NOW);
    const done = (d: typeof first) => ({
      delivery: { ...d!, status: 'succeeded' as const, attempt_count: 1, next_attempt_at: null },
      claimedAttemptCount: 0,
    });
    expect([...(await a.shared.recordClaimed('a', [done(first)]))]).toEqual([]);
    expect([...(await b.shared.recordClaimed('b', [done(first), done(second)]))].sort()).toEqual(['dlv_1', 'dlv_2']);
    // Recorded once: the same attempt cannot be recorded twice.
    expect([...(await b.shared.recordClaimed('b', [done(first)]))]).toEqual([]);
    expect((await a.getDelivery('dlv_1'))?.status).toBe('succeeded');
    expect(await claim(a)).toEqual([]);
  });

  it('grants one request budget per key over every process: no more than perMinute starts in 60 s, a pause holds all', async () => {
    const budgetA = new SharedRequestBudget(a.shared, 'cliniko', 'key-1', 5);
    const budgetB = new SharedRequestBudget(b.shared, 'cliniko', 'key-1', 5);
    expect(budgetA.key).toBe(budgetB.key);
    expect(budgetA.key).not.toContain('key-1');
    const waits = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).shared.takeRequestSlot(budgetA.key, 5)));
    expect(waits.filter((w) => w === 0)).toHaveLength(5);
    // The others are told to wait until the oldest start leaves the window.
    for (const w of waits.filter((w) => w > 0)) expect(w).toBeGreaterThan(50_000);
    // Another key has its own budget.
    expect(await b.shared.takeRequestSlot(new SharedRequestBudget(b.shared, 'cliniko', 'key-2', 5).key, 5)).toBe(0);
    // A 429 seen by one process holds the other's requests too.
    const key3 = new SharedRequestBudget(a.shared, 'cliniko', 'key-3', 5);
    key3.pauseUntil(Date.now() + 30_000);
    await sleep(100);
    expect(await b.shared.takeRequestSlot(key3.key, 5)).toBeGreaterThan(25_000);
    // acquire() waits for what the database says and gives up when aborted.
    const aborted = AbortSignal.timeout(200);
    await expect(budgetA.acquire(aborted)).rejects.toThrow();
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
