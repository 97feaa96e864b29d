import type { Logger } from 'pino';
import { metrics } from '../metrics.js';
import type { Batch, ChangeFeed, ExistingPage, LiveStart } from '../sources/types.js';
import type { ResourceState, Snapshot } from '../store/schema.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../util/clock.js';
import { keyOf } from './budget-loop.js';
import {
  feedCursorOf,
  firstPassAttempt,
  firstPassRetryMs,
  firstPassView,
  liveOf,
  newLiveState,
  withLive,
  type AttemptOutcome,
  type FirstPassJob,
  type FirstPassQueue,
  type LiveState,
  type PassWrites,
} from './first-pass.js';
import type { SnapshotHasher } from './hashing.js';
import type { PageWriter } from './page-writer.js';
import { EMPTY_RESOURCE } from './poll.js';
import { applyBatch } from './record.js';
import type { ResourceLocks } from './resource-lock.js';
import type { ResourceStatus } from './resource-status.js';
import type { Tier } from './scheduler.js';

/** A resource's cursor older than this (a restored backup) starts live again, unless configured. */
export const DEFAULT_MAX_CATCH_UP_MS = 7 * 24 * 60 * 60_000;
/** First passes of hot resources run before warm and cold ones'. */
const TIER_RANK: Readonly<Record<Tier, number>> = { hot: 0, warm: 1, cold: 2 };
const PASS_PACE_WINDOW_MS = 60_000;

export interface LiveStartsOptions {
  store: Store;
  logger: Logger;
  clock: Clock;
  /** Stops first passes (the poller stops). */
  signal: AbortSignal;
  /** `BRIDGE_BACKFILL`: a first pass emits `.created` for records never seen. */
  backfill: boolean;
  /** Called with the ids of events once they are durably stored. */
  onEvents: (eventIds: string[]) => void;
  /** `BRIDGE_MAX_CATCH_UP` (default {@link DEFAULT_MAX_CATCH_UP_MS}). */
  maxCatchUpMs?: number;
  status: ResourceStatus;
  /** Each resource's state as last written or read, shared with the polls. */
  states: Map<string, ResourceState>;
  locks: ResourceLocks;
  /** The first-pass queue of the feed's request budget; none: the pass runs on its own. */
  passQueue: (feed: ChangeFeed) => FirstPassQueue | undefined;
  /** Resolves when the feed's budget has room beyond what regular polls need soon. */
  spareRoom: (feed: ChangeFeed) => Promise<void>;
  hasher: (feed: ChangeFeed) => SnapshotHasher | undefined;
  writer: (key: string) => PageWriter;
  /** Hands a pass's promise to the poller, which waits for it at stop. */
  track: (pass: Promise<void>) => void;
}

/**
 * Resources started live (issue "Live from the first minute"): decides when a resource starts live
 * (first start, or a cursor older than `BRIDGE_MAX_CATCH_UP`), runs its background first pass (one
 * at a time per budget, hot first, resuming from its position after a failure), records the pass's
 * pages ahead of durability under the resource's lock, and shows the pass in `GET /v1/sources` and
 * `/metrics`.
 */
export class LiveStarts {
  /** Each live resource's state (also in its stored cursor), the latest durable. */
  readonly lives = new Map<string, LiveState>();

  constructor(private readonly options: LiveStartsOptions) {}

  /** Takes a resource's stored state at start: its live part, if it started live. */
  restore(feed: ChangeFeed, state: ResourceState): void {
    const live = liveOf(state.cursor);
    if (!live) return;
    this.lives.set(keyOf(feed), live);
    this.exportMetrics(feed);
  }

