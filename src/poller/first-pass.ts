import type { Logger } from 'pino';
import type { ExistingPage, LiveStart } from '../sources/types.js';
import { BACKFILL_PRIORITY } from './backfill.js';
import type { ReadProgressView } from './views.js';

/**
 * A resource started live (issue "Live from the first minute"), kept by the poller under the
 * `live` key of the resource's cursor, next to the feed's own fields (feeds ignore it), so it is
 * written in the same store write as the cursor and survives restarts.
 */
export interface LiveState {
  /** The live start, as a value of the feed's `versionField`: changes at or after it are the live reads'. */
  since: string;
  /** Why: the resource's first start, or a cursor older than `BRIDGE_MAX_CATCH_UP` (a restored backup). */
  reason: 'first_start' | 'catch_up';
  first_pass: FirstPassState;
}

/** The background first pass: what it read and where it resumes. */
export interface FirstPassState {
  status: 'running' | 'done';
  /** The feed's opaque resume position; null before the first page. */
  position: unknown;
  pages: number;
  records_read: number;
  /** Events it emitted (`.created`, with `BRIDGE_BACKFILL` only). */
  events: number;
  /** Estimated records in all: read so far plus what the lists reported left (`total_entries`). */
  total_entries: number | null;
  started_at: string;
  finished_at: string | null;
}

/** The first pass as `GET /v1/sources` and `/metrics` show it. */
export interface FirstPassView {
  status: 'running' | 'done';
  reason: LiveState['reason'];
  started_at: string;
  finished_at: string | null;
  records_read: number;
  total_entries: number | null;
  /** Requests the pass still needs (records left ÷ page size); null while the total is unknown. */
  requests_left: number | null;
  /** At the pace of its last minute; null when it made no request in that minute or is done. */
  estimated_completion_at: string | null;
}

/** Limiter priority of first-pass pages: the lowest, as a backfill's. */
export const FIRST_PASS_PRIORITY = BACKFILL_PRIORITY;
/** After a failed page, the pass waits this long (doubling to the maximum), then resumes from its position. */
const RETRY_BASE_MS = 5_000;
const RETRY_MAX_MS = 5 * 60_000;
const PACE_WINDOW_MS = 60_000;
const PROGRESS_LOG_EVERY_PAGES = 50;

/** The live part of a stored cursor, if the resource started live. */
export function liveOf(cursor: unknown): LiveState | null {
  const live = cursor && typeof cursor === 'object' ? (cursor as { live?: unknown }).live : undefined;
  if (!live || typeof live !== 'object') return null;
  const l = live as Partial<LiveState>;
  if (typeof l.since !== 'string' || !l.first_pass || typeof l.first_pass !== 'object') return null;
  return l as LiveState;
}

/** The feed's own part of a stored cursor (without `live`). */
export function feedCursorOf(cursor: unknown): unknown {
  if (!cursor || typeof cursor !== 'object' || !('live' in cursor)) return cursor;
  const { live: _live, ...rest } = cursor as Record<string, unknown>;
  return rest;
}

/** The stored cursor: the feed's part with the live state beside it. */
export function withLive(cursor: unknown, live: LiveState | null): unknown {
  if (!live) return cursor;
  return { ...((cursor && typeof cursor === 'object' ? cursor : {}) as Record<string, unknown>), live };
}

/** A fresh live state starting at `since`. */
export function newLiveState(since: string, reason: LiveState['reason'], nowIso: string): LiveState {
  return {
    since,
    reason,
    first_pass: {
      status: 'running',
      position: null,
      pages: 0,
      records_read: 0,
      events: 0,
      total_entries: null,
      started_at: nowIso,
      finished_at: null,
    },
  };
}

/**
 * The pass in the older `progress` shape of `GET /v1/sources` (a first pass or backfill), which
 * clients written before live starts read: `phase` is `backfill` when it emits `.created`.
 */
export function firstPassProgress(live: LiveState, backfill: boolean): ReadProgressView {
  const p = live.first_pass;
  return {
    phase: backfill ? 'backfill' : 'baseline',
    status: p.status,
    pages_done: p.pages,
    records_done: p.records_read,
    total_entries: p.total_entries,
    events: p.events ?? 0,
    started_at: p.started_at,
  };
}

/**
 * The view of a pass: requests left from the estimated total, completion at the pace of its last
 * minute (`requestTimes`, epoch ms of its pages).
 */
