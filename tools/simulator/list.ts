import type { Filter } from './filters.js';
import type { SimRecord } from './records.js';
import { columnValue, DELETED_LIST_COLUMNS, type ColumnType, type LifecycleColumn, type OldList, type ResourceSpec } from './resources.js';

/** `live` is `GET /v1/{resource}`; the others are the older docs' extra lists. */
export type ListKind = 'live' | OldList;

const REQUIRED_COLUMN: Readonly<Record<Exclude<OldList, 'inactive'>, LifecycleColumn>> = {
  deleted: 'deleted_at',
  cancelled: 'cancelled_at',
  archived: 'archived_at',
};

/** Columns a list accepts in `q[]`: old `/deleted` lists take only `id` and `deleted_at`. */
export function filterColumns(spec: ResourceSpec, kind: ListKind): Readonly<Record<string, ColumnType>> {
  return kind === 'deleted' ? DELETED_LIST_COLUMNS : spec.columns;
}

/**
 * The records a list returns, in order, before paging (Cliniko API docs, "Lists"):
 * - `live` hides records with any lifecycle column set unless a filter names that column;
 * - `cancelled`/`archived` return records with that column set, still hiding the others unless named;
 * - `deleted` returns every record with `deleted_at` set;
 * - with an `activeColumn` (practitioners), `live` shows the active rows and `inactive` the others.
 * `rows` come already sorted and keep their order; records are not copied.
 */
export function selectRows(rows: readonly SimRecord[], spec: ResourceSpec, kind: ListKind, filters: readonly Filter[]): SimRecord[] {
  const named = new Set(filters.map((f) => f.column));
  const required = kind === 'live' || kind === 'inactive' ? undefined : REQUIRED_COLUMN[kind];
  const hidden = kind === 'deleted' ? [] : spec.lifecycle.filter((c) => c !== required && !named.has(c));
  const active = spec.activeColumn;
  const wantActive = kind !== 'inactive';
  const matched: SimRecord[] = [];
  // Plain loops: this runs over every stored record (100k in benchmarks).
  rows: for (const row of rows) {
    if (required !== undefined && isNull(row[required])) continue;
    if (active !== undefined && (row[active] !== false) !== wantActive) continue;
    for (const column of hidden) if (!isNull(row[column])) continue rows;
    for (const filter of filters) if (!filter.test(columnValue(spec, row, filter.column))) continue rows;
    matched.push(row);
  }
  return matched;
}

function isNull(value: unknown): boolean {
  return value === null || value === undefined;
}
