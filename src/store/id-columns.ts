/** Small strings that repeat across many entries (types, resources, subscription ids), numbered once. */
export class Interner {
  private readonly numbers = new Map<string, number>();
  private readonly strings: string[] = [];

  /** The number of `s`, giving it the next one if it is new. */
  number(s: string): number {
    let n = this.numbers.get(s);
    if (n === undefined) {
      n = this.strings.length;
      this.strings.push(s);
      this.numbers.set(s, n);
    }
    return n;
  }

  /** The number of `s`, or -1 when no entry has it. */
  find(s: string): number {
    return this.numbers.get(s) ?? -1;
  }

  string(n: number): string {
    return this.strings[n]!;
  }
}

/** Index of the first id in `ids` (sorted ascending, plain string order) that is not below `id`. */
export function lowerBound(ids: readonly string[], id: string): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ids[mid]! < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Rows of parallel arrays ordered by ascending id (plain string order): the part the event and
 * delivery indexes share. The owner keeps its columns and writes a row's values itself; this finds
 * rows by binary search over `ids` (no map per row), opens a row for a new id and removes rows.
 */
export class IdColumns {
  readonly ids: string[] = [];

  /**
   * @param columns the owner's other columns, each with the placeholder a new row gets until the
   *   owner writes it (of the column's own type, so the arrays keep one element kind)
   */
  constructor(private readonly columns: ReadonlyArray<readonly [column: unknown[], blank: unknown]>) {}

  get length(): number {
    return this.ids.length;
  }

  /** Position of `id`, or -1. */
  position(id: string): number {
    const i = lowerBound(this.ids, id);
    return i < this.ids.length && this.ids[i] === id ? i : -1;
  }

  /**
   * The row for `id`: its position, with a new row inserted in id order when the id is new (appending
   * a newer id, the usual case, costs no shift). `existed` says whether the row was there before.
   */
  row(id: string): { i: number; existed: boolean } {
    const n = this.ids.length;
    const i = n > 0 && this.ids[n - 1]! < id ? n : lowerBound(this.ids, id);
    if (i < n && this.ids[i] === id) return { i, existed: true };
    if (i < n) {
      this.ids.splice(i, 0, id);
      for (const [column, blank] of this.columns) column.splice(i, 0, blank);
    } else {
      this.ids.push(id);
      for (const [column, blank] of this.columns) column.push(blank);
    }
    return { i, existed: false };
  }

  /** Removes the rows of these ids in one pass over the columns (one splice for a single id); `removed` sees each row before it goes. */
  remove(ids: ReadonlySet<string>, removed: (i: number) => void = () => undefined): void {
    if (ids.size === 0) return;
    if (ids.size === 1) {
      const i = this.position(ids.values().next().value!);
      if (i < 0) return;
      removed(i);
      this.ids.splice(i, 1);
      for (const [column] of this.columns) column.splice(i, 1);
      return;
    }
    let w = 0;
    for (let r = 0; r < this.ids.length; r++) {
      if (ids.has(this.ids[r]!)) {
        removed(r);
        continue;
      }
      this.ids[w] = this.ids[r]!;
      for (const [column] of this.columns) column[w] = column[r];
      w += 1;
    }
    this.ids.length = w;
    for (const [column] of this.columns) column.length = w;
  }
}
