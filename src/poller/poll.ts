import type { Logger } from 'pino';
import { metrics } from '../metrics.js';
import type { ChangeFeed, LiveStart, ReadContext, SourceRecord } from '../sources/types.js';
import type { ResourceState, Snapshot } from '../store/schema.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../util/clock.js';
import { keyOf } from './budget-loop.js';
import { feedCursorOf, withLive, type LiveState } from './first-pass.js';
import type { SnapshotHasher } from './hashing.js';
import type { PageWriter } from './page-writer.js';
import { applyBatch } from './record.js';
import type { FailureOutcome, ResourceStatus } from './resource-status.js';
import type { BudgetScheduler } from './scheduler.js';

/** A resource never polled. */
export const EMPTY_RESOURCE: ResourceState = { cursor: null, last_poll_at: null, last_success_at: null, last_error: null };

/** What one poll needs from the poller that runs it: its dependencies and the state it shares. */
export interface PollContext {
  store: Store;
  logger: Logger;
  clock: Clock;
  /** Aborts the poll's requests (the poller stops). */
  signal: AbortSignal;
  /** `BRIDGE_BACKFILL`: the first pass emits `.created`. */
  backfill: boolean;
  /** Called with the ids of events once they are durably stored. */
  onEvents: (eventIds: string[]) => void;
  status: ResourceStatus;
  /** Each resource's state as last written or read (`GET /v1/sources` reads it synchronously). */
  states: Map<string, ResourceState>;
  /** Each live resource's state (also in its stored cursor), the latest durable. */
  lives: ReadonlyMap<string, LiveState>;
  /** Resources whose poll times changed without a write carrying them (written at stop). */
  unsaved: Set<string>;
  /** The next poll's sequence number (counts poll starts). */
  nextSeq(): number;
  /** Takes or renews the resource's lease (shared store only). */
  takeLease(key: string): Promise<boolean>;
  /** Starts the resource live when due (first start, or a cursor too old); whether it did. */
  startLive(feed: ChangeFeed, live: LiveStart, state: ResourceState): Promise<boolean>;
  /** Queues the resource's background first pass, unless it is queued or running. */
  startFirstPass(feed: ChangeFeed, live: LiveStart): void;
  /** The snapshot hasher of a feed in hashed mode. */
  hasher(feed: ChangeFeed): SnapshotHasher | undefined;
  /** A writer of the resource's pages, ahead of durability. */
  writer(key: string): PageWriter;
}

/**
 * One poll of one resource: reads every change since its cursor, diffs each batch against the
 * snapshots and records the events, the snapshots and the feed's new cursor in one store write per
 * batch, so a crash at any point loses no change and an upstream failure never moves a cursor past
 * data it did not record. A batch that changed nothing is not written. On the first poll of a feed
 * that can start live, decides whether it does and queues its background first pass.
 *
 * Never throws: a failure is recorded in the resource's state and status (backoff, forbidden,
 * unauthorized), and `scheduler` (the resource's budget schedule, if any) hears how it ended.
 */
