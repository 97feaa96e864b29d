import { Cron } from 'croner';
import type { Logger } from 'pino';
import type { RequestBudget } from '../sources/rate-limiter.js';
import { systemClock, type Clock } from '../util/clock.js';
import type { Batch, ChangeFeed, ExistingPage, LiveStart } from '../sources/types.js';
import type { Store } from '../store/store.js';
import type { ResourceState, Snapshot } from '../store/schema.js';
import { metrics } from '../metrics.js';
import { runBackfill } from './backfill.js';
import {
  feedCursorOf,
  firstPassAttempt,
  firstPassProgress,
  firstPassRetryMs,
  firstPassView,
  liveOf,
  newLiveState,
  withLive,
  type AttemptOutcome,
  type FirstPassJob,
  type LiveState,
  type PassWrites,
} from './first-pass.js';
import { snapshotHasher, type SnapshotHasher } from './hashing.js';
import { DEFAULT_PAGES_AHEAD, PageWriter } from './page-writer.js';
import { applyBatch } from './record.js';
import { ResourceLocks } from './resource-lock.js';
import { ResourceStatus } from './resource-status.js';
import { BudgetLoop, keyOf, type ScheduledFeed } from './budget-loop.js';
import { EMPTY_RESOURCE, pollOnce, type PollContext } from './poll.js';
import type { Tier } from './scheduler.js';
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
  /**
   * The bridge's one clock: schedule, backoff, event timestamps, poll times (default the system
   * clock; tests pass a manual one). Pass the same clock the feeds' sources were built with.
   */
  clock?: Clock;
  /** Polls in flight at once per request budget (default 3). */
  maxConcurrentPolls?: number;
  /**
   * `BRIDGE_MAX_CATCH_UP`: a resource whose last successful poll is older than this (a data
   * directory restored from an old backup) starts live and re-baselines in the background instead
   * of paging through every change since. Default 7 days.
   */
  maxCatchUpMs?: number;
  /** This process's name for resource leases when the store is shared (`BRIDGE_INSTANCE_ID`). */
  instanceId?: string;
  /**
   * Pages of a resource (a poll's batches, a first pass's pages) applied in the store but not yet
   * durable, at most (default {@link DEFAULT_PAGES_AHEAD}). Needs a store that makes transactions
   * durable in the order they were made (the embedded store's journal); 1 for any other (PostgreSQL).
   */
  pagesAhead?: number;
}

/**
 * With a shared store, a resource is polled only under its lease, renewed at each poll and page;
 * a process that dies loses its leases after this long, and another process takes them over.
 */
export const LEASE_TTL_MS = 20_000;

const DEFAULT_MAX_CATCH_UP_MS = 7 * 24 * 60 * 60_000;
/** First passes of hot resources run before warm and cold ones'. */
const TIER_RANK: Readonly<Record<Tier, number>> = { hot: 0, warm: 1, cold: 2 };
const PASS_PACE_WINDOW_MS = 60_000;

/**
 * Polls feeds and records what changed. Feeds sharing a request budget (every Cliniko resource of
 * one key) are scheduled by one {@link BudgetLoop} (src/poller/budget-loop.ts): hot first, as often as the budget allows,
 * cold never starved, bursts borrowing from cold. Other feeds run on the cron pattern.
 *
 * For each batch a feed yields, it diffs the records against their snapshots and records the events,
 * the snapshots and the feed's new cursor in one store write before going on, so a crash at any
 * point loses no change and an upstream failure never moves a cursor past data it did not record. A
 * batch that changed nothing is not written.
 *
 * A feed with the `live` capability starts live (issue "Live from the first minute"): on its first
 * start, or when its last successful poll is older than `maxCatchUpMs`, its cursor begins at the live
 * start and a background first pass (src/poller/first-pass.ts) snapshots the existing records at the
 * lowest priority of the budget, one resource at a time per budget. A poll's batch and a pass's page
 * of one resource never interleave their snapshot reads and writes.
 */
