import type { Logger } from 'pino';
import type { ChangeFeed, ReadContext } from '../sources/types.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../util/clock.js';
import { makeEvent } from './record.js';
import type { ReadProgressView } from './views.js';

/** Limiter priority of backfill pages: after every regular poll. */
export const BACKFILL_PRIORITY = 3;
const PROGRESS_LOG_EVERY_PAGES = 10;

export interface BackfillJob {
  feed: ChangeFeed;
  store: Store;
  logger: Logger;
  onEvents: (eventIds: string[]) => void;
  /** Updated in place as pages arrive; `GET /v1/sources` shows it. */
  progress: ReadProgressView;
  signal: AbortSignal;
  /** The poller's clock: event timestamps. */
  clock: Clock;
  /** Resolves when the budget has room to spare for one more page. */
  spareRoom: () => Promise<void>;
}

/**
 * `POST /v1/sources/:resource/backfill`: reads a resource whole from the start and emits `.created`
 * for each record (once, though keyset pages overlap), one page at a time in the budget's spare
 * room and at the lowest limiter priority. Snapshots and the cursor are not touched, so the
 * incremental poll still reports what changes meanwhile. Progress (pages done / `total_entries`)
 * goes to the logs every ten pages and to `progress`.
 */
export async function runBackfill(job: BackfillJob): Promise<void> {
  const { feed, store, logger, progress, signal } = job;
  const where = { source: feed.source, resource: feed.resource };
  const context: ReadContext = {
    signal,
    snapshots: async () => new Map(),
    knownIds: async () => [],
    known: async function* () {},
    priority: BACKFILL_PRIORITY,
  };
  logger.info(where, 'backfill started');
  const emitted = new Set<string>();
  try {
    for await (const batch of feed.read(null, context)) {
      const fresh = batch.records.filter((r) => !emitted.has(r.id));
      for (const r of fresh) emitted.add(r.id);
      const timestamp = new Date(job.clock.now()).toISOString();
      const events = fresh.map((record) => makeEvent(feed, 'created', record, timestamp));
      const p = batch.progress;
      const pagesBefore = progress.pages_done;
      if (p) {
        progress.pages_done = p.pages;
        progress.records_done = p.records;
        progress.total_entries = p.total_entries;
      }
      if (events.length > 0) {
        await store.transaction((tx) => tx.appendEvents(events));
        job.onEvents(events.map((e) => e.payload.id));
        progress.events += events.length;
      }
      if (Math.floor(pagesBefore / PROGRESS_LOG_EVERY_PAGES) !== Math.floor(progress.pages_done / PROGRESS_LOG_EVERY_PAGES)) {
        logger.info({ ...where, pages_done: progress.pages_done, total_entries: progress.total_entries }, 'backfill progress');
      }
      await job.spareRoom();
    }
    progress.status = 'done';
    logger.info({ ...where, pages_done: progress.pages_done, events: progress.events }, 'backfill done');
  } catch (err) {
    progress.status = 'failed';
    if (!signal.aborted) logger.warn({ ...where, err: (err as Error).message }, 'backfill failed');
  }
}
