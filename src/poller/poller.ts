import { Cron } from 'croner';
import type { Logger } from 'pino';
import { UpstreamError } from '../sources/errors.js';
import { systemClock, type Clock, type RequestBudget } from '../sources/rate-limiter.js';
import type { Batch, ChangeFeed, ReadContext, SourceRecord } from '../sources/types.js';
import type { Store } from '../store/store.js';
import type { ResourceState, Snapshot } from '../store/schema.js';
import { metrics } from '../metrics.js';
import { runBackfill } from './backfill.js';
import { snapshotHasher, type SnapshotHasher } from './hashing.js';
import { applyBatch } from './record.js';
import { BudgetScheduler, SCHEDULE_POLICY, type Decision, type Tier } from './scheduler.js';
import type { BudgetView, ReadProgressView, ResourceView } from './views.js';

export type { BudgetView, ReadProgressView, ResourceView } from './views.js';

export interface PollerOptions {
  store: Store;
  feeds: readonly ChangeFeed[];
  logger: Logger;
  /** First pass emits `.created` for existing records instead of a silent baseline. */
  backfill: boolean;
  /** Called with the ids of events once they are durably stored. */
  onEvents: (eventIds: string[]) => void;
  /** `BRIDGE_SNAPSHOT_MODE=hashed`: the HMAC key snapshots are hashed with; absent = full snapshots. */
  snapshotHashKey?: Buffer | null;
  now?: () => number;
  /** Clock of the schedule and of event timestamps (default the system clock; tests pass a virtual one). */
  clock?: Clock;
  /** Polls in flight at once per request budget (default 3). */
  maxConcurrentPolls?: number;
}

/**
 * A feed whose requests all go through one request budget (a Cliniko key): the poller schedules
 * such feeds with one {@link BudgetScheduler} per budget instead of the cron pattern.
 */
export interface BudgetedFeed extends ChangeFeed {
  readonly tier: Tier;
  readonly budget: RequestBudget;
  /** Requests a poll that finds nothing new takes. */
  readonly expectedRequests?: number;
}

/** Backoff after a failed resource poll: doubles from 5 s to 5 min; a 429 waits at least its reset. */
const BACKOFF_BASE_MS = 5_000;
const BACKOFF_MAX_MS = 5 * 60_000;
/** A resource the key may not read (403) is asked again this rarely. */
const FORBIDDEN_RECHECK_MS = 60 * 60_000;
const PROGRESS_LOG_EVERY_PAGES = 10;
const DEFAULT_MAX_CONCURRENT_POLLS = 3;

interface Runtime {
  status: ResourceView['status'];
  failures: number;
  holdUntil: number;
  progress: ReadProgressView | null;
  /** Whose progress it is: a poll's first pass, or a backfill job. */
  progressOf: 'poll' | 'job' | null;
  /** Sequence number of the latest poll started, and of the latest that succeeded. */
  startedSeq: number;
  succeededSeq: number;
}

interface BudgetGroup {
  budget: RequestBudget;
  feeds: Map<string, BudgetedFeed>;
  scheduler: BudgetScheduler;
  /** Polls the schedule started and that have not ended. */
  running: Set<string>;
  woken: boolean;
  wake: () => void;
  loop: Promise<void> | null;
}

/**
 * Polls feeds and records what changed. Feeds sharing a request budget (every Cliniko resource of
 * one key) are scheduled by one {@link BudgetScheduler}: hot first, as often as the budget allows,
 * cold never starved, bursts borrowing from cold. Other feeds run on the cron pattern.
 *
 * For each batch a feed yields, it diffs the records against their snapshots and records the events,
 * the snapshots and the feed's new cursor in one store write before going on, so a crash at any
 * point loses no change and an upstream failure never moves a cursor past data it did not record. A
 * batch that changed nothing is not written.
 */