export class Poller {
  private cron: Cron | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private againAll = false;
  private readonly abort = new AbortController();
  private readonly clock: Clock;
  private readonly status: ResourceStatus;
  private readonly pollContext: PollContext;
  /** Each resource's state as last written or read (`GET /v1/sources` reads it synchronously). */
  private readonly states = new Map<string, ResourceState>();
  /** Resources whose poll times changed without a write carrying them. */
  private readonly unsaved = new Set<string>();
  private readonly hashers = new Map<ChangeFeed, SnapshotHasher>();
  /** The poll in flight per resource: never two of one resource at once. */
  private readonly active = new Map<string, Promise<void>>();
  private readonly groups: BudgetLoop[] = [];
  private readonly cronFeeds: ChangeFeed[] = [];
  private readonly backfills = new Set<Promise<void>>();
  /** Each live resource's state (also in its stored cursor), the latest written. */
  private readonly lives = new Map<string, LiveState>();
  /** Per resource: a poll's batch and a first-pass page never read and write snapshots at once. */
  private readonly locks = new ResourceLocks();
  /** Counts poll starts, so a manual cycle can tell which polls began after it did. */
  private pollSeq = 0;
  /** Resources whose lease this process held at its last poll of them (shared store only). */
  private readonly leased = new Set<string>();

  constructor(private readonly options: PollerOptions) {
    this.clock = options.clock ?? systemClock;
    this.status = new ResourceStatus({ logger: options.logger, clock: this.clock, backfill: options.backfill });
    this.pollContext = {
      store: options.store,
      logger: options.logger,
      clock: this.clock,
      signal: this.abort.signal,
      backfill: options.backfill,
      onEvents: options.onEvents,
      status: this.status,
      states: this.states,
      lives: this.lives,
      unsaved: this.unsaved,
      nextSeq: () => ++this.pollSeq,
      takeLease: (key) => this.takeLease(key),
      startLive: (feed, live, state) => this.startLiveIfDue(feed, live, state),
      startFirstPass: (feed, live) => this.startFirstPass(feed, live),
      hasher: (feed) => this.hasherOf(feed),
      writer: (key) => this.writerOf(key),
    };
    const byBudget = new Map<RequestBudget, ScheduledFeed[]>();
    for (const feed of options.feeds) {
      if (isScheduled(feed)) byBudget.set(feed.schedule.budget, [...(byBudget.get(feed.schedule.budget) ?? []), feed]);
      else this.cronFeeds.push(feed);
    }
    for (const [budget, feeds] of byBudget) {
      this.groups.push(
        new BudgetLoop({
          budget,
          feeds,
          clock: this.clock,
          logger: options.logger,
          maxConcurrentPolls: options.maxConcurrentPolls,
          signal: this.abort.signal,
        }),
      );
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
      if (state && !this.states.has(keyOf(feed))) {
        this.states.set(keyOf(feed), state);
        const live = liveOf(state.cursor);
        if (live) {
          this.lives.set(keyOf(feed), live);
          this.exportFirstPass(feed);
        }
      }
    }
  }

  start(pattern: string): void {
    if (this.cronFeeds.length > 0 && !this.cron) {
      this.cron = new Cron(pattern, { protect: true, catch: (err) => this.options.logger.error({ err }, 'poll cycle crashed') }, () =>
        this.run(false),
      );
    }
    for (const group of this.groups)
      group.start(
        (feed) => this.pollExclusive(feed),
        () => this.active.keys(),
      );
  }

  /**
   * Polls every feed once, including those backing off after an error or forbidden (the rate
   * limiter still holds requests after a 429). If a cycle is running, one more runs after it and
   * this resolves when that one ends, so a change made before the call is always picked up. It
   * also waits for the current attempt of every background first pass (its end, or its failure),
   * so after a successful manual poll every existing record has a snapshot.
   */
  async pollNow(): Promise<void> {
    await this.run(true);
    await Promise.all([...this.status.all()].map((rt) => rt.passAttempt));
  }

  /**
   * Emits `.created` for every existing record of a resource (`resource` or `source:resource`),
   * reading it whole in the background at the lowest priority, paced to the budget's spare room.
   * Snapshots and cursors are not touched. Returns the progress, or null for an unknown resource.
   */
  backfill(resource: string): ReadProgressView | null {
    const feed = this.options.feeds.find((f) => f.resource === resource || keyOf(f) === resource);
    if (!feed) return null;
    const rt = this.status.of(keyOf(feed));
    if (rt.progress?.phase === 'backfill' && rt.progress.status === 'running') return rt.progress;
    rt.progress = {
      phase: 'backfill',
      status: 'running',
      pages_done: 0,
      records_done: 0,
      total_entries: null,
      events: 0,
      started_at: this.iso(this.now()),
    };
    rt.progressOf = 'job';
    const job = runBackfill({
      feed,
      store: this.options.store,
      logger: this.options.logger,
      onEvents: this.options.onEvents,
      progress: rt.progress,
      signal: this.abort.signal,
      clock: this.clock,
      spareRoom: () => this.spareRoom(feed),
    }).finally(() => this.backfills.delete(job));
    this.backfills.add(job);
    return rt.progress;
  }

