import { IdColumns, Interner } from './id-columns.js';

/**
 * What listing and filtering events needs of one event, without its body. As kept on disk in the
 * event index table (one small tuple per event id): `[type, timestamp, resource, record_id]`.
 */
export type EventIndexEntry = readonly [type: string, timestamp: string, resource: string, record_id: string];

/**
 * Every retained event's listing fields, in memory, columnar: one array per field, positions in
 * ascending id (detection) order. Types and resources are numbered (a handful of distinct strings),
 * times are epoch milliseconds, so an event costs its id and record id strings plus four array slots
 * (about 130 bytes) instead of an object and five strings (docs/performance.md has the measurement).
 * Lookup by id is a binary search over the sorted ids, so there is no map per event either.
 */
export class EventIndex {
  private readonly types: number[] = [];
  private readonly times: number[] = [];
  private readonly resources: number[] = [];
  private readonly records: string[] = [];
  private readonly rows = new IdColumns([
    [this.types, 0],
    [this.times, 0],
    [this.resources, 0],
    [this.records, ''],
  ]);
  private readonly strings = new Interner();

  get length(): number {
    return this.rows.length;
  }

  /** Position of `id`, or -1. */
  position(id: string): number {
    return this.rows.position(id);
  }

  has(id: string): boolean {
    return this.position(id) >= 0;
  }

  /** The stored instance of an id equal to `id` (so other indexes share one string), or `id` itself. */
  canonical(id: string): string {
    const i = this.position(id);
    return i >= 0 ? this.rows.ids[i]! : id;
  }

  idAt(i: number): string {
    return this.rows.ids[i]!;
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
    const { i } = this.rows.row(id);
    this.types[i] = this.strings.number(type);
    this.times[i] = Date.parse(timestamp);
    this.resources[i] = this.strings.number(resource);
    this.records[i] = record;
  }

  /** Removes these events (retention, an undone transaction): one pass over the columns. */
  remove(ids: ReadonlySet<string>): void {
    this.rows.remove(ids);
  }
}