  /**
   * Starts a resource live when it has never finished a first pass (first start) or its last
   * successful poll is older than `maxCatchUpMs` (a restored backup): its cursor then reads changes
   * from now minus the overlap, and the existing records are read in the background. Written
   * before the first read. Returns whether it did.
   */
  async startIfDue(feed: ChangeFeed, live: LiveStart, state: ResourceState): Promise<boolean> {
    const key = keyOf(feed);
    const now = this.options.clock.now();
    const maxCatchUpMs = this.options.maxCatchUpMs ?? DEFAULT_MAX_CATCH_UP_MS;
    const lastSuccess = state.last_success_at ? Date.parse(state.last_success_at) : null;
    let reason: LiveState['reason'] | null = null;
    if (state.cursor === null || state.cursor === undefined || (!liveOf(state.cursor) && !live.caughtUp(feedCursorOf(state.cursor))))
      reason = 'first_start';
    else if (lastSuccess !== null && now - lastSuccess > maxCatchUpMs) reason = 'catch_up';
    if (!reason) return false;
    const started = await live.startLive(now, { signal: this.options.signal });
    const next = newLiveState(started.liveSince, reason, iso(now));
    const nextState: ResourceState = { ...state, cursor: withLive(started.cursor, next) };
    await this.options.locks.run(key, async () => {
      await this.options.store.transaction((tx) => tx.putResource(key, nextState));
      this.lives.set(key, next);
      this.options.states.set(key, nextState);
    });
    this.options.status.of(key).passPageTimes = [];
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
  startFirstPass(feed: ChangeFeed, live: LiveStart): void {
    const key = keyOf(feed);
    const rt = this.options.status.of(key);
    if (rt.passActive) return;
    rt.passActive = true;
    const job: FirstPassJob = {
      live,
      where: { source: feed.source, resource: feed.resource },
      state: () => this.lives.get(key)!,
      writes: () => this.passWrites(feed),
      finish: () => this.finish(feed),
      spareRoom: () => this.options.spareRoom(feed),
      signal: this.options.signal,
      logger: this.options.logger,
    };
    const queue = this.options.passQueue(feed);
    const rank = feed.schedule ? TIER_RANK[feed.schedule.tier] : 0;
    const attempt = () =>
      queue ? new Promise<AttemptOutcome>((resolve) => queue.add(rank, () => firstPassAttempt(job).then(resolve))) : firstPassAttempt(job);
    const pass = (async () => {
      for (let failures = 1; ; failures++) {
        const running = attempt();
        rt.passAttempt = running.then(() => undefined);
        const outcome = await running;
        if (outcome !== 'failed') return;
        await this.options.clock.sleep(firstPassRetryMs(failures), this.options.signal).catch(() => undefined);
        if (this.options.signal.aborted) return;
      }
    })().finally(() => {
      rt.passActive = false;
      rt.passAttempt = null;
    });
    this.options.track(pass);
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
    const writer = this.options.writer(key);
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
      const current = this.options.states.get(key) ?? EMPTY_RESOURCE;
      const draft: ResourceState = { ...current, cursor: feedCursorOf(current.cursor) };
      const batch: Batch = { records, deletions: [], cursor: draft.cursor, baseline: true };
      const applied = applyBatch({
        feed,
        batch,
        state: draft,
        snapshots,
        backfill: this.options.backfill,
        timestamp: iso(this.options.clock.now()),
        hasher: this.options.hasher(feed),
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
          const rt = this.options.status.of(key);
          const now = this.options.clock.now();
          rt.passPageTimes = [...rt.passPageTimes.filter((t) => t > now - PASS_PACE_WINDOW_MS), now];
          for (const e of events) metrics.events.inc({ type: e.payload.type });
          if (events.length > 0) this.options.onEvents(events.map((e) => e.payload.id));
          this.exportMetrics(feed);
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
    const latest = this.options.states.get(key) ?? EMPTY_RESOURCE;
    this.options.states.set(key, { ...latest, cursor: withLive(feedCursorOf(latest.cursor), live) });
  }

  /** Marks a first pass done, durably. */
  private async finish(feed: ChangeFeed): Promise<void> {
    const key = keyOf(feed);
    await this.options.locks.run(key, async () => {
      const live = this.lives.get(key)!;
      const nextLive: LiveState = {
        ...live,
        first_pass: {
          ...live.first_pass,
          status: 'done',
          total_entries: live.first_pass.records_read,
          finished_at: iso(this.options.clock.now()),
        },
      };
      const current = this.options.states.get(key) ?? EMPTY_RESOURCE;
      const next: ResourceState = { ...current, cursor: withLive(feedCursorOf(current.cursor), nextLive) };
      await this.options.store.transaction((tx) => tx.putResource(key, next));
      this.keepLive(key, nextLive);
    });
    this.exportMetrics(feed);
  }

  /** The first pass as `GET /v1/sources` shows it; null for a resource that did not start live. */
  view(feed: ChangeFeed, now: number) {
    const live = this.lives.get(keyOf(feed));
    if (!live || !feed.live) return null;
    return firstPassView(live, feed.live.pageSize, this.options.status.of(keyOf(feed)).passPageTimes, now);
  }

  /** The first pass's figures in `/metrics`. */
  exportMetrics(feed: ChangeFeed): void {
    const view = this.view(feed, this.options.clock.now());
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
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