export class Poller {
  private cron: Cron | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private againAll = false;
  private readonly abort = new AbortController();
  private readonly clock: Clock;
  private readonly runtime = new Map<string, Runtime>();
  /** Each resource's state as last written or read (`GET /v1/sources` reads it synchronously). */
  private readonly states = new Map<string, ResourceState>();
  /** Resources whose poll times changed without a write carrying them. */
  private readonly unsaved = new Set<string>();
  private readonly hashers = new Map<ChangeFeed, SnapshotHasher>();
  /** The poll in flight per resource: never two of one resource at once. */
  private readonly active = new Map<string, Promise<void>>();
  private readonly groups: BudgetGroup[] = [];
  private readonly cronFeeds: ChangeFeed[] = [];
  private readonly backfills = new Set<Promise<void>>();
  /** Sources whose last request answered 401, so the rejection is logged once, not per resource. */
  private readonly unauthorizedSources = new Set<string>();
  /** Counts poll starts, so a manual cycle can tell which polls began after it did. */
  private pollSeq = 0;

  constructor(private readonly options: PollerOptions) {
    this.clock = options.clock ?? (options.now ? { now: options.now, sleep: systemClock.sleep } : systemClock);
    const byBudget = new Map<RequestBudget, BudgetedFeed[]>();
    for (const feed of options.feeds) {
      if (isBudgeted(feed)) byBudget.set(feed.budget, [...(byBudget.get(feed.budget) ?? []), feed]);
      else this.cronFeeds.push(feed);
    }
    for (const [budget, feeds] of byBudget) {
      const entries = feeds.map((f) => ({ key: keyOf(f), tier: f.tier, baseCost: f.expectedRequests ?? 1 }));
      const group: BudgetGroup = {
        budget,
        feeds: new Map(feeds.map((f) => [keyOf(f), f])),
        scheduler: new BudgetScheduler(entries, budget.perMinute, this.now()),
        running: new Set(),
        woken: false,
        wake: () => {
          group.woken = true;
        },
        loop: null,
      };
      this.groups.push(group);
    }
  }

  /**
   * Starts polling: budgeted feeds on their budget's schedule, the others on the croner pattern
   * (seconds field allowed).
   */
  /** Reads each resource's stored state, so `GET /v1/sources` shows it before the first poll. */
  async restore(): Promise<void> {
    const stored = await this.options.store.listResources();
    for (const feed of this.options.feeds) {
      const state = stored[keyOf(feed)];
      if (state && !this.states.has(keyOf(feed))) this.states.set(keyOf(feed), state);
    }
  }

  start(pattern: string): void {
    if (this.cronFeeds.length > 0 && !this.cron) {
      this.cron = new Cron(
        pattern,
        { protect: true, catch: (err) => this.options.logger.error({ err }, 'poll cycle crashed') },
        () => this.run(false),
      );
    }
    for (const group of this.groups) {
      group.loop ??= this.schedule(group).catch((err: unknown) => this.options.logger.error({ err }, 'poll schedule crashed'));
    }
  }

  /**
   * Polls every feed once, including those backing off after an error or forbidden (the rate
   * limiter still holds requests after a 429). If a cycle is running, one more runs after it and
   * this resolves when that one ends, so a change made before the call is always picked up.
   */
  pollNow(): Promise<void> {
    return this.run(true);
  }

  /**
   * Emits `.created` for every existing record of a resource (`resource` or `source:resource`),
   * reading it whole in the background at the lowest priority, paced to the budget's spare room.
   * Snapshots and cursors are not touched. Returns the progress, or null for an unknown resource.
   */
  backfill(resource: string): ReadProgressView | null {
    const feed = this.options.feeds.find((f) => f.resource === resource || keyOf(f) === resource);
    if (!feed) return null;
    const rt = this.runtimeOf(keyOf(feed));
    if (rt.progress?.phase === 'backfill' && rt.progress.status === 'running') return rt.progress;
    rt.progress = { phase: 'backfill', status: 'running', pages_done: 0, records_done: 0, total_entries: null, events: 0, started_at: this.iso(this.now()) };
    rt.progressOf = 'job';
    const job = runBackfill({
      feed,
      store: this.options.store,
      logger: this.options.logger,
      onEvents: this.options.onEvents,
      progress: rt.progress,
      signal: this.abort.signal,
      now: () => this.iso(this.now()),
      spareRoom: () => this.spareRoom(feed),
    }).finally(() => this.backfills.delete(job));
    this.backfills.add(job);
    return rt.progress;
  }

