import type { LifecycleColumn } from '../sources/types.js';

/** What changed in one record: event type suffixes, and the old values of the changed fields. */
export interface RecordChange {
  /** e.g. `['updated']`, `['cancelled']`, `['archived', 'cancelled']`, `['created']`. */
  kinds: string[];
  /** Old values of every top-level field that differs; absent for `created`. */
  previous_attributes?: Record<string, unknown>;
}

/**
 * Compares a record with its snapshot (issue "The bridge end to end on Cliniko", Change detection).
 * - no snapshot → `created`;
 * - no field differs → `null` (nothing is emitted for a re-read that changed nothing);
 * - a lifecycle column set (`cancelled_at`, `archived_at`, `deleted_at`) or cleared where the column
 *   names an event (`archived_at` → `unarchived`) → those events, replacing `updated`;
 * - otherwise → `updated`.
 * Fields are compared by their JSON text: records come from JSON and keep the server's key order.
 */
export function diffRecord(
  previous: Record<string, unknown> | undefined,
  current: Record<string, unknown>,
  lifecycle: readonly LifecycleColumn[],
): RecordChange | null {
  if (!previous) return { kinds: ['created'] };

  const previous_attributes: Record<string, unknown> = {};
  const keys = new Set([...Object.keys(previous), ...Object.keys(current)]);
  for (const key of keys) {
    if (JSON.stringify(previous[key]) !== JSON.stringify(current[key])) previous_attributes[key] = previous[key] ?? null;
  }
  if (Object.keys(previous_attributes).length === 0) return null;

  const kinds: string[] = [];
  for (const { column, set, cleared } of lifecycle) {
    if (!(column in previous_attributes)) continue;
    const was = previous[column] ?? null;
    const now = current[column] ?? null;
    if (was === null && now !== null) kinds.push(set);
    else if (was !== null && now === null && cleared) kinds.push(cleared);
  }
  return { kinds: kinds.length > 0 ? kinds : ['updated'], previous_attributes };
}
