import type { SimRecord } from './records.js';
import { rowComparator, sortRows, type SortKey } from './sorting.js';

// Above this many changed rows a full re-sort is cheaper than placing each one.
const MAX_INCREMENTAL = 512;

/**
 * One table kept sorted by one `sort`, so a list request filters an ordered array instead of
 * sorting. Keyset paging (`updated_at >= x` sorted by `updated_at,id`) asks a new query on every
 * page, and churn changes records between pages; re-sorting 100k rows each time would dominate.
 * Changed rows are re-placed by binary search on next use.
 */
export class SortedView {
  private sorted: SimRecord[] | undefined;
  private readonly dirty = new Set<SimRecord>();
  private readonly compare: (a: SimRecord, b: SimRecord) => number;

  constructor(
    private readonly table: readonly SimRecord[],
    private readonly keys: readonly SortKey[],
    private readonly valueOf: (row: SimRecord, column: string) => unknown,
  ) {
    this.compare = rowComparator(keys, valueOf);
  }

  /** Marks a row as new or changed. */
  touch(row: SimRecord): void {
    if (this.sorted === undefined) return;
    this.dirty.add(row);
    if (this.dirty.size > MAX_INCREMENTAL) {
      this.sorted = undefined;
      this.dirty.clear();
    }
  }

  /** Forgets a row deleted from the table. */
  remove(row: SimRecord): void {
    this.dirty.delete(row);
    if (this.sorted !== undefined) this.sorted = this.sorted.filter((r) => r !== row);
  }

  /** Every row of the table, in order. Not a copy: do not modify. */
  rows(): readonly SimRecord[] {
    if (this.sorted === undefined) {
      this.sorted = sortRows(this.table, this.keys, this.valueOf);
      return this.sorted;
    }
    if (this.dirty.size > 0) {
      // Take every changed row out first: binary search needs the rest to be in order.
      const sorted = this.sorted.filter((row) => !this.dirty.has(row));
      for (const row of this.dirty) sorted.splice(this.insertionPoint(sorted, row), 0, row);
      this.sorted = sorted;
      this.dirty.clear();
    }
    return this.sorted;
  }

  private insertionPoint(sorted: readonly SimRecord[], row: SimRecord): number {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.compare(sorted[mid] as SimRecord, row) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