  /** Stops scheduling and aborts requests in flight; resolves when the work in flight ended. */
  async stop(): Promise<void> {
    this.cron?.stop();
    this.abort.abort();
    for (const g of this.groups) g.wake();
    await this.running?.catch(() => undefined);
    await Promise.allSettled([...this.active.values(), ...this.backfills, ...this.groups.map((g) => g.loop)]);
    await this.saveTimes();
  }

  /** Per resource state as `GET /v1/sources` shows it. */
  describe(): ResourceView[] {
    const now = this.now();
    return this.options.feeds.map((feed) => {
      const key = keyOf(feed);
      const rt = this.runtimeOf(key);
      const group = this.groupOf(feed);
      const view = group?.scheduler.view(key);
      const cronNext = group ? null : (this.cron?.nextRun() ?? null);
      return {
        source: feed.source,
        resource: feed.resource,
        state: this.states.get(key),
        status: rt.status,
        backoff_until: rt.holdUntil > now ? this.iso(rt.holdUntil) : null,
        tier: view?.tier ?? null,
        interval_ms: view?.achievedIntervalMs ?? null,
        target_interval_ms: view?.targetIntervalMs ?? null,
        next_poll_at: view ? this.iso(view.nextDueAt) : cronNext ? cronNext.toISOString() : null,
        requests_last_minute: group ? group.budget.recentCount(feed.resource) : null,
        progress: rt.progress,
      };
    });
  }

  /** Each request budget: the key's limit, what the bridge allows itself, what it used. */
  budgets(): BudgetView[] {
    return this.groups.map((g) => ({
      source: g.feeds.values().next().value?.source ?? 'unknown',
      limit_per_min: g.budget.limitPerMinute,
      budget_per_min: g.budget.perMinute,
      used_last_minute: g.budget.recentCount(),
    }));
  }

  private now(): number {
    return this.clock.now();
  }

  private iso(ms: number): string {
    return new Date(ms).toISOString();
  }

