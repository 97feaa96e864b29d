import { describe, expect, it } from 'vitest';
import { applyBatch } from '../src/poller/record.js';
import type { ResourceState, Snapshot } from '../src/store/schema.js';
import { CLINIKO_RESOURCES } from '../src/sources/cliniko/resources.js';
import type { Batch, ChangeFeed, SourceRecord } from '../src/sources/types.js';

/**
 * How a change to a record the bridge has no snapshot of is reported on a resource started live
 * (issue "Live from the first minute"): the pure part, `applyBatch` with `liveSince`.
 */
const spec = CLINIKO_RESOURCES.find((r) => r.path === 'individual_appointments')!;
const feed: ChangeFeed = {
  source: 'cliniko',
  resource: spec.path,
  eventPrefix: spec.name,
  lifecycle: spec.lifecycle,
  versionField: 'updated_at',
  read: async function* () {},
  // A transition-based domain event, as Cliniko's `rescheduled`: fires whenever it is asked.
  deriveEvents: (previous) => (previous ? [{ kind: 'rescheduled' }] : []),
};
const LIVE = '2026-11-23T06:50:00Z';
const BEFORE = '2026-10-01T09:00:00Z';
const AFTER = '2026-11-23T06:51:00Z';

function appointment(fields: Partial<SourceRecord>): SourceRecord {
  return { id: '1', created_at: BEFORE, updated_at: AFTER, cancelled_at: null, archived_at: null, deleted_at: null, notes: 'n', ...fields };
}

function apply(batch: Partial<Batch>, opts: { snapshots?: Record<string, Snapshot>; backfill?: boolean } = {}) {
  const state: ResourceState = { cursor: null, last_poll_at: null, last_success_at: null, last_error: null };
  const snapshots = opts.snapshots ?? {};
  const applied = applyBatch({
    feed,
    batch: { records: [], deletions: [], cursor: null, baseline: false, ...batch },
    state,
    snapshots,
    backfill: opts.backfill ?? false,
    timestamp: '2026-11-23T06:52:00.000Z',
    liveSince: LIVE,
  });
  return { ...applied, snapshots, types: applied.events.map((e) => e.payload.type) };
}

describe('a change to a record without a snapshot, on a resource started live', () => {
  it('is .created, like any new record, when created at or after the live start', () => {
    const { events, types, snapshots } = apply({ records: [appointment({ created_at: LIVE, updated_at: LIVE })] });
    expect(types).toEqual(['individual_appointment.created']);
    expect(events[0]!.payload.data).not.toHaveProperty('previous_attributes');
    expect(events[0]!.payload.data).not.toHaveProperty('snapshot');
    expect(snapshots['1']?.version).toBe(LIVE);
  });

  it('is .updated with previous_attributes null and snapshot "none" when created before, and no domain event', () => {
    const { events, types, snapshots } = apply({ records: [appointment({})] });
    expect(types).toEqual(['individual_appointment.updated']);
    expect(events[0]!.payload.data.previous_attributes).toBeNull();
    expect(events[0]!.payload.data.snapshot).toBe('none');
    expect(snapshots['1']?.version).toBe(AFTER);
  });

  it('is the lifecycle event whose column was set at or after the start', () => {
    expect(apply({ records: [appointment({ cancelled_at: AFTER })] }).types).toEqual(['individual_appointment.cancelled']);
    // Cancelled before the start, edited since: an update of a cancelled appointment.
    expect(apply({ records: [appointment({ cancelled_at: BEFORE })] }).types).toEqual(['individual_appointment.updated']);
  });

  it('is left to the background first pass when its version is from before the start', () => {
    const { events, snapshots, dirty } = apply({ records: [appointment({ updated_at: BEFORE })] });
    expect(events).toEqual([]);
    expect(snapshots).toEqual({});
    expect(dirty).toBe(false);
  });

  it('is .created with BRIDGE_BACKFILL, which reports every existing record as created', () => {
    const { events, types } = apply({ records: [appointment({})] }, { backfill: true });
    expect(types).toEqual(['individual_appointment.created']);
    expect(events[0]!.payload.data).not.toHaveProperty('snapshot');
  });

  it('a deletion since the start is .deleted without a previous version; one from before is not news', () => {
    const deleted = apply({ deletions: [{ id: '1', deleted_at: AFTER }] });
    expect(deleted.types).toEqual(['individual_appointment.deleted']);
    expect(deleted.events[0]!.payload.data).toMatchObject({
      previous_attributes: null,
      snapshot: 'none',
      object: { id: '1', deleted_at: AFTER },
    });
    expect(deleted.snapshots['1']?.version).toBe(AFTER);
    expect(apply({ deletions: [{ id: '1', deleted_at: BEFORE }] }).events).toEqual([]);
  });

  it('with a snapshot, is diffed as always: previous_attributes and domain events', () => {
    const previous = appointment({ updated_at: BEFORE, notes: 'old' });
    const { events, types } = apply({ records: [appointment({})] }, { snapshots: { '1': { version: BEFORE, record: previous } } });
    expect(types).toEqual(['individual_appointment.updated', 'individual_appointment.rescheduled']);
    expect(events[0]!.payload.data.previous_attributes).toEqual({ notes: 'old', updated_at: BEFORE });
    expect(events[0]!.payload.data).not.toHaveProperty('snapshot');
  });

  it('a first-pass page (baseline) never emits and never replaces a newer snapshot', () => {
    const newer: Snapshot = { version: AFTER, record: appointment({}) };
    const { events, snapshots } = apply(
      { records: [appointment({ updated_at: BEFORE, notes: 'old' })], baseline: true },
      { snapshots: { '1': newer } },
    );
    expect(events).toEqual([]);
    expect(snapshots['1']).toBe(newer);
    const fresh = apply({ records: [appointment({ updated_at: BEFORE })], baseline: true });
    expect(fresh.events).toEqual([]);
    expect(fresh.snapshots['1']?.version).toBe(BEFORE);
  });
});
