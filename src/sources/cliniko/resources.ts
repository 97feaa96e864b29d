import type { LifecycleColumn } from '../types.js';

/**
 * One entry per Cliniko resource the bridge polls. Adding a resource is adding an entry here
 * (issue "The bridge end to end on Cliniko", Change detection). Facts from
 * shared/notes/cliniko-api.md, "Resources that matter for change events".
 */
export interface ClinikoResource {
  /** List path under `/v1`, also the key of the array in list responses. */
  path: string;
  /** Singular name used in event types. */
  name: string;
  lifecycle: readonly LifecycleColumn[];
  /**
   * Columns whose non-null rows list endpoints hide unless a filter names them; the poller adds
   * `q[]=<column>:*` for each so cancelled/archived records are seen.
   */
  hiddenColumns: readonly string[];
  /**
   * How deletions are found: `list` reads the old `/<path>/deleted` list, `filter` asks the main list
   * for `deleted_at` at or after the deletion cursor.
   */
  deletions: 'list' | 'filter';
}

const CANCELLED: LifecycleColumn = { column: 'cancelled_at', set: 'cancelled' };
const ARCHIVED: LifecycleColumn = { column: 'archived_at', set: 'archived', cleared: 'unarchived' };
const DELETED: LifecycleColumn = { column: 'deleted_at', set: 'deleted' };

export const CLINIKO_RESOURCES: readonly ClinikoResource[] = [
  { path: 'patients', name: 'patient', lifecycle: [ARCHIVED, DELETED], hiddenColumns: ['archived_at'], deletions: 'list' },
  { path: 'contacts', name: 'contact', lifecycle: [ARCHIVED, DELETED], hiddenColumns: ['archived_at'], deletions: 'filter' },
  {
    path: 'attendees',
    name: 'attendee',
    lifecycle: [CANCELLED, ARCHIVED, DELETED],
    hiddenColumns: ['cancelled_at', 'archived_at'],
    deletions: 'list',
  },
  {
    path: 'individual_appointments',
    name: 'individual_appointment',
    lifecycle: [CANCELLED, ARCHIVED, DELETED],
    hiddenColumns: ['cancelled_at', 'archived_at'],
    deletions: 'list',
  },
  {
    path: 'group_appointments',
    name: 'group_appointment',
    lifecycle: [ARCHIVED, DELETED],
    hiddenColumns: ['archived_at'],
    deletions: 'list',
  },
];

/** Paths accepted by `BRIDGE_RESOURCES`. */
export const CLINIKO_RESOURCE_PATHS = CLINIKO_RESOURCES.map((r) => r.path);

/** Every event type a resource can emit, in catalogue order. */
export function eventTypesOf(resource: Pick<ClinikoResource, 'name' | 'lifecycle'>): string[] {
  const suffixes = ['created', 'updated', ...resource.lifecycle.flatMap((l) => (l.cleared ? [l.set, l.cleared] : [l.set]))];
  return suffixes.map((s) => `${resource.name}.${s}`);
}
