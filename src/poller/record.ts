import type { Batch, ChangeFeed, LifecycleColumn, SourceRecord } from '../sources/types.js';
import type { ResourceState, Snapshot, StoredEvent } from '../store/schema.js';
import type { EventEnvelope } from '../events/envelope.js';
import { newId } from '../util/ids.js';
import { diffRecord, type RecordChange } from './diff.js';
import { readable, type SnapshotHasher } from './hashing.js';

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
  const payload: EventEnvelope = {
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

/** What an event of a record the bridge held no snapshot of carries (README "Payload"). */
export const NO_SNAPSHOT = { previous_attributes: null, snapshot: 'none' } as const;

/** `value` is a time at or after `start` (both ISO 8601 strings). */
function atOrAfter(value: unknown, start: string): boolean {
  if (typeof value !== 'string') return false;
  const ms = Date.parse(value);
  return Number.isFinite(ms) && ms >= Date.parse(start);
}

/**
 * The events of a change to a record the bridge has no snapshot of, on a resource live since
 * `liveSince` (issue "Live from the first minute"): `created` when it was created at or after the
 * start; otherwise each lifecycle event whose column was set at or after it; otherwise `updated`.
 * Null when the change itself is from before the start (the background first pass records it).
 */
export function unknownRecordKinds(
  record: Record<string, unknown>,
  versionField: string,
  lifecycle: readonly LifecycleColumn[],
  liveSince: string,
): string[] | null {
  if (atOrAfter(record.created_at, liveSince)) return ['created'];
  if (!atOrAfter(record[versionField], liveSince) && !lifecycle.some((l) => atOrAfter(record[l.column], liveSince))) return null;
  const kinds = lifecycle.filter((l) => atOrAfter(record[l.column], liveSince)).map((l) => l.set);
  return kinds.length > 0 ? kinds : ['updated'];
}

/**
 * Applies one batch to the resource's snapshots and cursor in memory and returns its events; the
 * caller stores them and commits. Records older than the snapshot are ignored; an unchanged re-read
 * emits nothing; the first pass is silent unless `backfill`.
 *
 * With `liveSince` (a resource started live while its first pass reads the account in the
 * background), a record without a snapshot is not necessarily new: its events follow
 * {@link unknownRecordKinds}; those other than `created` carry {@link NO_SNAPSHOT} and no domain
 * events (transitions need the previous version). With `backfill` such a record is `created`.
 */
export function applyBatch(args: {
  feed: ChangeFeed;
  batch: Batch;
  state: ResourceState;
  snapshots: Record<string, Snapshot>;
  backfill: boolean;
  timestamp: string;
  /** Set in `BRIDGE_SNAPSHOT_MODE=hashed`: snapshots keep HMACs, events name changed fields. */
  hasher?: SnapshotHasher;
  /** The resource's live start (a `versionField` value), when it started live. */
  liveSince?: string;
  /**
   * While the background first pass runs, every version from before the live start is the pass's
   * (a re-baseline after a restored backup must not report the changes it skips), snapshot or not.
   */
  firstPassRunning?: boolean;
}): Applied {
  const { feed, batch, state, snapshots, backfill, timestamp, hasher, liveSince, firstPassRunning } = args;
  const silent = batch.baseline && !backfill;
  const events: StoredEvent[] = [];
  const changedIds: string[] = [];
  let dirty = false;

  /** What a snapshot is diffed as: a full snapshot taken before hashing was turned on is hashed now. */
  const previousForm = (s: Snapshot | undefined) => (!s ? undefined : hasher && !s.hashed ? hasher(s.record as SourceRecord) : s.record);
  const keep = (version: string, record: SourceRecord): Snapshot =>
    hasher ? { version, record: hasher(record), hashed: true } : { version, record };

  /**
   * Events of a change. When either side is hashed, old values are unknown (or HMACs): the events
   * carry `data.changed_fields` instead of `previous_attributes`.
   */
  const emitChange = (previous: SourceRecord | undefined, record: SourceRecord, change: RecordChange, hashed: boolean) => {
    const changed = Object.keys(change.previous_attributes ?? {});
    const previousAttributes = hashed ? undefined : change.previous_attributes;
    const extra = hashed && change.kinds[0] !== 'created' ? { changed_fields: changed } : undefined;
    for (const kind of change.kinds) events.push(makeEvent(feed, kind, record, timestamp, previousAttributes, extra));
    for (const derived of feed.deriveEvents?.(previous, record, changed) ?? []) {
      events.push(makeEvent(feed, derived.kind, record, timestamp, previousAttributes, { ...extra, ...derived.data }));
    }
  };

  for (const record of batch.records) {
    const version = String(record[feed.versionField] ?? '');
    const snapshot: Snapshot | undefined = snapshots[record.id];
    // An older copy than we hold (a stale page, or a live row after its deletion): ignore it.
    if (snapshot && version < snapshot.version) continue;
    const newest = snapshot && snapshot.version > version ? snapshot.version : version;
    if (!hasher && snapshot?.hashed) {
      // Hashing was turned off: the old values cannot be compared. Same version: nothing changed.
      if (version === snapshot.version) {
        snapshots[record.id] = keep(newest, record);
        changedIds.push(record.id);
        dirty = true;
        continue;
      }
    }
    // On a resource started live, a version from before the start is the first pass's: always when
    // never seen, and while the pass runs (a re-baseline) even when seen.
    if ((!snapshot || firstPassRunning) && liveSince !== undefined && !batch.baseline && !atOrAfter(version, liveSince)) continue;
    if (!snapshot && liveSince !== undefined && !batch.baseline && !backfill) {
      const kinds = unknownRecordKinds(record, feed.versionField, feed.lifecycle, liveSince);
      snapshots[record.id] = keep(version, record);
      changedIds.push(record.id);
      dirty = true;
      if (kinds?.[0] === 'created') emitChange(undefined, record, { kinds }, !!hasher);
      else if (kinds) for (const kind of kinds) events.push(makeEvent(feed, kind, record, timestamp, undefined, NO_SNAPSHOT));
      continue;
    }
    const previous = previousForm(snapshot);
    const change = diffRecord(previous, hasher ? hasher(record) : record, feed.lifecycle);
    if (!change) {
      // A full snapshot from before hashing was turned on is rewritten hashed, even unchanged.
      if (hasher && snapshot && !snapshot.hashed) {
        snapshots[record.id] = keep(newest, record);
        changedIds.push(record.id);
        dirty = true;
      }
      continue;
    }
    snapshots[record.id] = keep(newest, record);
    changedIds.push(record.id);
    dirty = true;
    if (silent) continue;
    if (batch.baseline && change.kinds[0] !== 'created') continue;
    emitChange(previous as SourceRecord | undefined, record, change, !!hasher || !!snapshot?.hashed);
  }

  for (const deletion of batch.deletions) {
    const snapshot = snapshots[deletion.id];
    if (!snapshot && liveSince !== undefined && !deletion.kind && atOrAfter(deletion.deleted_at, liveSince)) {
      // Deleted since the live start before the first pass reached it: news, without a previous version.
      // (Created since the start as well: never seen, as between two polls — nothing to report.)
      const record: SourceRecord = deletion.record ?? { id: deletion.id, deleted_at: deletion.deleted_at };
      snapshots[deletion.id] = keep(deletion.deleted_at!, record);
      changedIds.push(deletion.id);
      dirty = true;
      if (atOrAfter(record.created_at, liveSince)) continue;
      const kinds = feed.lifecycle.filter((l) => atOrAfter(record[l.column], liveSince)).map((l) => l.set);
      for (const kind of kinds.length > 0 ? kinds : ['deleted'])
        events.push(makeEvent(feed, kind, record, timestamp, undefined, NO_SNAPSHOT));
      continue;
    }
    // Never seen (created and deleted between polls, or before the baseline): nothing to report.
    if (!snapshot || snapshot.record.deleted_at) continue;
    dirty = true;
    changedIds.push(deletion.id);
    // A hashed snapshot's HMACs are never sent: only its readable fields.
    const lastKnown = snapshot.hashed ? readable(snapshot.record) : (snapshot.record as SourceRecord);
    if (deletion.kind) {
      events.push(makeEvent(feed, deletion.kind, lastKnown, timestamp));
      delete snapshots[deletion.id];
      continue;
    }
    const deletedAt = deletion.deleted_at ?? timestamp;
    const record = deletion.record ?? { ...lastKnown, deleted_at: deletedAt };
    const previous = previousForm(snapshot);
    const change = diffRecord(previous, hasher ? hasher(record) : record, feed.lifecycle);
    snapshots[deletion.id] = keep(deletedAt > snapshot.version ? deletedAt : snapshot.version, record);
    if (change) emitChange(previous as SourceRecord, record, change, !!hasher || !!snapshot.hashed);
  }

  if (JSON.stringify(state.cursor) !== JSON.stringify(batch.cursor)) {
    state.cursor = batch.cursor;
    dirty = true;
  }
  return { events, dirty: dirty || events.length > 0, changedIds };
}
