import { systemClock, type Clock } from '../util/clock.js';

export { systemClock, type Clock } from '../util/clock.js';

const WINDOW_MS = 60_000;
/** A waiting request gains one priority level per this much waiting, so nothing waits forever. */
const AGING_MS = 30_000;

/** Who is asking for a request slot: the resource (for per-resource counts) and how urgent it is. */
export interface AcquireOptions {
  /** Counted per tag in {@link RateLimiter.recentCount}, e.g. `patients`. */
  tag?: string;
  /** Lower goes first when requests queue: 0 hot, 1 warm, 2 cold, 3 backfill. Default 1. */
  priority?: number;
}

/**
 * What a scheduler needs from a key's request budget. {@link RateLimiter} implements it; a feed
 * whose requests all go through one budget exposes it as `budget` so one scheduler per key can
 * plan around it.
 */
export interface RequestBudget {
  /** Requests this bridge may start in any 60 s (the key's limit minus the headroom). */
  readonly perMinute: number;
  /** The upstream limit the budget was derived from (Cliniko: 200), for display. */
  readonly limitPerMinute: number;
  /** Requests started in the last 60 s, all of them or those of one tag. */
  recentCount(tag?: string): number;
  /** Requests that may start now without waiting (0 while an upstream 429 holds everything). */
  available(): number;
  /** Requests granted since the budget was created, all of them or those of one tag. */
  grantedTotal(tag?: string): number;
}

interface Waiter {
  priority: number;
  seq: number;
  since: number;
  tag: string | undefined;
  resolve: () => void;
  reject: (reason: unknown) => void;
  detach: () => void;
}

/**
 * Keeps a key's requests within `perMinute` over any sliding 60 s window, and holds every request
 * while an upstream 429 says to wait (Cliniko: 200 requests/min per user, Cliniko API docs).
 * When requests queue, the most urgent goes first (hot resources before a burst's cold neighbours
 * and before a backfill); equal priorities keep arrival order, and waiting raises a request's
 * priority by one level every 30 s so none waits forever.
 */
export class RateLimiter implements RequestBudget {
  readonly limitPerMinute: number;
  private readonly starts: Array<{ at: number; tag: string | undefined }> = [];
  private readonly clock: Clock;
  private readonly waiters: Waiter[] = [];
  private pausedUntil = 0;
  private seq = 0;
  private granted = 0;
  private readonly grantedByTag = new Map<string, number>();
  private pumping = false;
  private pumpSleep: AbortController | null = null;

  /**
   * @param perMinute requests allowed in any 60 s window
   * @param clock a {@link Clock}, or just a `now()` function (sleeping then uses `setTimeout`)
   * @param limitPerMinute the upstream limit `perMinute` was derived from (defaults to `perMinute`)
   */
  constructor(
    readonly perMinute: number,
    clock: Clock | (() => number) = systemClock,
    limitPerMinute?: number,
  ) {
    this.clock = typeof clock === 'function' ? { now: clock, sleep: systemClock.sleep } : clock;
    this.limitPerMinute = limitPerMinute ?? perMinute;
  }

  /** Resolves when one more request may start; rejects with the signal's reason if aborted. */
  acquire(signal?: AbortSignal, options: AcquireOptions = {}): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        if (this.waiters.length === 0) this.pumpSleep?.abort();
        reject(signal!.reason);
      };
      const waiter: Waiter = {
        priority: options.priority ?? 1,
        seq: this.seq++,
        since: this.clock.now(),
        tag: options.tag,
        resolve,
        reject,
        detach: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
      void this.pump();
    });
  }

  /** Holds all requests until `untilMs` (epoch ms), e.g. from `X-RateLimit-Reset`. */
  pauseUntil(untilMs: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, untilMs);
  }

  recentCount(tag?: string): number {
    this.prune();
    if (tag === undefined) return this.starts.length;
    let n = 0;
    for (const s of this.starts) if (s.tag === tag) n += 1;
    return n;
  }

  grantedTotal(tag?: string): number {
    return tag === undefined ? this.granted : (this.grantedByTag.get(tag) ?? 0);
  }

  available(): number {
    if (this.pausedUntil > this.clock.now()) return 0;
    return Math.max(0, this.perMinute - this.recentCount() - this.waiters.length);
  }

  private prune(): void {
    const cutoff = this.clock.now() - WINDOW_MS;
    while (this.starts.length > 0 && this.starts[0]!.at <= cutoff) this.starts.shift();
  }

  /** Grants slots to waiters, most urgent first, sleeping until the window or a pause allows. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.waiters.length > 0) {
        this.prune();
        const now = this.clock.now();
        let waitMs = this.pausedUntil - now;
        if (this.starts.length >= this.perMinute) waitMs = Math.max(waitMs, this.starts[0]!.at + WINDOW_MS - now);
        if (waitMs <= 0) {
          const waiter = this.takeMostUrgent(now);
          this.starts.push({ at: now, tag: waiter.tag });
          this.granted += 1;
          if (waiter.tag !== undefined) this.grantedByTag.set(waiter.tag, (this.grantedByTag.get(waiter.tag) ?? 0) + 1);
          waiter.detach();
          waiter.resolve();
          continue;
        }
        this.pumpSleep = new AbortController();
        await this.clock.sleep(waitMs, this.pumpSleep.signal).catch(() => undefined);
        this.pumpSleep = null;
      }
    } finally {
      this.pumping = false;
    }
  }

  private takeMostUrgent(now: number): Waiter {
    let best = 0;
    let bestRank = Number.POSITIVE_INFINITY;
    for (let i = 0; i < this.waiters.length; i++) {
      const w = this.waiters[i]!;
      const rank = w.priority - Math.floor((now - w.since) / AGING_MS);
      // Strictly lower rank wins; ties keep arrival order (waiters are in seq order).
      if (rank < bestRank) {
        best = i;
        bestRank = rank;
      }
    }
    return this.waiters.splice(best, 1)[0]!;
  }
}
