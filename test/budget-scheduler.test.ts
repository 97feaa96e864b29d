import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BudgetScheduler, SCHEDULE_POLICY, type ScheduleEntry, type Tier } from '../src/poller/scheduler.js';
import { RateLimiter } from '../src/sources/rate-limiter.js';

const T0 = Date.parse('2026-11-23T06:00:00Z');

function entries(spec: Partial<Record<Tier, number>>, cost = 2): ScheduleEntry[] {
  const out: ScheduleEntry[] = [];
  for (const tier of ['hot', 'warm', 'cold'] as const) {
    for (let i = 0; i < (spec[tier] ?? 0); i++) out.push({ key: `${tier}${i}`, tier, baseCost: tier === 'cold' ? 1 : cost });
  }
  return out;
}

describe('BudgetScheduler plan', () => {
  it('spends the planned share of the budget, hot 4× as often as warm and 16× as often as cold', () => {
    const list = entries({ hot: 7, warm: 10, cold: 13 });
    const s = new BudgetScheduler(list, 180, T0);
    const hot = s.intervalOf('hot0');
    const warm = s.intervalOf('warm0');
    const cold = s.intervalOf('cold0');
    expect(warm / hot).toBeCloseTo(SCHEDULE_POLICY.weights.hot / SCHEDULE_POLICY.weights.warm, 5);
    expect(cold / hot).toBeCloseTo(SCHEDULE_POLICY.weights.hot / SCHEDULE_POLICY.weights.cold, 5);
    const perMinute = list.reduce((sum, e) => sum + (e.baseCost * 60_000) / s.intervalOf(e.key), 0);
    expect(perMinute).toBeCloseTo(180 * SCHEDULE_POLICY.planUtilisation, 3);
    // The full Cliniko account's shape: a hot resource is polled every few seconds.
    expect(hot).toBeLessThan(10_000);
  });

  it('never plans below a tier floor, and gives the budget a floor leaves to the others', () => {
    const s = new BudgetScheduler(entries({ hot: 1, cold: 4 }), 180, T0);
    expect(s.intervalOf('hot0')).toBeCloseTo(SCHEDULE_POLICY.minIntervalMs.hot, 0);
    const alone = new BudgetScheduler(entries({ cold: 4 }), 180, T0);
    expect(alone.intervalOf('cold0')).toBeCloseTo(SCHEDULE_POLICY.minIntervalMs.cold, 0);
    // With the hot resource at its floor, the cold ones get only what is left, not more.
    expect(s.intervalOf('cold0')).toBeGreaterThan(alone.intervalOf('cold0'));
    const one = new BudgetScheduler(entries({ warm: 1 }), 180, T0);
    expect(one.intervalOf('warm0')).toBe(SCHEDULE_POLICY.minIntervalMs.warm);
  });

  it('leaves a forbidden resource out of the plan', () => {
    const s = new BudgetScheduler(entries({ hot: 2, cold: 2 }), 180, T0);
    const before = s.intervalOf('hot0');
    s.started('hot1', T0);
    s.finished('hot1', T0, { requests: 1, holdUntil: T0 + 3_600_000, excluded: true });
    expect(s.intervalOf('hot0')).toBeLessThan(before);
    expect(s.view('hot1')).toMatchObject({ targetIntervalMs: null, nextDueAt: T0 + 3_600_000 });
  });
});

describe('BudgetScheduler order', () => {
  it('polls due resources hot first, then warm, then cold', () => {
    const s = new BudgetScheduler(entries({ hot: 2, warm: 1, cold: 1 }), 180, T0);
    const order: string[] = [];
    const busy = new Set<string>();
    for (;;) {
      const d = s.pick(T0, 180, busy);
      if (!('key' in d)) break;
      order.push(d.key);
      busy.add(d.key);
    }
    expect(order).toEqual(['hot0', 'hot1', 'warm0', 'cold0']);
  });

  it('lets a burst borrow from cold: cold waits while the budget lacks room for the hot polls ahead', () => {
    const s = new BudgetScheduler(entries({ hot: 1, cold: 1 }), 180, T0);
    s.started('hot0', T0);
    s.finished('hot0', T0, { requests: 2 });
    const reserve = s.reserveFor('cold');
    expect(reserve).toBeGreaterThan(0);
    // Room for the hot polls of the next 10 s and the cold poll: cold goes.
    expect(s.pick(T0, reserve + 1, new Set())).toEqual({ key: 'cold0', starving: false });
    // A burst used the room: cold waits and asks again in a second.
    expect(s.pick(T0, reserve, new Set())).toEqual({ waitMs: SCHEDULE_POLICY.deferredRecheckMs });
    // Hot never waits for room (the limiter spaces its requests).
    const h = new BudgetScheduler(entries({ hot: 1 }), 180, T0);
    expect(h.pick(T0, 0, new Set())).toEqual({ key: 'hot0', starving: false });
  });

  it('never starves cold: overdue by more than its interval, it goes regardless of the budget', () => {
    const s = new BudgetScheduler(entries({ hot: 1, cold: 1 }), 180, T0);
    const late = T0 + Math.max(s.intervalOf('cold0'), SCHEDULE_POLICY.minStarvationMs) + 1;
    expect(s.pick(late, 0, new Set(['hot0']))).toEqual({ key: 'cold0', starving: true });
  });

  it('holds a resource backing off, and schedules the next poll one interval after the last start', () => {
    const s = new BudgetScheduler(entries({ hot: 1 }), 180, T0);
    s.started('hot0', T0);
    s.finished('hot0', T0 + 200, { requests: 2, holdUntil: T0 + 30_000 });
    expect(s.pick(T0 + 29_999, 180, new Set())).toEqual({ waitMs: 1 });
    s.started('hot0', T0 + 30_000);
    s.finished('hot0', T0 + 30_100, { requests: 2 });
    expect(s.view('hot0')!.nextDueAt).toBe(Math.round(T0 + 30_000 + s.intervalOf('hot0')));
    expect(s.view('hot0')!.achievedIntervalMs).toBe(30_000);
  });
});

describe('RateLimiter priorities', () => {
  beforeEach(() => vi.useFakeTimers({ now: T0 }));
  afterEach(() => vi.useRealTimers());

  it('gives the next free slot to the most urgent waiter, and ages the others so none waits forever', async () => {
    const limiter = new RateLimiter(2);
    await limiter.acquire(undefined, { tag: 'a' });
    await limiter.acquire(undefined, { tag: 'a' });
    const granted: string[] = [];
    const wait = (tag: string, priority: number) => void limiter.acquire(undefined, { tag, priority }).then(() => granted.push(tag));
    wait('backfill', 3);
    wait('cold', 2);
    wait('hot', 0);
    expect(limiter.available()).toBe(0);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(granted).toEqual(['hot', 'cold']);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(granted).toEqual(['hot', 'cold', 'backfill']);
    expect(limiter.recentCount('backfill')).toBe(1);
    expect(limiter.grantedTotal('a')).toBe(2);
    expect(limiter.grantedTotal()).toBe(5);
  });
});
