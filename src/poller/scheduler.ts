/**
 * Decides which resource of one API key to poll next, so that all of them share the key's request
 * budget (issue "The whole Cliniko account …", Request budget). Pure: no I/O and no timers; the
 * poller asks `pick()` and reports `started()`/`finished()`.
 *
 * - **Plan.** Each resource gets a target interval from its tier's weight and its cost (requests a
 *   poll takes, learnt as it runs): rates are proportional to the weights and together spend
 *   `planUtilisation` of the budget; no resource is polled more often than its tier's floor, and the
 *   budget a floor leaves unused goes to the others ("as often as the budget allows").
 * - **Order.** Due hot resources first, then warm, then cold; within a tier the longest due first.
 * - **Bursts borrow from cold.** A warm or cold poll starts only while the budget still has room for
 *   the hot (and warm) polls planned in the next `reserveHorizonMs`; a burst of pages eats that room,
 *   so cold polls wait for it to pass instead of the burst waiting or the key going over its limit.
 * - **Never starving.** A poll overdue by more than its own interval (at least `minStarvationMs`)
 *   starts regardless.
 */

import type { Tier } from '../sources/types.js';

export type { Tier } from '../sources/types.js';

export const TIERS: readonly Tier[] = ['hot', 'warm', 'cold'];

/** The whole policy in one place; units in the names. */
export const SCHEDULE_POLICY = {
  /** Share of the budget the plan spends on regular polls; the rest absorbs bursts, retries, manual polls and backfills. */
  planUtilisation: 0.8,
  /** Relative poll rates: when the budget is short a hot resource is polled 4× as often as a warm one, 16× a cold one. */
  weights: { hot: 16, warm: 4, cold: 1 } as Readonly<Record<Tier, number>>,
  /** Never more often than this, however much budget is left. */
  minIntervalMs: { hot: 1_000, warm: 2_000, cold: 5_000 } as Readonly<Record<Tier, number>>,
  /** Warm and cold polls keep this much of the higher tiers' planned demand free in the budget. */
  reserveHorizonMs: 10_000,
  /** Overdue by more than max(own interval, this) starts regardless of the budget. */
  minStarvationMs: 60_000,
  /** How soon a poll deferred for budget is reconsidered. */
  deferredRecheckMs: 1_000,
  /** Weight of the latest poll in the smoothed cost and achieved interval. */
  smoothing: 0.3,
  /** A burst counts at most this many times the quiet cost in the smoothed cost (it is borrowed, not planned). */
  maxCostFactor: 2,
} as const;

export interface ScheduleEntry {
  key: string;
  tier: Tier;
  /** Requests a poll that finds nothing new takes. */
  baseCost: number;
}

export interface EntryView {
  tier: Tier;
  /** Planned interval; null while excluded (forbidden). */
  targetIntervalMs: number | null;
  /** Smoothed time between poll starts; null before the second poll. */
  achievedIntervalMs: number | null;
  /** When the next poll is due (epoch ms). */
  nextDueAt: number;
}

export type Decision = { key: string; starving: boolean } | { waitMs: number };

interface EntryState {
  entry: ScheduleEntry;
  cost: number;
  lastStartAt: number | null;
  achievedMs: number | null;
  nextDueAt: number;
  /** Nothing before this (backoff after an error, or the hourly re-check of a 403). */
  holdUntil: number;
  /** Left out of the plan (403: the key may not read it). */
  excluded: boolean;
}

export class BudgetScheduler {
  private readonly states = new Map<string, EntryState>();
  private intervals = new Map<string, number>();
  private planned = false;

  /**
   * @param budgetPerMinute requests the key may spend in any 60 s (limit minus headroom)
   * @param startAt when every resource is first due
   */
  constructor(
    entries: readonly ScheduleEntry[],
    private readonly budgetPerMinute: number,
    startAt: number,
    private readonly policy = SCHEDULE_POLICY,
  ) {
    for (const entry of entries) {
      this.states.set(entry.key, {
        entry,
        cost: Math.max(1, entry.baseCost),
        lastStartAt: null,
        achievedMs: null,
        nextDueAt: startAt,
        holdUntil: 0,
        excluded: false,
      });
    }
  }

