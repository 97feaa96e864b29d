import { Cron } from 'croner';
import type { Logger } from 'pino';
import { UpstreamError } from '../sources/errors.js';
import type { Batch, ChangeFeed, ReadContext, SourceRecord } from '../sources/types.js';
import type { Store } from '../store/store.js';
import type { EventPayload, ResourceState, Snapshot, StoredEvent } from '../store/schema.js';
import { newId } from '../util/ids.js';
import { diffRecord, type RecordChange } from './diff.js';

export interface PollerOptions {
  store: Store;
  feeds: readonly ChangeFeed[];
  logger: Logger;
  /** First pass emits `.created` for existing records instead of a silent baseline. */
  backfill: boolean;
  /** Called with the ids of events once they are durably stored. */
  onEvents: (eventIds: string[]) => void;
  now?: () => number;
}

/** Backoff after a failed resource poll: doubles from 5 s to 5 min; a 429 waits at least its reset. */
const BACKOFF_BASE_MS = 5_000;
const BACKOFF_MAX_MS = 5 * 60_000;

/**
 * Polls every feed on a croner schedule. For each batch a feed yields, it diffs the records against
 * their snapshots and records the events, the snapshots and the feed's new cursor in one store write
 * before going on, so a crash at any point loses no change and an upstream failure never moves a
 * cursor past data it did not record.
 */
export class Poller {
  private cron: Cron | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private againIgnoresBackoff = false;
  private readonly abort = new AbortController();
  private readonly backoff = new Map<string, { until: number; failures: number }>();
  private readonly now: () => number;

