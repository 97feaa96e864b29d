import type { Batch, ChangeFeed, SourceRecord } from '../sources/types.js';
import type { EventPayload, ResourceState, Snapshot, StoredEvent } from '../store/schema.js';
import { newId } from '../util/ids.js';
import { diffRecord, type RecordChange } from './diff.js';

/** What applying one batch did: the events to store and whether anything needs writing at all. */
export interface Applied {
  events: StoredEvent[];
  /** False when the batch changed no snapshot, no cursor and emitted nothing: skip the write. */
  dirty: boolean;
  /** Ids whose snapshot was put or removed: the caller tells the store (they are journaled). */
  changedIds: string[];
}

/** Builds one event of a feed's record (the delivery body, README "Payload"). */
export function makeEvent(
  feed: ChangeFeed,
  kind: string,
  record: Record<string, unknown>,
  timestamp: string,
  previous?: Record<string, unknown>,
  extra?: Record<string, unknown>,
): StoredEvent {
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
  return { payload, dispatched: false };
}

/**
 * Applies one batch to the resource's snapshots and cursor in memory and returns its events; the
 * caller stores them and commits. Records older than the snapshot are ignored; an unchanged re-read
 * emits nothing; the first pass is silent unless `backfill`.
 */
export function applyBatch(args: {
  feed: ChangeFeed;
  batch: Batch;
  state: ResourceState;
  snapshots: Record<string, Snapshot>;
  backfill: boolean;
  timestamp: string;
}): Applied {
  const { feed, batch, state, snapshots, backfill, timestamp } = args;
  const silent = batch.baseline && !backfill;
  const events: StoredEvent[] = [];
  const changedIds: string[] = [];
  let dirty = false;

  const emitChange = (previous: SourceRecord | undefined, record: SourceRecord, change: RecordChange) => {
    for (const kind of change.kinds) events.push(makeEvent(feed, kind, record, timestamp, change.previous_attributes));
    const changed = Object.keys(change.previous_attributes ?? {});
    for (const derived of feed.deriveEvents?.(previous, record, changed) ?? []) {
      events.push(makeEvent(feed, derived.kind, record, timestamp, change.previous_attributes, derived.data));
    }
  };

  for (const record of batch.records) {
    const version = String(record[feed.versionField] ?? '');
    const snapshot: Snapshot | undefined = snapshots[record.id];
    // An older copy than we hold (a stale page, or a live row after its deletion): ignore it.
    if (snapshot && version < snapshot.version) continue;
    const change = diffRecord(snapshot?.record, record, feed.lifecycle);
    if (!change) continue;
    snapshots[record.id] = { version: snapshot && snapshot.version > version ? snapshot.version : version, record };
    changedIds.push(record.id);
    dirty = true;
    if (silent) continue;
    if (batch.baseline && change.kinds[0] !== 'created') continue;
    emitChange(snapshot?.record as SourceRecord | undefined, record, change);
  }

  for (const deletion of batch.deletions) {
    const snapshot = snapshots[deletion.id];
    // Never seen (created and deleted between polls, or before the baseline): nothing to report.
    if (!snapshot || snapshot.record.deleted_at) continue;
    dirty = true;
    changedIds.push(deletion.id);
    if (deletion.kind) {
      events.push(makeEvent(feed, deletion.kind, snapshot.record, timestamp));
      delete snapshots[deletion.id];
      continue;
    }
    const deletedAt = deletion.deleted_at ?? timestamp;
    const record = deletion.record ?? { ...(snapshot.record as SourceRecord), deleted_at: deletedAt };
    const change = diffRecord(snapshot.record, record, feed.lifecycle);
    snapshots[deletion.id] = { version: deletedAt > snapshot.version ? deletedAt : snapshot.version, record };
    if (change) emitChange(snapshot.record as SourceRecord, record, change);
  }

  if (JSON.stringify(state.cursor) !== JSON.stringify(batch.cursor)) {
    state.cursor = batch.cursor;
    dirty = true;
  }
  return { events, dirty: dirty || events.length > 0, changedIds };
}