  /** Stops scheduling and aborts requests in flight; resolves when the work in flight ended. */
  async stop(): Promise<void> {
    this.cron?.stop();
    this.abort.abort();
    await this.running?.catch(() => undefined);
    await Promise.allSettled([...this.active.values(), ...this.backfills, ...this.groups.map((g) => g.stopped())]);
    await this.saveTimes();
  }

  /** Per resource state as `GET /v1/sources` shows it. */
  describe(): ResourceView[] {
    const now = this.now();
    return this.options.feeds.map((feed) => {
      const key = keyOf(feed);
      const rt = this.status.of(key);
      const live = feed.live ? this.lives.get(key) : undefined;
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
        progress: rt.progress ?? (live ? firstPassProgress(live, this.options.backfill) : null),
        live_since: this.lives.get(key)?.since ?? null,
        first_pass: this.firstPassOf(feed, now),
      };
    });
  }

  /** Each request budget: the key's limit, what the bridge allows itself, what it used. */
  budgets(): BudgetView[] {
    return this.groups.map((g) => ({
      source: g.source,
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
      const rt = this.status.of(key);
      if (!all && rt.holdUntil > this.now()) continue;
      const current = this.active.get(key);
      if (current && rt.startedSeq > since) await current.catch(() => undefined);
      if (rt.succeededSeq > since) continue;
      await this.pollExclusive(feed);
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

  private pollFeed(feed: ChangeFeed): Promise<void> {
    return pollOnce(this.pollContext, feed, this.groupOf(feed)?.scheduler);
  }

  /**
   * Takes or renews the lease of a resource (shared store). A lease just taken over drops the cached
   * state: its previous holder may have moved the cursor on.
   */
  private async takeLease(key: string): Promise<boolean> {
    const held = await this.options.store.shared!.lease(key, this.options.instanceId ?? 'bridge', LEASE_TTL_MS).catch(() => false);
    if (!held) {
      this.leased.delete(key);
      this.unsaved.delete(key);
      return false;
    }
    if (!this.leased.has(key)) {
      this.leased.add(key);
      this.states.delete(key);
    }
    return true;
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
          if (state) tx.putResource(key, { ...state, cursor: withLive(feedCursorOf(state.cursor), this.lives.get(key) ?? null) });
        }
      })
      .catch(() => undefined);
  }

  /**
   * Starts a resource live when it has never finished a first pass (first start) or its last
   * successful poll is older than `maxCatchUpMs` (a restored backup): its cursor then reads changes
   * from now minus the overlap, and the existing records are read in the background. Written
   * before the first read. Returns whether it did.
   */
  private async startLiveIfDue(feed: ChangeFeed, live: LiveStart, state: ResourceState): Promise<boolean> {
    const key = keyOf(feed);
    const now = this.now();
    const maxCatchUpMs = this.options.maxCatchUpMs ?? DEFAULT_MAX_CATCH_UP_MS;
    const lastSuccess = state.last_success_at ? Date.parse(state.last_success_at) : null;
    let reason: LiveState['reason'] | null = null;
    if (state.cursor === null || state.cursor === undefined || (!liveOf(state.cursor) && !live.caughtUp(feedCursorOf(state.cursor))))
      reason = 'first_start';
    else if (lastSuccess !== null && now - lastSuccess > maxCatchUpMs) reason = 'catch_up';
    if (!reason) return false;
    const started = await live.startLive(now, { signal: this.abort.signal });
    const next = newLiveState(started.liveSince, reason, this.iso(now));
    const nextState: ResourceState = { ...state, cursor: withLive(started.cursor, next) };
    await this.locks.run(key, async () => {
      await this.options.store.transaction((tx) => tx.putResource(key, nextState));
      this.lives.set(key, next);
      this.states.set(key, nextState);
    });
    this.status.of(key).passPageTimes = [];
    metrics.liveSince.set({ source: feed.source, resource: feed.resource }, Date.parse(next.since) / 1000);
    if (reason === 'catch_up') {
      this.options.logger.warn(
        { source: feed.source, resource: feed.resource, last_success_at: state.last_success_at, live_since: next.since },
        'last poll older than BRIDGE_MAX_CATCH_UP (restored backup?): starting live and re-reading existing records in the background instead of catching up',
      );
    }
    return true;
  }

  /**
   * Runs the resource's background first pass: attempts queue one at a time per budget (hot
   * first); a failed attempt leaves the queue, waits its backoff and queues again from its position.
   */
  private startFirstPass(feed: ChangeFeed, live: LiveStart): void {
    const key = keyOf(feed);
    const rt = this.status.of(key);
    if (rt.passActive) return;
    rt.passActive = true;
    const job: FirstPassJob = {
      live,
      where: { source: feed.source, resource: feed.resource },
      state: () => this.lives.get(key)!,
      writes: () => this.passWrites(feed),
      finish: () => this.finishFirstPass(feed),
      spareRoom: () => this.spareRoom(feed),
      signal: this.abort.signal,
      logger: this.options.logger,
    };
    const group = this.groupOf(feed);
    const rank = feed.schedule ? TIER_RANK[feed.schedule.tier] : 0;
    const attempt = () =>
      group
        ? new Promise<AttemptOutcome>((resolve) => group.passes.add(rank, () => firstPassAttempt(job).then(resolve)))
        : firstPassAttempt(job);
    const pass = (async () => {
      for (let failures = 1; ; failures++) {
        const running = attempt();
        rt.passAttempt = running.then(() => undefined);
        const outcome = await running;
        if (outcome !== 'failed') return;
        await this.clock.sleep(firstPassRetryMs(failures), this.abort.signal).catch(() => undefined);
        if (this.abort.signal.aborted) return;
      }
    })().finally(() => {
      rt.passActive = false;
      rt.passAttempt = null;
    });
    this.backfills.add(pass);
    void pass.finally(() => this.backfills.delete(pass));
  }

  /** A writer of one resource's pages (a poll's or a first-pass attempt's), `pagesAhead` ahead of durability. */
  private writerOf(key: string): PageWriter {
    const { store } = this.options;
    return new PageWriter({
      key,
      locks: this.locks,
      pagesAhead: this.options.pagesAhead ?? DEFAULT_PAGES_AHEAD,
      writable: () => store.health().writable,
    });
  }

  /**
   * The page writes of one first-pass attempt. A page: records older than the live start and newer
   * than their snapshot are snapshotted silently (`.created` with `BRIDGE_BACKFILL` for records never
   * seen), with the pass's new position, in one write. Under the resource's lock, so a live poll's
   * newer version is never overwritten and a change is reported once, by whichever read sees it
   * first as a change. The live state moves on (and events are handed on) as pages become durable.
   */
  private passWrites(feed: ChangeFeed): PassWrites {
    const { store } = this.options;
    const key = keyOf(feed);
    const writer = this.writerOf(key);
    // The pass's state with every page applied so far, durable or not.
    let ahead: LiveState | null = null;
    const record = async (page: ExistingPage): Promise<void> => {
      await writer.next();
      const live = writer.pending > 0 && ahead ? ahead : this.lives.get(key)!;
      const since = Date.parse(live.since);
      const records = page.records.filter((r) => {
        const v = Date.parse(String(r[feed.versionField] ?? ''));
        return Number.isFinite(v) && v < since;
      });
      const snapshots: Record<string, Snapshot> = Object.fromEntries(
        await store.getSnapshots(
          key,
          records.map((r) => r.id),
        ),
      );
      const current = this.states.get(key) ?? EMPTY_RESOURCE;
      const draft: ResourceState = { ...current, cursor: feedCursorOf(current.cursor) };
      const batch: Batch = { records, deletions: [], cursor: draft.cursor, baseline: true };
      const applied = applyBatch({
        feed,
        batch,
        state: draft,
        snapshots,
        backfill: this.options.backfill,
        timestamp: this.iso(this.now()),
        hasher: this.hasherOf(feed),
      });
      const fp = live.first_pass;
      const nextLive: LiveState = {
        ...live,
        first_pass: {
          ...fp,
          position: page.position,
          pages: fp.pages + 1,
          records_read: fp.records_read + page.records.length,
          events: (fp.events ?? 0) + applied.events.length,
          total_entries: page.total !== null ? fp.records_read + page.total : fp.total_entries,
        },
      };
      const next: ResourceState = { ...current, cursor: withLive(draft.cursor, nextLive) };
      ahead = nextLive;
      const { events } = applied;
      await writer.write(
        () =>
          store.transaction((tx) => {
            for (const id of new Set(applied.changedIds)) tx.putSnapshot(key, id, snapshots[id]!);
            tx.putResource(key, next);
            tx.appendEvents(events);
          }),
        () => {
          this.keepLive(key, nextLive);
          const rt = this.status.of(key);
          const now = this.now();
          rt.passPageTimes = [...rt.passPageTimes.filter((t) => t > now - PASS_PACE_WINDOW_MS), now];
          for (const e of events) metrics.events.inc({ type: e.payload.type });
          if (events.length > 0) this.options.onEvents(events.map((e) => e.payload.id));
          this.exportFirstPass(feed);
        },
      );
    };
    return { record, drain: () => writer.drain(), settle: () => writer.settle() };
  }

  /**
   * Takes a live state just written: a poll may have moved the rest of the resource state
   * meanwhile (its times are written with its own state), so only the cursor's live part changes.
   */
  private keepLive(key: string, live: LiveState): void {
    this.lives.set(key, live);
    const latest = this.states.get(key) ?? EMPTY_RESOURCE;
    this.states.set(key, { ...latest, cursor: withLive(feedCursorOf(latest.cursor), live) });
  }

  /** Marks a first pass done, durably. */
  private async finishFirstPass(feed: ChangeFeed): Promise<void> {
    const key = keyOf(feed);
    await this.locks.run(key, async () => {
      const live = this.lives.get(key)!;
      const nextLive: LiveState = {
        ...live,
        first_pass: { ...live.first_pass, status: 'done', total_entries: live.first_pass.records_read, finished_at: this.iso(this.now()) },
      };
      const current = this.states.get(key) ?? EMPTY_RESOURCE;
      const next: ResourceState = { ...current, cursor: withLive(feedCursorOf(current.cursor), nextLive) };
      await this.options.store.transaction((tx) => tx.putResource(key, next));
      this.keepLive(key, nextLive);
    });
    this.exportFirstPass(feed);
  }

  /** The first pass as `GET /v1/sources` shows it; null for a resource that did not start live. */
  private firstPassOf(feed: ChangeFeed, now: number) {
    const live = this.lives.get(keyOf(feed));
    if (!live || !feed.live) return null;
    return firstPassView(live, feed.live.pageSize, this.status.of(keyOf(feed)).passPageTimes, now);
  }

  /** The first pass's figures in `/metrics`. */
  private exportFirstPass(feed: ChangeFeed): void {
    const view = this.firstPassOf(feed, this.now());
    if (!view) return;
    const labels = { source: feed.source, resource: feed.resource };
    metrics.liveSince.set(labels, Date.parse(this.lives.get(keyOf(feed))!.since) / 1000);
    metrics.firstPassRecordsRead.set(labels, view.records_read);
    if (view.total_entries !== null) metrics.firstPassRecordsTotal.set(labels, view.total_entries);
    if (view.requests_left !== null) metrics.firstPassRequestsLeft.set(labels, view.requests_left);
    metrics.firstPassCompletion.set(
      labels,
      view.estimated_completion_at
        ? Date.parse(view.estimated_completion_at) / 1000
        : view.finished_at
          ? Date.parse(view.finished_at) / 1000
          : 0,
    );
    metrics.firstPassRunning.set(labels, view.status === 'running' ? 1 : 0);
  }

  /** Waits until the budget has room beyond what hot and warm polls need soon (as for a cold poll). */
  private async spareRoom(feed: ChangeFeed): Promise<void> {
    await this.groupOf(feed)?.spareRoom();
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

  private groupOf(feed: ChangeFeed): BudgetLoop | undefined {
    const key = keyOf(feed);
    return this.groups.find((g) => g.has(key));
  }
}

function isScheduled(feed: ChangeFeed): feed is ScheduledFeed {
  return feed.schedule !== undefined;
}
