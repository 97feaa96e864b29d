import type { Logger } from 'pino';
import { UpstreamError } from '../sources/errors.js';
import type { Batch, ChangeFeed } from '../sources/types.js';
import type { Clock } from '../util/clock.js';
import type { ReadProgressView, ResourceView } from './views.js';

/** Backoff after a failed resource poll: doubles from 5 s to 5 min; a 429 waits at least its reset. */
export const BACKOFF_BASE_MS = 5_000;
export const BACKOFF_MAX_MS = 5 * 60_000;
/** A resource the key may not read (403) is asked again this rarely. */
export const FORBIDDEN_RECHECK_MS = 60 * 60_000;
const PROGRESS_LOG_EVERY_PAGES = 10;

/** What this process knows of one resource beyond its stored state. */
export interface ResourceRuntime {
  status: ResourceView['status'];
  failures: number;
  /** Not polled before this (epoch ms): backoff, or the re-check of a forbidden resource. */
  holdUntil: number;
  progress: ReadProgressView | null;
  /** Whose progress it is: a poll's first pass, or a backfill job. */
  progressOf: 'poll' | 'job' | null;
  /** Sequence number of the latest poll started, and of the latest that succeeded. */
  startedSeq: number;
  succeededSeq: number;
  /** Whether this process decided yet if the resource starts live (first start, or a cursor too old). */
  liveChecked: boolean;
  /** A background first pass is queued or running. */
  passActive: boolean;
  /** When the first pass's recent pages were recorded (epoch ms, last minute), for its pace. */
  passPageTimes: number[];
  /** Resolves when the first pass's current attempt ends (done, or failed and waiting to resume). */
  passAttempt: Promise<void> | null;
}

/** How a failed poll holds the resource in the schedule. */
export interface FailureOutcome {
  holdUntil: number;
  /** Leave it out of the budget's plan until it succeeds (403). */
  excluded?: boolean;
}

/**
 * The status of every resource of one poller, as `GET /v1/sources` shows it: ok, backing off,
 * forbidden or unauthorized, the backoff policy that decides when it is polled again, and the
 * progress of a full read. Logs each transition once (a 401 once per source, not per resource).
 */
export class ResourceStatus {
  private readonly runtime = new Map<string, ResourceRuntime>();
  /** Sources whose last request answered 401, so the rejection is logged once, not per resource. */
  private readonly unauthorizedSources = new Set<string>();

  constructor(
    private readonly options: {
      logger: Logger;
      clock: Clock;
      /** `BRIDGE_BACKFILL`: a first pass's progress is a backfill's. */
      backfill: boolean;
    },
  ) {}

  /** The runtime of `key` (`source:resource`), created `pending` on first use. */
  of(key: string): ResourceRuntime {
    let rt = this.runtime.get(key);
    if (!rt) {
      rt = {
        status: 'pending',
        failures: 0,
        holdUntil: 0,
        progress: null,
        progressOf: null,
        startedSeq: 0,
        succeededSeq: 0,
        liveChecked: false,
        passActive: false,
        passPageTimes: [],
        passAttempt: null,
      };
      this.runtime.set(key, rt);
    }
    return rt;
  }

  /** Every runtime known. */
  all(): IterableIterator<ResourceRuntime> {
    return this.runtime.values();
  }

  /**
   * A poll succeeded: the resource is ok again (logged when it was forbidden, or its source's
   * credentials were refused), its backoff cleared and a poll's full read marked done.
   */
  succeeded(feed: ChangeFeed, rt: ResourceRuntime, seq: number): void {
    const { logger } = this.options;
    if (rt.status === 'forbidden') logger.info({ source: feed.source, resource: feed.resource }, 'resource readable again');
    if (this.unauthorizedSources.delete(feed.source)) logger.info({ source: feed.source }, 'credentials accepted again');
    rt.status = 'ok';
    rt.failures = 0;
    rt.holdUntil = 0;
    rt.succeededSeq = seq;
    if (rt.progressOf === 'poll' && rt.progress?.status === 'running') {
      rt.progress.status = 'done';
      const { phase, pages_done, total_entries, events } = rt.progress;
      if (phase === 'backfill')
        logger.info({ source: feed.source, resource: feed.resource, pages_done, total_entries, events }, 'backfill done');
    }
  }

  /**
   * Backoff after an error; a 403 marks the resource forbidden and re-checks it hourly; a 401 marks it
   * `unauthorized` and is logged once per source (every resource of it fails alike), not per poll.
   */
  failed(feed: ChangeFeed, rt: ResourceRuntime, err: unknown): FailureOutcome {
    const { logger } = this.options;
    const message = err instanceof Error ? err.message : String(err);
    const unauthorized = err instanceof UpstreamError && err.status === 401;
    if (unauthorized && !this.unauthorizedSources.has(feed.source)) {
      this.unauthorizedSources.add(feed.source);
      logger.error(
        { source: feed.source, err: message },
        'poll failed: the source rejected its credentials (401); every resource backs off until the key or token works again',
      );
    }
    if (err instanceof UpstreamError && err.status === 403) {
      if (rt.status !== 'forbidden') {
        logger.warn(
          { source: feed.source, resource: feed.resource, err: message },
          'no permission for this resource (403); skipped, re-checked hourly',
        );
      }
      rt.status = 'forbidden';
      rt.holdUntil = this.options.clock.now() + FORBIDDEN_RECHECK_MS;
      return { holdUntil: rt.holdUntil, excluded: true };
    }
    rt.failures += 1;
    const waitMs = Math.max(
      Math.min(BACKOFF_BASE_MS * 2 ** (rt.failures - 1), BACKOFF_MAX_MS),
      err instanceof UpstreamError ? (err.retryAfterMs ?? 0) : 0,
    );
    rt.status = unauthorized ? 'unauthorized' : 'backoff';
    rt.holdUntil = this.options.clock.now() + waitMs;
    if (unauthorized) return { holdUntil: rt.holdUntil };
    logger.warn(
      {
        source: feed.source,
        resource: feed.resource,
        kind: err instanceof UpstreamError ? err.kind : 'internal',
        retryInMs: waitMs,
        err: message,
      },
      'poll failed; cursor kept, will retry',
    );
    return { holdUntil: rt.holdUntil };
  }

  /** Baseline progress (pages done / total_entries), shown in `GET /v1/sources` and logged. */
  trackBaseline(feed: ChangeFeed, rt: ResourceRuntime, batch: Batch, events: number): void {
    const { progress } = batch;
    if (!batch.baseline || !progress) return;
    const { backfill, logger, clock } = this.options;
    const phase = backfill ? 'backfill' : 'baseline';
    // A backfill job reports its own progress; the first pass does not overwrite it.
    if (rt.progressOf === 'job' && rt.progress?.status === 'running') return;
    if (rt.progressOf !== 'poll' || rt.progress?.status !== 'running') {
      rt.progress = {
        phase,
        status: 'running',
        pages_done: 0,
        records_done: 0,
        total_entries: null,
        events: 0,
        started_at: new Date(clock.now()).toISOString(),
      };
      rt.progressOf = 'poll';
    }
    const p = rt.progress;
    const before = p.pages_done;
    p.pages_done = progress.pages;
    p.records_done = progress.records;
    p.total_entries = progress.total_entries;
    p.events += events;
    if (backfill && Math.floor(before / PROGRESS_LOG_EVERY_PAGES) !== Math.floor(p.pages_done / PROGRESS_LOG_EVERY_PAGES)) {
      logger.info(
        { source: feed.source, resource: feed.resource, pages_done: p.pages_done, total_entries: p.total_entries },
        'backfill progress',
      );
    }
  }
}