export function firstPassView(live: LiveState, pageSize: number, requestTimes: readonly number[], nowMs: number): FirstPassView {
  const p = live.first_pass;
  const left = p.total_entries === null ? null : Math.max(0, p.total_entries - p.records_read);
  const requestsLeft = p.status === 'done' ? 0 : left === null ? null : Math.ceil(left / Math.max(1, pageSize));
  const recent = requestTimes.filter((t) => t > nowMs - PACE_WINDOW_MS).length;
  const eta =
    p.status === 'running' && requestsLeft !== null && recent > 0
      ? new Date(nowMs + (requestsLeft / recent) * PACE_WINDOW_MS).toISOString()
      : null;
  return {
    status: p.status,
    reason: live.reason,
    started_at: p.started_at,
    finished_at: p.finished_at,
    records_read: p.records_read,
    total_entries: p.total_entries,
    requests_left: requestsLeft,
    estimated_completion_at: eta,
  };
}

export interface FirstPassJob {
  live: LiveStart;
  where: { source: string; resource: string };
  /** The pass's state as durably recorded, read for its position and start. */
  state: () => LiveState;
  /** Starts an attempt's writes: its pages are recorded through them. */
  writes: () => PassWrites;
  /** Marks the pass done (durably). */
  finish: () => Promise<void>;
  /** Resolves when the budget has room beyond what regular polls need soon. */
  spareRoom: () => Promise<void>;
  signal: AbortSignal;
  logger: Logger;
}

/** The page writes of one attempt of a first pass, which run ahead of durability. */
export interface PassWrites {
  /**
   * Records one page: silent snapshots of records older than the live start that are newer than
   * what the store holds (`.created` events with `BRIDGE_BACKFILL`), and the pass's new state, in one
   * store write. Resolves once the page is applied; it becomes durable later, in page order.
   * @throws the error of an earlier page's failed write
   */
  record(page: ExistingPage): Promise<void>;
  /** Resolves once every page recorded is durable. @throws the first failed write's error */
  drain(): Promise<void>;
  /** Resolves once every page recorded has succeeded or failed; never throws. */
  settle(): Promise<void>;
}

/** How one attempt of a first pass ended; `failed` resumes from its stored position later. */
export type AttemptOutcome = 'done' | 'failed' | 'aborted';

/**
 * One attempt of a background first pass: page by page from its stored position, in the budget's
 * spare room at the lowest limiter priority, to the end or the first error. Never throws.
 */
export async function firstPassAttempt(job: FirstPassJob): Promise<AttemptOutcome> {
  const { where, logger, signal } = job;
  const writes = job.writes();
  try {
    await job.spareRoom();
    const { since, first_pass } = job.state();
    let pages = first_pass.pages;
    for await (const page of job.live.readExisting(first_pass.position, since, { signal, priority: FIRST_PASS_PRIORITY })) {
      await writes.record(page);
      if (++pages % PROGRESS_LOG_EVERY_PAGES === 0) {
        const { records_read, total_entries } = job.state().first_pass;
        logger.info({ ...where, records_read, total_entries }, 'first pass progress');
      }
      await job.spareRoom();
    }
    await writes.drain();
    if (signal.aborted) return 'aborted';
    await job.finish();
    logger.info({ ...where, records_read: job.state().first_pass.records_read }, 'first pass done');
    return 'done';
  } catch (err) {
    if (signal.aborted) return 'aborted';
    logger.warn({ ...where, err: (err as Error).message }, 'first pass page failed; it resumes from its position');
    return 'failed';
  } finally {
    // The next attempt resumes from the position durably recorded: nothing may be in flight then.
    await writes.settle();
  }
}

/** Wait before the `failures`-th retry of a failed first pass: doubles from 5 s to 5 min. */
export function firstPassRetryMs(failures: number): number {
  return Math.min(RETRY_BASE_MS * 2 ** Math.max(0, failures - 1), RETRY_MAX_MS);
}

/**
 * Runs the first passes of one request budget one at a time, hot resources' before warm and cold
 * ones', so passes never compete with each other for the spare room.
 */
export class FirstPassQueue {
  private readonly waiting: Array<{ rank: number; seq: number; run: () => Promise<void> }> = [];
  private running = false;
  private seq = 0;

  /** Queues `run`; `rank` orders the queue (lower first, then arrival). */
  add(rank: number, run: () => Promise<void>): void {
    this.waiting.push({ rank, seq: this.seq++, run });
    this.waiting.sort((a, b) => a.rank - b.rank || a.seq - b.seq);
    void this.next();
  }

  private async next(): Promise<void> {
    if (this.running) return;
    const item = this.waiting.shift();
    if (!item) return;
    this.running = true;
    try {
      await item.run();
    } finally {
      this.running = false;
      void this.next();
    }
  }
}