export async function pollOnce(ctx: PollContext, feed: ChangeFeed, scheduler?: BudgetScheduler): Promise<void> {
  const { store, logger } = ctx;
  const key = keyOf(feed);
  const rt = ctx.status.of(key);
  const budget = feed.schedule?.budget;
  const startedMs = ctx.clock.now();
  const startedAt = iso(startedMs);
  const requestsBefore = budget?.grantedTotal(feed.resource) ?? 0;
  const seq = ctx.nextSeq();
  rt.startedSeq = seq;
  scheduler?.started(key, startedMs);
  if (store.shared && !(await ctx.takeLease(key))) {
    // Another process polls this resource: show its progress (GET /v1/sources, /readyz), read nothing.
    const current = await store.getResource(key).catch(() => undefined);
    if (current) ctx.states.set(key, current);
    scheduler?.finished(key, ctx.clock.now(), { requests: 0 });
    return;
  }
  let outcome: Partial<FailureOutcome> = {};
  let emitted = 0;
  // The poller's own copy of the resource state; each write stores a new value of it.
  let state: ResourceState = { ...EMPTY_RESOURCE, ...(ctx.states.get(key) ?? (await store.getResource(key))) };
  const hadError = state.last_error !== null;
  // Every state this poll keeps carries the latest live state: a first-pass page may have moved it.
  const save = (next: ResourceState) => {
    state = { ...next, cursor: withLive(feedCursorOf(next.cursor), ctx.lives.get(key) ?? null) };
    ctx.states.set(key, state);
  };
  save({ ...state, last_poll_at: startedAt });
  try {
    if (feed.live && !rt.liveChecked) {
      if (await ctx.startLive(feed, feed.live, state)) save(ctx.states.get(key)!);
      rt.liveChecked = true;
    }
    if (feed.live && ctx.lives.get(key)?.first_pass.status === 'running') ctx.startFirstPass(feed, feed.live);
    const context: ReadContext = {
      signal: ctx.signal,
      snapshots: async (ids) => {
        const out = new Map<string, SourceRecord>();
        for (const [id, s] of await store.getSnapshots(key, ids)) out.set(id, s.record as SourceRecord);
        return out;
      },
      knownIds: () => store.liveSnapshotIds(key),
      known: () => liveRecords(store.liveSnapshots(key)),
    };
    // Pages run ahead of durability (up to `pagesAhead`, see PageWriter): each page is one
    // transaction with its snapshots, events and cursor; `state` (and what `GET /v1/sources`
    // shows) moves on, and events are handed on, only as pages become durable, in page order.
    // The resource's lock is held while pages are in flight, so a first-pass page never
    // interleaves with a batch.
    const writer = ctx.writer(key);
    // The resource state with every page applied so far, durable or not: the next draft's base.
    let ahead = state;
    try {
      for await (const batch of feed.read(feedCursorOf(state.cursor), context)) {
        await writer.next();
        const ids = [...batch.records.map((r) => r.id), ...batch.deletions.map((d) => d.id)];
        // A mutable view of just the snapshots this batch touches; `changedIds` says which to write.
        const snapshots: Record<string, Snapshot> = Object.fromEntries(await store.getSnapshots(key, ids));
        const live = ctx.lives.get(key);
        const draft: ResourceState = { ...ahead, cursor: feedCursorOf(ahead.cursor) };
        const applied = applyBatch({
          feed,
          batch,
          state: draft,
          snapshots,
          backfill: ctx.backfill,
          timestamp: iso(ctx.clock.now()),
          hasher: ctx.hasher(feed),
          liveSince: live?.since,
          firstPassRunning: live?.first_pass.status === 'running',
        });
        const { events } = applied;
        ctx.status.trackBaseline(feed, rt, batch, events.length);
        if (!applied.dirty) {
          writer.skip();
          continue;
        }
        draft.cursor = withLive(draft.cursor, live ?? null);
        ahead = draft;
        // Snapshots, events and the cursor in one write: a crash re-reads from the old cursor instead.
        await writer.write(
          () =>
            store.transaction((tx) => {
              for (const id of new Set(applied.changedIds)) {
                const snap = snapshots[id];
                if (snap) tx.putSnapshot(key, id, snap);
                else tx.deleteSnapshot(key, id);
              }
              tx.putResource(key, draft);
              tx.appendEvents(events);
            }),
          () => {
            save(draft);
            // Events are dispatched only once durable.
            for (const e of events) metrics.events.inc({ type: e.payload.type });
            if (events.length > 0) ctx.onEvents(events.map((e) => e.payload.id));
            emitted += events.length;
          },
        );
        if (store.shared) {
          // The lease is renewed after the page's events are handed on.
          if (events.length > 0) await writer.drain();
          if (!(await ctx.takeLease(key))) {
            logger.warn({ source: feed.source, resource: feed.resource }, 'resource lease lost to another process; this poll stops here');
            break;
          }
        }
      }
      await writer.drain();
    } finally {
      // Nothing of this poll is in flight when its outcome is written.
      await writer.settle();
    }
    metrics.polls.inc({ source: feed.source, resource: feed.resource, outcome: 'ok' });
    save({ ...state, last_success_at: startedAt, last_error: null });
    // A poll that changed nothing writes only when it clears an error; its times ride along later.
    if (hadError) await store.transaction((tx) => tx.putResource(key, state));
    else ctx.unsaved.add(key);
    ctx.status.succeeded(feed, rt, seq);
    if (emitted > 0) logger.info({ source: feed.source, resource: feed.resource, events: emitted }, 'changes detected');
  } catch (err) {
    if (ctx.signal.aborted) return;
    metrics.polls.inc({ source: feed.source, resource: feed.resource, outcome: 'error' });
    outcome = ctx.status.failed(feed, rt, err);
    save({ ...state, last_error: { message: err instanceof Error ? err.message : String(err), at: iso(ctx.clock.now()) } });
    // When the store itself failed (disk full) the error stays in memory (GET /v1/sources shows it):
    // this small line could still fit in the journal's last, partly used page and report the store
    // writable again while the poll's own changes cannot be written.
    if (store.health().writable) await store.transaction((tx) => tx.putResource(key, state)).catch(() => undefined);
  } finally {
    const requests = (budget?.grantedTotal(feed.resource) ?? 0) - requestsBefore;
    scheduler?.finished(key, ctx.clock.now(), { requests, ...outcome });
  }
}

async function* liveRecords(snapshots: AsyncIterable<[string, Snapshot]>): AsyncIterable<SourceRecord> {
  for await (const [, s] of snapshots) yield s.record as SourceRecord;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