  /**
   * The next resource to poll now, or how long to wait before asking again.
   * @param available requests the budget can start now without waiting
   * @param busy resources being polled (never picked twice)
   */
  pick(now: number, available: number, busy: ReadonlySet<string>): Decision {
    const due: EntryState[] = [];
    for (const s of this.states.values()) {
      if (!busy.has(s.entry.key) && s.holdUntil <= now && s.nextDueAt <= now) due.push(s);
    }
    if (due.length === 0) return { waitMs: this.nextEventIn(now, busy) };

    let starving: EntryState | undefined;
    for (const s of due) {
      const overdue = now - s.nextDueAt;
      if (overdue > Math.max(this.intervalOf(s.entry.key), this.policy.minStarvationMs)) {
        if (!starving || s.nextDueAt < starving.nextDueAt) starving = s;
      }
    }
    if (starving) return { key: starving.entry.key, starving: true };

    for (const tier of TIERS) {
      let first: EntryState | undefined;
      for (const s of due) if (s.entry.tier === tier && (!first || s.nextDueAt < first.nextDueAt)) first = s;
      if (!first) continue;
      if (tier === 'hot' || available - first.cost >= this.reserveFor(tier)) return { key: first.entry.key, starving: false };
      // Lower tiers need at least as much room: they wait too.
      return { waitMs: Math.min(this.policy.deferredRecheckMs, this.nextEventIn(now, busy)) };
    }
    return { waitMs: this.nextEventIn(now, busy) };
  }

  started(key: string, now: number): void {
    const s = this.states.get(key);
    if (!s) return;
    if (s.lastStartAt !== null) {
      const gap = now - s.lastStartAt;
      s.achievedMs = s.achievedMs === null ? gap : s.achievedMs + this.policy.smoothing * (gap - s.achievedMs);
    }
    s.lastStartAt = now;
  }

  /**
   * A poll ended.
   * @param requests requests it made
   * @param holdUntil not before this (backoff, or the re-check of a forbidden resource)
   * @param excluded leave the resource out of the plan until it succeeds again (403)
   */
  finished(key: string, now: number, outcome: { requests: number; holdUntil?: number; excluded?: boolean }): void {
    const s = this.states.get(key);
    if (!s) return;
    const quiet = Math.max(1, s.entry.baseCost);
    const sample = Math.min(Math.max(outcome.requests, quiet), quiet * this.policy.maxCostFactor);
    if (outcome.requests > 0) s.cost += this.policy.smoothing * (sample - s.cost);
    s.excluded = outcome.excluded ?? false;
    // Costs and exclusions moved: re-plan (a few thousand arithmetic operations).
    this.planned = false;
    s.holdUntil = outcome.holdUntil ?? 0;
    s.nextDueAt = Math.round((s.lastStartAt ?? now) + this.intervalOf(key));
  }

  /** The budget the higher tiers need over the horizon, which a `tier` poll must leave free. */
  reserveFor(tier: Tier): number {
    const higher = TIERS.slice(0, TIERS.indexOf(tier));
    let demand = 0;
    for (const s of this.states.values()) {
      if (s.excluded || !higher.includes(s.entry.tier)) continue;
      demand += (s.cost * this.policy.reserveHorizonMs) / this.intervalOf(s.entry.key);
    }
    return Math.ceil(demand);
  }

  view(key: string): EntryView | undefined {
    const s = this.states.get(key);
    if (!s) return undefined;
    return {
      tier: s.entry.tier,
      targetIntervalMs: s.excluded ? null : Math.round(this.intervalOf(key)),
      achievedIntervalMs: s.achievedMs === null ? null : Math.round(s.achievedMs),
      nextDueAt: Math.max(s.nextDueAt, s.holdUntil),
    };
  }

  intervalOf(key: string): number {
    if (!this.planned) this.plan();
    return this.intervals.get(key) ?? this.policy.minIntervalMs.cold;
  }

  /**
   * Water-filling: find the rate scale `k` at which `Σ cost × min(k × weight, 1 / floor)` spends
   * the planned share of the budget, by bisection (the sum grows with `k`).
   */
  private plan(): void {
    const perMs = (this.budgetPerMinute * this.policy.planUtilisation) / 60_000;
    const active = [...this.states.values()].filter((s) => !s.excluded);
    const rate = (s: EntryState, k: number) => Math.min(k * this.policy.weights[s.entry.tier], 1 / this.policy.minIntervalMs[s.entry.tier]);
    const spend = (k: number) => active.reduce((sum, s) => sum + s.cost * rate(s, k), 0);
    let lo = 0;
    let hi = 1;
    while (spend(hi) < perMs && hi < 1e6) hi *= 2;
    for (let i = 0; i < 60; i++) {
      const mid = (lo + hi) / 2;
      if (spend(mid) < perMs) lo = mid;
      else hi = mid;
    }
    this.intervals = new Map();
    for (const s of this.states.values()) {
      const r = rate(s, lo);
      this.intervals.set(s.entry.key, r > 0 ? 1 / r : this.policy.minStarvationMs);
    }
    this.planned = true;
  }

  /** Time until the next resource that is not due yet becomes due (those due now are decided). */
  private nextEventIn(now: number, busy: ReadonlySet<string>): number {
    let next = Number.POSITIVE_INFINITY;
    for (const s of this.states.values()) {
      if (busy.has(s.entry.key)) continue;
      const at = Math.max(s.nextDueAt, s.holdUntil);
      if (at > now) next = Math.min(next, at);
    }
    return Number.isFinite(next) ? next - now : this.policy.minStarvationMs;
  }
}