  constructor(private readonly options: PollerOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Starts the schedule (croner pattern, seconds field allowed). */
  start(pattern: string): void {
    this.cron = new Cron(
      pattern,
      { protect: true, catch: (err) => this.options.logger.error({ err }, 'poll cycle crashed') },
      () => this.run(false),
    );
  }

  /**
   * Polls every feed once, including those backing off after an error (the rate limiter still
   * holds requests after a 429). If a cycle is running, one more runs after it and this resolves
   * when that one ends, so a change made before the call is always picked up.
   */
  pollNow(): Promise<void> {
    return this.run(true);
  }

  private run(ignoreBackoff: boolean): Promise<void> {
    if (this.running) {
      this.again = true;
      this.againIgnoresBackoff ||= ignoreBackoff;
      return this.running;
    }
    this.running = (async () => {
      try {
        let force = ignoreBackoff;
        for (;;) {
          this.again = false;
          this.againIgnoresBackoff = false;
          await this.cycle(force);
          if (!this.again || this.abort.signal.aborted) break;
          force = this.againIgnoresBackoff;
        }
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  /** Stops scheduling and aborts requests in flight; resolves when the current cycle ended. */
  async stop(): Promise<void> {
    this.cron?.stop();
    this.abort.abort();
    await this.running?.catch(() => undefined);
  }

  /** Per resource state as `GET /v1/sources` shows it. */
  describe(): Array<{ source: string; resource: string; state: ResourceState | undefined; backoff_until: string | null }> {
    return this.options.feeds.map((feed) => {
      const until = this.backoff.get(keyOf(feed))?.until;
      return {
        source: feed.source,
        resource: feed.resource,
        state: this.options.store.data.resources[keyOf(feed)],
        backoff_until: until && until > this.now() ? new Date(until).toISOString() : null,
      };
    });
  }

  private async cycle(ignoreBackoff: boolean): Promise<void> {
    for (const feed of this.options.feeds) {
      if (this.abort.signal.aborted) return;
      const b = this.backoff.get(keyOf(feed));
      if (!ignoreBackoff && b && b.until > this.now()) continue;
      await this.pollFeed(feed);
    }
  }

  private async pollFeed(feed: ChangeFeed): Promise<void> {
    const { store, logger } = this.options;
    const key = keyOf(feed);
    const state = store.resourceState(key);
    const startedAt = new Date(this.now()).toISOString();
    state.last_poll_at = startedAt;
    store.touchResource(key);
    let emitted = 0;
    try {
      const snapshots = store.snapshots(key);
      const context: ReadContext = {
        signal: this.abort.signal,
        snapshot: (id) => snapshots[id]?.record as SourceRecord | undefined,
        known: () => liveRecords(snapshots),
      };
      for await (const batch of feed.read(state.cursor, context)) {
        const events = this.record(feed, batch, state);
        if (events.length > 0) {
          // Durable before anyone sees the events: a crash now re-reads from the old cursor instead.
          await store.commit();
          this.options.onEvents(events.map((e) => e.payload.id));
          emitted += events.length;
        } else {
          // Nothing to dispatch: let the group commit carry this batch while the next page loads.
          // Journal lines keep their order, so a later batch never becomes durable before this one.
          store.commit().catch((err: unknown) => logger.error({ err }, 'store write failed'));
        }
      }
      state.last_success_at = startedAt;
      state.last_error = null;
      store.touchResource(key);
      store.commit().catch((err: unknown) => logger.error({ err }, 'store write failed'));
      this.backoff.delete(key);
      if (emitted > 0) logger.info({ source: feed.source, resource: feed.resource, events: emitted }, 'changes detected');
    } catch (err) {
      if (this.abort.signal.aborted) return;
      const failures = (this.backoff.get(key)?.failures ?? 0) + 1;
      const waitMs = Math.max(
        Math.min(BACKOFF_BASE_MS * 2 ** (failures - 1), BACKOFF_MAX_MS),
        err instanceof UpstreamError ? (err.retryAfterMs ?? 0) : 0,
      );
      this.backoff.set(key, { until: this.now() + waitMs, failures });
      const message = err instanceof Error ? err.message : String(err);
      state.last_error = { message, at: new Date(this.now()).toISOString() };
      store.touchResource(key);
      logger.warn(
        { source: feed.source, resource: feed.resource, kind: err instanceof UpstreamError ? err.kind : 'internal', retryInMs: waitMs, err: message },
        'poll failed; cursor kept, will retry',
      );
      await store.commit().catch(() => undefined);
    }
  }

  /** Applies one batch to snapshots, cursor and events in memory; the caller commits. */
  private record(feed: ChangeFeed, batch: Batch, state: ResourceState): StoredEvent[] {
    const { store, backfill } = this.options;
    const key = keyOf(feed);
    const snapshots = store.snapshots(key);
    const silent = batch.baseline && !backfill;
    const events: StoredEvent[] = [];
    const timestamp = new Date(this.now()).toISOString();

    const emit = (kind: string, record: Record<string, unknown>, previous?: Record<string, unknown>, extra?: Record<string, unknown>) => {
      const payload: EventPayload = {
        id: newId('evt'),
        type: `${feed.eventPrefix}.${kind}`,
        timestamp,
        data: {
          source: feed.source,
          resource: feed.eventPrefix,
          id: String(record.id),
          object: record,
          ...(previous ? { previous_attributes: previous } : {}),
          ...extra,
        },
      };
      events.push({ payload, dispatched: false });
    };
    const emitChange = (previous: SourceRecord | undefined, record: SourceRecord, change: RecordChange) => {
      for (const kind of change.kinds) emit(kind, record, change.previous_attributes);
      const changed = Object.keys(change.previous_attributes ?? {});
      for (const derived of feed.deriveEvents?.(previous, record, changed) ?? []) {
        emit(derived.kind, record, change.previous_attributes, derived.data);
      }
    };

    for (const record of batch.records) {
      const version = String(record[feed.versionField] ?? '');
      const snapshot: Snapshot | undefined = snapshots[record.id];
      // An older copy than we hold (a stale page, or a live row after its deletion): ignore it.
      if (snapshot && version < snapshot.version) continue;
      const change = diffRecord(snapshot?.record, record, feed.lifecycle);
      store.putSnapshot(key, record.id, { version: snapshot && snapshot.version > version ? snapshot.version : version, record });
      if (!change || silent) continue;
      if (batch.baseline && change.kinds[0] !== 'created') continue;
      emitChange(snapshot?.record as SourceRecord | undefined, record, change);
    }

    for (const deletion of batch.deletions) {
      const snapshot = snapshots[deletion.id];
      // Never seen (created and deleted between polls, or before the baseline): nothing to report.
      if (!snapshot || snapshot.record.deleted_at) continue;
      if (deletion.kind) {
        emit(deletion.kind, snapshot.record);
        store.deleteSnapshot(key, deletion.id);
        continue;
      }
      const deletedAt = deletion.deleted_at ?? timestamp;
      const record = deletion.record ?? { ...(snapshot.record as SourceRecord), deleted_at: deletedAt };
      const change = diffRecord(snapshot.record, record, feed.lifecycle);
      store.putSnapshot(key, deletion.id, { version: deletedAt > snapshot.version ? deletedAt : snapshot.version, record });
      if (change) emitChange(snapshot.record as SourceRecord, record, change);
    }

    state.cursor = batch.cursor;
    store.touchResource(key);
    store.appendEvents(events);
    return events;
  }
}

function* liveRecords(snapshots: Readonly<Record<string, Snapshot>>): Iterable<SourceRecord> {
  for (const s of Object.values(snapshots)) if (!s.record.deleted_at) yield s.record as SourceRecord;
}

function keyOf(feed: ChangeFeed): string {
  return `${feed.source}:${feed.resource}`;
}
