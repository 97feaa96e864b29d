/**
 * What listing and filtering events needs of one event, without its body. As kept on disk in the
 * event index table (one small tuple per event id): `[type, timestamp, resource, record_id]`.
 */
export type EventIndexEntry = readonly [type: string, timestamp: string, resource: string, record_id: string];

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
 * Every retained event's listing fields, in memory, columnar: one array per field, positions in
 * ascending id (detection) order. Types and resources are numbered (a handful of distinct strings),
 * times are epoch milliseconds, so an event costs its id and record id strings plus four array slots
 * (about 130 bytes) instead of an object and five strings (docs/performance.md has the measurement).
 * Lookup by id is a binary search over the sorted ids, so there is no map per event either.
 */
export class EventIndex {
  private ids: string[] = [];
  private types: number[] = [];
  private times: number[] = [];
  private resources: number[] = [];
  private records: string[] = [];
  private readonly strings = new Interner();

  get length(): number {
    return this.ids.length;
  }

  /** Position of `id`, or -1. */
  position(id: string): number {
    const i = lowerBound(this.ids, id);
    return i < this.ids.length && this.ids[i] === id ? i : -1;
  }

  has(id: string): boolean {
    return this.position(id) >= 0;
  }

  /** The stored instance of an id equal to `id` (so other indexes share one string), or `id` itself. */
  canonical(id: string): string {
    const i = this.position(id);
    return i >= 0 ? this.ids[i]! : id;
  }

  idAt(i: number): string {
    return this.ids[i]!;
  }

  typeAt(i: number): string {
    return this.strings.string(this.types[i]!);
  }

  /** Detection time in epoch milliseconds. */
  timeAt(i: number): number {
    return this.times[i]!;
  }

  /** The resource's number (compare with `resourceNumber`), so a filter compares integers. */
  resourceAt(i: number): number {
    return this.resources[i]!;
  }

  recordAt(i: number): string {
    return this.records[i]!;
  }

  /** The number `resourceAt` gives events of `resource`, or -1 when no event has it. */
  resourceNumber(resource: string): number {
    return this.strings.find(resource);
  }

  /** Adds (or replaces) an event; in id order, so appending a newer event is O(1). */
  set(id: string, [type, timestamp, resource, record]: EventIndexEntry): void {
    const n = this.ids.length;
    let i = n > 0 && this.ids[n - 1]! < id ? n : lowerBound(this.ids, id);
    const replace = i < n && this.ids[i] === id;
    if (!replace && i < n) {
      this.ids.splice(i, 0, id);
      this.types.splice(i, 0, 0);
      this.times.splice(i, 0, 0);
      this.resources.splice(i, 0, 0);
      this.records.splice(i, 0, '');
    } else if (replace) {
      id = this.ids[i]!;
    } else i = n;
    this.ids[i] = id;
    this.types[i] = this.strings.number(type);
    this.times[i] = Date.parse(timestamp);
    this.resources[i] = this.strings.number(resource);
    this.records[i] = record;
  }

  /** Removes these events (retention, an undone transaction): one pass over the columns. */
  remove(ids: ReadonlySet<string>): void {
    if (ids.size === 0) return;
    if (ids.size === 1) {
      const i = this.position(ids.values().next().value!);
      if (i < 0) return;
      for (const col of [this.ids, this.types, this.times, this.resources, this.records] as unknown[][]) col.splice(i, 1);
      return;
    }
    let w = 0;
    for (let r = 0; r < this.ids.length; r++) {
      if (ids.has(this.ids[r]!)) continue;
      this.ids[w] = this.ids[r]!;
      this.types[w] = this.types[r]!;
      this.times[w] = this.times[r]!;
      this.resources[w] = this.resources[r]!;
      this.records[w] = this.records[r]!;
      w += 1;
    }
    for (const col of [this.ids, this.types, this.times, this.resources, this.records] as unknown[][]) col.length = w;
  }
}
