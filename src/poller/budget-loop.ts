import type { Logger } from 'pino';
import type { RequestBudget } from '../sources/rate-limiter.js';
import type { ChangeFeed, FeedSchedule } from '../sources/types.js';
import type { Clock } from '../util/clock.js';
import { FirstPassQueue } from './first-pass.js';
import { BudgetScheduler, SCHEDULE_POLICY, type Decision } from './scheduler.js';

/** A feed that declared a {@link FeedSchedule}: polled on its budget's schedule. */
export type ScheduledFeed = ChangeFeed & { readonly schedule: FeedSchedule };

/** Polls in flight at once per request budget, unless configured. */
export const DEFAULT_MAX_CONCURRENT_POLLS = 3;

/** `source:resource`, the key of a resource everywhere in the poller and the store. */
export function keyOf(feed: ChangeFeed): string {
  return `${feed.source}:${feed.resource}`;
}

export interface BudgetLoopOptions {
  budget: RequestBudget;
  feeds: readonly ScheduledFeed[];
  clock: Clock;
  logger: Logger;
  /** Polls in flight at once (default {@link DEFAULT_MAX_CONCURRENT_POLLS}). */
  maxConcurrentPolls?: number;
  /** Stops the loop and every wait in it. */
  signal: AbortSignal;
}

/**
 * The schedule of the feeds sharing one request budget (every Cliniko resource of one key): starts
 * the poll its {@link BudgetScheduler} picks, up to the concurrency limit, and sleeps until the next
 * resource is due or a poll ends. Also paces background reads (first passes, backfills) to the
 * budget's spare room, and runs their first passes one at a time (hot first).
 */
export class BudgetLoop {
  readonly budget: RequestBudget;
  readonly scheduler: BudgetScheduler;
  /** Background first passes of this budget, one at a time. */
  readonly passes = new FirstPassQueue();
  private readonly feeds: Map<string, ScheduledFeed>;
  /** Polls the schedule started and that have not ended. */
  private readonly running = new Set<string>();
  private woken = false;
  private interrupt: (() => void) | null = null;
  private loop: Promise<void> | null = null;

  constructor(private readonly options: BudgetLoopOptions) {
    this.budget = options.budget;
    this.feeds = new Map(options.feeds.map((f) => [keyOf(f), f]));
    const entries = options.feeds.map((f) => ({ key: keyOf(f), tier: f.schedule.tier, baseCost: f.schedule.expectedRequests ?? 1 }));
    this.scheduler = new BudgetScheduler(entries, options.budget.perMinute, options.clock.now());
  }

  /** Whether the resource `key` is on this budget. */
  has(key: string): boolean {
    return this.feeds.has(key);
  }

  /** The source of the budget's feeds, for `GET /v1/sources`. */
  get source(): string {
    return this.feeds.values().next().value?.source ?? 'unknown';
  }

  /**
   * Starts the loop (once).
   * @param poll polls one feed, after any poll of it in flight ended; never rejects
   * @param busy resources being polled outside the schedule (manual polls)
   */
  start(poll: (feed: ChangeFeed) => Promise<void>, busy: () => Iterable<string>): void {
    this.loop ??= this.run(poll, busy).catch((err: unknown) => this.options.logger.error({ err }, 'poll schedule crashed'));
  }

  /** Makes the loop look again now (a poll ended). */
  wake(): void {
    this.woken = true;
    this.interrupt?.();
  }

  /** Resolves when the loop ended (after the signal aborted). */
  async stopped(): Promise<void> {
    this.wake();
    await this.loop;
  }

  /** Waits until the budget has room beyond what hot and warm polls need soon (as for a cold poll). */
  async spareRoom(): Promise<void> {
    const { signal, clock } = this.options;
    while (!signal.aborted && this.budget.available() <= this.scheduler.reserveFor('cold')) {
      await clock.sleep(SCHEDULE_POLICY.deferredRecheckMs, signal).catch(() => undefined);
    }
  }

  private async run(poll: (feed: ChangeFeed) => Promise<void>, busy: () => Iterable<string>): Promise<void> {
    const max = this.options.maxConcurrentPolls ?? DEFAULT_MAX_CONCURRENT_POLLS;
    const { signal, clock, logger } = this.options;
    while (!signal.aborted) {
      let decision: Decision;
      for (;;) {
        decision = this.scheduler.pick(clock.now(), this.budget.available(), new Set([...this.running, ...busy()]));
        if (!('key' in decision) || this.running.size >= max) break;
        const key = decision.key;
        const feed = this.feeds.get(key)!;
        if (decision.starving) logger.debug({ resource: feed.resource }, 'overdue poll started regardless of budget');
        this.running.add(key);
        void poll(feed).finally(() => {
          this.running.delete(key);
          this.wake();
        });
      }
      // Full: a finishing poll wakes us. Otherwise until the next resource is due.
      await this.idle('key' in decision ? SCHEDULE_POLICY.minStarvationMs : decision.waitMs);
    }
  }

  private async idle(ms: number): Promise<void> {
    const { signal, clock } = this.options;
    if (this.woken || signal.aborted) {
      this.woken = false;
      return;
    }
    const wait = new AbortController();
    const stop = () => wait.abort();
    signal.addEventListener('abort', stop, { once: true });
    this.interrupt = stop;
    try {
      await clock.sleep(ms, wait.signal);
    } catch {
      // woken early
    } finally {
      signal.removeEventListener('abort', stop);
      this.interrupt = null;
      this.woken = false;
    }
  }
}