  private run(all: boolean): Promise<void> {
    if (this.running) {
      this.again = true;
      this.againAll ||= all;
      return this.running;
    }
    this.running = (async () => {
      try {
        let everything = all;
        for (;;) {
          this.again = false;
          this.againAll = false;
          await this.cycle(everything);
          if (!this.again || this.abort.signal.aborted) break;
          everything = this.againAll;
        }
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  /**
   * `all`: every feed, backing off or not (a manual poll); otherwise the cron feeds not backing off.
   * A resource whose scheduled poll started after this cycle did, and succeeded, is not polled
   * again: that poll already saw every change made before the cycle.
   */
  private async cycle(all: boolean): Promise<void> {
    const since = this.pollSeq;
    for (const feed of all ? this.options.feeds : this.cronFeeds) {
      if (this.abort.signal.aborted) return;
      const key = keyOf(feed);
      const rt = this.runtimeOf(key);
      if (!all && rt.holdUntil > this.now()) continue;
      const current = this.active.get(key);
      if (current && rt.startedSeq > since) await current.catch(() => undefined);
      if (rt.succeededSeq > since) continue;
      await this.pollExclusive(feed);
    }
  }

  /** The budget's schedule: start what `pick` says, up to the concurrency limit, then wait. */
  private async schedule(group: BudgetGroup): Promise<void> {
    const max = this.options.maxConcurrentPolls ?? DEFAULT_MAX_CONCURRENT_POLLS;
    const { signal } = this.abort;
    while (!signal.aborted) {
      let decision: Decision;
      for (;;) {
        const busy = new Set([...group.running, ...this.active.keys()]);
        decision = group.scheduler.pick(this.now(), group.budget.available(), busy);
        if (!('key' in decision) || group.running.size >= max) break;
        const key = decision.key;
        const feed = group.feeds.get(key)!;
        if (decision.starving) this.options.logger.debug({ resource: feed.resource }, 'overdue poll started regardless of budget');
        group.running.add(key);
        void this.pollExclusive(feed).finally(() => {
          group.running.delete(key);
          group.wake();
        });
      }
      // Full: a finishing poll wakes us. Otherwise until the next resource is due.
      await this.idle(group, 'key' in decision ? SCHEDULE_POLICY.minStarvationMs : decision.waitMs);
    }
  }

  private async idle(group: BudgetGroup, ms: number): Promise<void> {
    if (group.woken || this.abort.signal.aborted) {
      group.woken = false;
      return;
    }
    const wait = new AbortController();
    const stop = () => wait.abort();
    this.abort.signal.addEventListener('abort', stop, { once: true });
    group.wake = () => {
      group.woken = true;
      wait.abort();
    };
    try {
      await this.clock.sleep(ms, wait.signal);
    } catch {
      // woken early
    } finally {
      this.abort.signal.removeEventListener('abort', stop);
      group.wake = () => {
        group.woken = true;
      };
      group.woken = false;
    }
  }

  /** Polls a feed after any poll of it in flight ended (a manual poll never overlaps a scheduled one). */
  private async pollExclusive(feed: ChangeFeed): Promise<void> {
    const key = keyOf(feed);
    for (let current = this.active.get(key); current; current = this.active.get(key)) await current.catch(() => undefined);
    const poll = this.pollFeed(feed);
    this.active.set(key, poll);
    try {
      await poll;
    } finally {
      if (this.active.get(key) === poll) this.active.delete(key);
      this.groupOf(feed)?.wake();
    }
  }

  private async pollFeed(feed: ChangeFeed): Promise<void> {
    const { store, logger } = this.options;
    const key = keyOf(feed);
    const rt = this.runtimeOf(key);
    const group = this.groupOf(feed);
    const budgeted = isBudgeted(feed) ? feed : null;
    const startedMs = this.now();
    const startedAt = this.iso(startedMs);
    const requestsBefore = budgeted?.budget.grantedTotal(feed.resource) ?? 0;
    const seq = ++this.pollSeq;
    rt.startedSeq = seq;
    group?.scheduler.started(key, startedMs);
    let outcome: { holdUntil?: number; excluded?: boolean } = {};
    let emitted = 0;
    // The poller's own copy of the resource state; each write stores a new value of it.
    let state: ResourceState = { ...EMPTY_RESOURCE, ...(this.states.get(key) ?? (await store.getResource(key))) };
    const hadError = state.last_error !== null;
    const save = (next: ResourceState) => {
      state = next;
      this.states.set(key, next);
    };
    save({ ...state, last_poll_at: startedAt });
    try {
      const context: ReadContext = {
        signal: this.abort.signal,
        snapshots: async (ids) => {
          const out = new Map<string, SourceRecord>();
          for (const [id, s] of await store.getSnapshots(key, ids)) out.set(id, s.record as SourceRecord);
          return out;
        },
        knownIds: () => store.liveSnapshotIds(key),
        known: () => liveRecords(store.liveSnapshots(key)),
      };
      // The write of a page without events runs while the next page is fetched; each page's
      // write still starts only after the previous one is durable, so writes stay in page order.
      let writing: Promise<void> | null = null;
      for await (const batch of feed.read(state.cursor, context)) {
        await writing;
        const hasher = this.hasherOf(feed);
        const ids = [...batch.records.map((r) => r.id), ...batch.deletions.map((d) => d.id)];
        // A mutable view of just the snapshots this batch touches; `changedIds` says which to write.
        const snapshots: Record<string, Snapshot> = Object.fromEntries(await store.getSnapshots(key, ids));
        const draft: ResourceState = { ...state };
        const { events, dirty, changedIds } = applyBatch({ feed, batch, state: draft, snapshots, backfill: this.options.backfill, timestamp: this.iso(this.now()), hasher });
        this.trackBaseline(feed, rt, batch, events.length);
        if (dirty) {
          // Snapshots, events and the cursor in one write: a crash re-reads from the old cursor instead.
          writing = store
            .transaction((tx) => {
              for (const id of new Set(changedIds)) {
                const snap = snapshots[id];
                if (snap) tx.putSnapshot(key, id, snap);
                else tx.deleteSnapshot(key, id);
              }
              tx.putResource(key, draft);
              tx.appendEvents(events);
            })
            .then(() => save(draft));
          // Awaited before the next page (a failure surfaces there); handled now, so it never counts as unhandled.
          writing.catch(() => undefined);
          // Events are dispatched only once durable.
          if (events.length > 0) await writing;
        }
        for (const e of events) metrics.events.inc({ type: e.payload.type });
        if (events.length > 0) this.options.onEvents(events.map((e) => e.payload.id));
        emitted += events.length;
      }
      await writing;
      metrics.polls.inc({ source: feed.source, resource: feed.resource, outcome: 'ok' });
      save({ ...state, last_success_at: startedAt, last_error: null });
      // A poll that changed nothing writes only when it clears an error; its times ride along later.
      if (hadError) await store.transaction((tx) => tx.putResource(key, state));
      else this.unsaved.add(key);
      if (rt.status === 'forbidden') logger.info({ source: feed.source, resource: feed.resource }, 'resource readable again');
      if (this.unauthorizedSources.delete(feed.source)) logger.info({ source: feed.source }, 'credentials accepted again');
      rt.status = 'ok';
      rt.failures = 0;
      rt.holdUntil = 0;
      rt.succeededSeq = seq;
      if (rt.progressOf === 'poll' && rt.progress?.status === 'running') {
        rt.progress.status = 'done';
        const { phase, pages_done, total_entries, events } = rt.progress;
        if (phase === 'backfill') logger.info({ source: feed.source, resource: feed.resource, pages_done, total_entries, events }, 'backfill done');
      }
      if (emitted > 0) logger.info({ source: feed.source, resource: feed.resource, events: emitted }, 'changes detected');
    } catch (err) {
      if (this.abort.signal.aborted) return;
      metrics.polls.inc({ source: feed.source, resource: feed.resource, outcome: 'error' });
      outcome = this.failed(feed, rt, err);
      save({ ...state, last_error: { message: err instanceof Error ? err.message : String(err), at: this.iso(this.now()) } });
      await store.transaction((tx) => tx.putResource(key, state)).catch(() => undefined);
    } finally {
      const requests = (budgeted?.budget.grantedTotal(feed.resource) ?? 0) - requestsBefore;
      group?.scheduler.finished(key, this.now(), { requests, ...outcome });
    }
  }

  /** Writes poll times that no other write carried (at stop, so `last_poll_at` survives a restart). */
  private async saveTimes(): Promise<void> {
    const keys = [...this.unsaved];
    this.unsaved.clear();
    if (keys.length === 0) return;
    await this.options.store
      .transaction((tx) => {
        for (const key of keys) {
          const state = this.states.get(key);
          if (state) tx.putResource(key, state);
        }
      })
      .catch(() => undefined);
  }

  /**
   * Backoff after an error; a 403 marks the resource forbidden and re-checks it hourly; a 401 marks it
   * `unauthorized` and is logged once per source (every resource of it fails alike), not per poll.
   */
  private failed(feed: ChangeFeed, rt: Runtime, err: unknown): { holdUntil: number; excluded?: boolean } {
    const { logger } = this.options;
    const message = err instanceof Error ? err.message : String(err);
    const unauthorized = err instanceof UpstreamError && err.status === 401;
    if (unauthorized && !this.unauthorizedSources.has(feed.source)) {
      this.unauthorizedSources.add(feed.source);
      logger.error({ source: feed.source, err: message }, 'poll failed: the source rejected its credentials (401); every resource backs off until the key or token works again');
    }
    if (err instanceof UpstreamError && err.status === 403) {
      if (rt.status !== 'forbidden') {
        logger.warn({ source: feed.source, resource: feed.resource, err: message }, 'no permission for this resource (403); skipped, re-checked hourly');
      }
      rt.status = 'forbidden';
      rt.holdUntil = this.now() + FORBIDDEN_RECHECK_MS;
      return { holdUntil: rt.holdUntil, excluded: true };
    }
    rt.failures += 1;
    const waitMs = Math.max(
      Math.min(BACKOFF_BASE_MS * 2 ** (rt.failures - 1), BACKOFF_MAX_MS),
      err instanceof UpstreamError ? (err.retryAfterMs ?? 0) : 0,
    );
    rt.status = unauthorized ? 'unauthorized' : 'backoff';
    rt.holdUntil = this.now() + waitMs;
    if (unauthorized) return { holdUntil: rt.holdUntil };
    logger.warn(
      { source: feed.source, resource: feed.resource, kind: err instanceof UpstreamError ? err.kind : 'internal', retryInMs: waitMs, err: message },
      'poll failed; cursor kept, will retry',
    );
    return { holdUntil: rt.holdUntil };
  }

  /** Baseline progress (pages done / total_entries), shown in `GET /v1/sources` and logged. */
  private trackBaseline(feed: ChangeFeed, rt: Runtime, batch: Batch, events: number): void {
    const progress = (batch as { progress?: { pages: number; records: number; total_entries: number | null } }).progress;
    if (!batch.baseline || !progress) return;
    const phase = this.options.backfill ? 'backfill' : 'baseline';
    // A backfill job reports its own progress; the first pass does not overwrite it.
    if (rt.progressOf === 'job' && rt.progress?.status === 'running') return;
    if (rt.progressOf !== 'poll' || rt.progress?.status !== 'running') {
      rt.progress = { phase, status: 'running', pages_done: 0, records_done: 0, total_entries: null, events: 0, started_at: this.iso(this.now()) };
      rt.progressOf = 'poll';
    }
    const p = rt.progress;
    const before = p.pages_done;
    p.pages_done = progress.pages;
    p.records_done = progress.records;
    p.total_entries = progress.total_entries;
    p.events += events;
    if (this.options.backfill && Math.floor(before / PROGRESS_LOG_EVERY_PAGES) !== Math.floor(p.pages_done / PROGRESS_LOG_EVERY_PAGES)) {
      this.options.logger.info({ source: feed.source, resource: feed.resource, pages_done: p.pages_done, total_entries: p.total_entries }, 'backfill progress');
    }
  }

  /** Waits until the budget has room beyond what hot and warm polls need soon (as for a cold poll). */
  private async spareRoom(feed: ChangeFeed): Promise<void> {
    const group = this.groupOf(feed);
    if (!group) return;
    while (!this.abort.signal.aborted && group.budget.available() <= group.scheduler.reserveFor('cold')) {
      await this.clock.sleep(SCHEDULE_POLICY.deferredRecheckMs, this.abort.signal).catch(() => undefined);
    }
  }

  /** The snapshot hasher of a feed in hashed mode: its version field, lifecycle columns and clear fields stay readable. */
  private hasherOf(feed: ChangeFeed): SnapshotHasher | undefined {
    const key = this.options.snapshotHashKey;
    if (!key) return undefined;
    let hasher = this.hashers.get(feed);
    if (!hasher) {
      hasher = snapshotHasher(key, [feed.versionField, ...feed.lifecycle.map((l) => l.column), ...(feed.clearFields ?? [])]);
      this.hashers.set(feed, hasher);
    }
    return hasher;
  }

  private runtimeOf(key: string): Runtime {
    let rt = this.runtime.get(key);
    if (!rt) {
      rt = { status: 'pending', failures: 0, holdUntil: 0, progress: null, progressOf: null, startedSeq: 0, succeededSeq: 0 };
      this.runtime.set(key, rt);
    }
    return rt;
  }

  private groupOf(feed: ChangeFeed): BudgetGroup | undefined {
    const key = keyOf(feed);
    return this.groups.find((g) => g.feeds.has(key));
  }
}

function isBudgeted(feed: ChangeFeed): feed is BudgetedFeed {
  const f = feed as Partial<BudgetedFeed>;
  return typeof f.tier === 'string' && typeof f.budget === 'object' && f.budget !== null && typeof f.budget.available === 'function';
}

async function* liveRecords(snapshots: AsyncIterable<[string, Snapshot]>): AsyncIterable<SourceRecord> {
  for await (const [, s] of snapshots) yield s.record as SourceRecord;
}

const EMPTY_RESOURCE: ResourceState = { cursor: null, last_poll_at: null, last_success_at: null, last_error: null };

function keyOf(feed: ChangeFeed): string {
  return `${feed.source}:${feed.resource}`;
}
