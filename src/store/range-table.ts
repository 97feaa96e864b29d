import { compareIds } from './ids.js';
import { deepFreeze } from './page.js';

const yes = () => true;

/** A pending change's value: parsed from its text at the first read, frozen, and kept for later reads. */
function valueOf<V>(change: NonNullable<PendingChange>): V {
  return (change.parsed ??= deepFreeze(JSON.parse(change.text))) as V;
}

/**
 * A pending change's value for a whole-table walk (`entries`): the kept copy if a read made one,
 * else parsed for this walk only, so a sweep over every snapshot does not keep them all as objects.
 */
function parsedOnce<V>(change: NonNullable<PendingChange>): V {
  return (change.parsed ?? deepFreeze(JSON.parse(change.text))) as V;
}

/** Bucket files a checkpoint writes at once. */
const WRITE_CONCURRENCY = 4;
/** Bucket files a lookup reads at once: a read is partly waiting (open, read, close in libuv's pool). */
const READ_CONCURRENCY = 8;
/** Buckets a whole-table `scan` reads ahead: each is parsed whole, so fewer keep the heap's peak (RSS) low. */
const SCAN_READ_AHEAD = 2;

/**
 * One part file of a range table as the manifest lists it: the records whose id is at or above
 * `lo` (null: the lowest ids) and below the next bucket's `lo`.
 */
export interface BucketMeta {
  lo: string | null;
  file: string;
  /** Records in the file. */
  count: number;
  /** Records for which the table's `counted` predicate holds (live snapshots). */
  counted: number;
  /** Bytes of the file's JSON text before encoding. */
  bytes: number;
}

/** The JSON of a range table's part file. */
export interface BucketContent<V> {
  kind: 'range';
  table: string;
  lo: string | null;
  records: Record<string, V>;
}

/**
 * A change not yet checkpointed, as the table keeps it: the value's JSON text (what the journal line
 * and the bucket file hold), or null for a removal. Kept as text, not as the object: one serialisation
 * serves both writes, a caller's later mutation cannot reach it, and a first pass's many pending
 * records are strings that the garbage collector does not trace. A value that is read is parsed once
 * and kept (frozen) beside its text, as a delivery being attempted is read several times.
 */
export type PendingChange = { readonly text: string; readonly counted: boolean; parsed?: unknown } | null;

/** Changes taken by a checkpoint (`cut`), written by `write`, then made current by `switchTo`. */
export interface TableCut {
  changes: Map<string, PendingChange>;
}

export interface RangeTableOptions<V> {
  /** The part name prefix, e.g. `snap.cliniko.patients`; bucket files are `<name>.<n>.g<gen>.json`. */
  name: string;
  /** Reads a bucket file written earlier (the codec and lowdb adapter are the caller's). */
  read: (file: string) => Promise<BucketContent<V>>;
  /** Writes a bucket file atomically: its JSON text is the concatenation of `pieces`. */
  write: (file: string, pieces: string[]) => Promise<void>;
  /** A bucket is split when its JSON grows past this many bytes. */
  maxBucketBytes: number;
  /** Parsed buckets kept in memory for reads. */
  cacheBuckets: number;
  /** Counted per bucket (live snapshots), so counting needs no file read. */
  counted?: (value: V) => boolean;
}

/**
 * A map from id to value kept on disk as range-partitioned part files (buckets) that split as they
 * grow, so no file exceeds `maxBucketBytes` (plus one record) whatever the table's size, and a
 * checkpoint rewrites only the buckets whose records changed. In memory: the bucket list, the changes
 * since the last checkpoint (`dirty`; bounded by the journal size that triggers a checkpoint), the
 * changes a running checkpoint is writing (`flushing`), and a few parsed buckets (LRU).
 *
 * Ids are ordered by `compareIds` (numeric ids by value), so a first pass that reads by ascending id
 * fills one bucket at a time and a checkpoint during it writes one or two files.
 */
export class RangeTable<V> {
  private buckets: BucketMeta[];
  private dirty = new Map<string, PendingChange>();
  private flushing = new Map<string, PendingChange>();
  private readonly cache = new Map<string, Map<string, V>>();
  /** Bucket files parsed since the table was opened (a cache hit is not a read). */
  reads = 0;

  constructor(
    private readonly options: RangeTableOptions<V>,
    buckets: BucketMeta[] = [],
  ) {
    this.buckets = [...buckets];
  }

  /** The buckets as the manifest must list them after the last `switchTo`. */
  get bucketList(): readonly BucketMeta[] {
    return this.buckets;
  }

  get name(): string {
    return this.options.name;
  }

  /** Changed records held in memory until a checkpoint writes them. */
  get pendingCount(): number {
    return this.dirty.size + this.flushing.size;
  }

  /** Buckets parsed and kept for reads. */
  get cachedCount(): number {
    return this.cache.size;
  }

  /** Whether anything changed since the last cut. */
  get isDirty(): boolean {
    return this.dirty.size > 0;
  }

  /** The current values of these ids; absent ids have none. */
  async get(ids: Iterable<string>): Promise<Map<string, V>> {
    const out = new Map<string, V>();
    const byBucket = new Map<number, string[]>();
    for (const id of ids) {
      const change = this.changeOf(id);
      if (change !== undefined) {
        if (change !== null) out.set(id, valueOf<V>(change));
        continue;
      }
      const b = this.bucketOf(id);
      if (b < 0) continue;
      let list = byBucket.get(b);
      if (!list) byBucket.set(b, (list = []));
      list.push(id);
    }
    if (byBucket.size === 0) return out;
    if (byBucket.size === 1) {
      // The common case (one record, or a page of neighbours): no read-ahead machinery.
      const [b, list] = byBucket.entries().next().value!;
      const records = await this.load(this.buckets[b]!);
      for (const id of list) {
        const v = records.get(id);
        if (v !== undefined) out.set(id, deepFreeze(v));
      }
      return out;
    }
    const jobs = [...byBucket];
    const worker = async () => {
      for (let job = jobs.shift(); job; job = jobs.shift()) {
        const records = await this.load(this.buckets[job[0]]!);
        for (const id of job[1]) {
          const v = records.get(id);
          if (v !== undefined) out.set(id, deepFreeze(v));
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, jobs.length) }, worker));
    return out;
  }

  /** Sets (or with null removes) a value; durable once the journal line naming it is. Serialises `value` now. */
  put(id: string, value: V | null): void {
    this.dirty.set(id, value === null ? null : { text: JSON.stringify(value), counted: (this.options.counted ?? yes)(value) });
  }

  /** Every id and value, in id order within each bucket, changes included. Reads every bucket. */
  async *entries(): AsyncIterable<[string, V]> {
    const seen = new Set<string>();
    const buckets = this.buckets;
    // The next few buckets are read while this one's records are handed out.
    const ahead = new Map<number, Promise<Map<string, V>>>();
    for (let b = 0; b < buckets.length; b++) {
      for (let k = b; k < Math.min(buckets.length, b + READ_CONCURRENCY); k++) {
        if (ahead.has(k)) continue;
        const read = this.load(buckets[k]!);
        // A consumer that stops early leaves reads behind: their errors are not unhandled.
        read.catch(() => undefined);
        ahead.set(k, read);
      }
      const records = await ahead.get(b)!;
      ahead.delete(b);
      for (const [id, v] of records) {
        const change = this.changeOf(id);
        if (change === null) continue;
        seen.add(id);
        yield [id, change === undefined ? v : parsedOnce<V>(change)];
      }
    }
    for (const [id, v] of [...this.flushing, ...this.dirty]) {
      if (seen.has(id) || v === null) continue;
      seen.add(id);
      // The latest change wins: dirty overrides flushing.
      const latest = this.changeOf(id);
      if (latest !== null && latest !== undefined) yield [id, parsedOnce<V>(latest)];
    }
  }

  /**
   * Calls `fn` with every id and value, as `entries()` does, but without a promise per record: for
   * reading a whole table at start (the index tables). Buckets not cached are parsed, handed over and
   * dropped, never converted to maps.
   */
  async scan(fn: (id: string, value: V) => void): Promise<void> {
    const changed = this.dirty.size > 0 || this.flushing.size > 0;
    if (changed) {
      for await (const [id, v] of this.entries()) fn(id, v);
      return;
    }
    const buckets = this.buckets;
    const ahead = new Map<number, Promise<Map<string, V> | Record<string, V>>>();
    for (let b = 0; b < buckets.length; b++) {
      for (let k = b; k < Math.min(buckets.length, b + SCAN_READ_AHEAD); k++) {
        if (ahead.has(k)) continue;
        const cached = this.cache.get(buckets[k]!.file);
        const read = cached
          ? Promise.resolve(cached)
          : this.options.read(buckets[k]!.file).then((content) => {
              this.reads += 1;
              return content.records;
            });
        read.catch(() => undefined);
        ahead.set(k, read);
      }
      const records = await ahead.get(b)!;
      ahead.delete(b);
      if (records instanceof Map) for (const [id, v] of records) fn(id, v);
      else for (const id in records) fn(id, records[id]!);
    }
  }

  /** How many records, and how many pass `counted`. Reads only the buckets that changed records fall in. */
  async count(): Promise<{ count: number; counted: number }> {
    let count = 0;
    let counted = 0;
    for (const b of this.buckets) {
      count += b.count;
      counted += b.counted;
    }
    const changed = new Map<string, PendingChange>([...this.flushing, ...this.dirty]);
    if (changed.size === 0) return { count, counted };
    const before = await this.getFromBuckets([...changed.keys()]);
    const isCounted = this.options.counted ?? yes;
    for (const [id, now] of changed) {
      const was = before.get(id);
      if (was !== undefined) {
        count -= 1;
        if (isCounted(was)) counted -= 1;
      }
      if (now !== null) {
        count += 1;
        if (now.counted) counted += 1;
      }
    }
    return { count, counted };
  }

  /** Takes the changes since the last cut for a checkpoint; later changes go to the next one. */
  cut(): TableCut {
    const changes = this.dirty;
    this.dirty = new Map();
    // Reads keep seeing these until the checkpoint's files are current.
    for (const [id, v] of changes) this.flushing.set(id, v);
    return { changes };
  }

  /**
   * Writes the buckets the cut's changes fall in, as new files of generation `gen`, splitting any
   * that grew past the limit. With `everyBucket` all buckets are written, changed or not (a new
   * codec: `npm run store -- rekey`), still a few at a time. Nothing current changes until `switchTo`.
   * @returns the bucket list to record in the manifest, and the bytes written.
   */
  async write(cut: TableCut, gen: number, everyBucket = false): Promise<{ buckets: BucketMeta[]; bytes: number }> {
    const byBucket = new Map<number, Array<[string, PendingChange]>>();
    if (everyBucket) this.buckets.forEach((_, i) => byBucket.set(i, []));
    for (const entry of cut.changes) {
      const b = this.bucketOf(entry[0]);
      let list = byBucket.get(b);
      if (!list) byBucket.set(b, (list = []));
      list.push(entry);
    }
    const replaced = new Map<number, BucketMeta[]>();
    let bytes = 0;
    let serial = 0;
    const jobs = [...byBucket];
    // A few buckets at a time: their fsyncs overlap, their parsed records do not pile up in memory.
    const worker = async () => {
      for (let job = jobs.shift(); job; job = jobs.shift()) {
        const [b, changes] = job;
        const meta = b >= 0 ? this.buckets[b]! : null;
        const isCounted = this.options.counted ?? yes;
        const records = new Map<string, NonNullable<PendingChange>>();
        if (meta) for (const [id, v] of await this.load(meta, false)) records.set(id, { text: JSON.stringify(v), counted: isCounted(v) });
        for (const [id, v] of changes) {
          if (v === null) records.delete(id);
          else records.set(id, v);
        }
        const written = await this.writeBucket(meta?.lo ?? null, records, gen, () => serial++);
        for (const w of written) bytes += w.bytes;
        replaced.set(b, written);
      }
    };
    await Promise.all(Array.from({ length: WRITE_CONCURRENCY }, worker));
    const next: BucketMeta[] = [...(replaced.get(-1) ?? [])];
    this.buckets.forEach((meta, i) => next.push(...(replaced.get(i) ?? [meta])));
    // The lowest bucket covers every id below the next one's bound.
    if (next.length > 0 && next[0]!.lo !== null) next[0] = { ...next[0]!, lo: null };
    return { buckets: next, bytes };
  }

  /** Makes a checkpoint's buckets current (after its manifest is on disk) and forgets its changes. */
  switchTo(cut: TableCut, buckets: BucketMeta[]): void {
    this.buckets = buckets;
    this.cache.clear();
    for (const [id, v] of cut.changes) {
      // A later change to the same id is still pending in `dirty`; only this cut's value is done.
      if (this.flushing.get(id) === v) this.flushing.delete(id);
    }
  }

  /** A checkpoint failed: its changes stay for the next one. */
  abort(cut: TableCut): void {
    for (const [id, v] of cut.changes) if (!this.dirty.has(id)) this.dirty.set(id, v);
    for (const [id, v] of cut.changes) if (this.flushing.get(id) === v) this.flushing.delete(id);
  }

  /**
   * The pending (uncheckpointed) change of an id: its JSON text, null for a removal, undefined for
   * none. Handed back to `restore` to undo a later write.
   */
  peek(id: string): PendingChange | undefined {
    return this.changeOf(id);
  }

  /**
   * Puts back a change `peek` returned (undoing a transaction); undefined drops the pending change,
   * so the id reads as the last checkpoint has it.
   */
  restore(id: string, change: PendingChange | undefined): void {
    if (change === undefined) this.dirty.delete(id);
    else this.dirty.set(id, change);
  }

  /** Every file the table's current buckets use. */
  files(): string[] {
    return this.buckets.map((b) => b.file);
  }

  private changeOf(id: string): PendingChange | undefined {
    const d = this.dirty.get(id);
    if (d !== undefined || this.dirty.has(id)) return d ?? null;
    const f = this.flushing.get(id);
    if (f !== undefined || this.flushing.has(id)) return f ?? null;
    return undefined;
  }

  private async getFromBuckets(ids: string[]): Promise<Map<string, V>> {
    const out = new Map<string, V>();
    for (const id of ids) {
      const b = this.bucketOf(id);
      if (b < 0) continue;
      const v = (await this.load(this.buckets[b]!)).get(id);
      if (v !== undefined) out.set(id, v);
    }
    return out;
  }

  /** Index of the bucket an id falls in, or -1 when there is none yet. */
  private bucketOf(id: string): number {
    const list = this.buckets;
    if (list.length === 0) return -1;
    let lo = 0;
    let hi = list.length - 1;
    // The last bucket whose bound is at or below id; bucket 0 has no lower bound.
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      const bound = list[mid]!.lo;
      if (bound === null || compareIds(bound, id) <= 0) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private async load(meta: BucketMeta, keep = true): Promise<Map<string, V>> {
    const hit = this.cache.get(meta.file);
    if (hit) {
      this.cache.delete(meta.file);
      this.cache.set(meta.file, hit);
      return hit;
    }
    const content = await this.options.read(meta.file);
    this.reads += 1;
    const records = new Map(Object.entries(content.records));
    if (!keep) return records;
    this.cache.set(meta.file, records);
    while (this.cache.size > this.options.cacheBuckets) this.cache.delete(this.cache.keys().next().value!);
    return records;
  }

  /** Writes one bucket's records, split into several files when they are too large for one. */
  private async writeBucket(
    lo: string | null,
    records: Map<string, NonNullable<PendingChange>>,
    gen: number,
    next: () => number,
  ): Promise<BucketMeta[]> {
    if (records.size === 0) return [];
    const ids = [...records.keys()].sort(compareIds);
    const pieces = ids.map((id) => `${JSON.stringify(id)}:${records.get(id)!.text}`);
    const total = pieces.reduce((n, p) => n + p.length + 1, 0);
    // Split into pieces of 7/8 of the limit: room for their records to grow a little before a
    // bucket splits again, yet few files (a first pass appends by ascending id, and every file
    // written costs an open, fsync, rename and later unlink).
    const chunkBytes = total > this.options.maxBucketBytes ? (this.options.maxBucketBytes * 7) / 8 : Infinity;
    const out: BucketMeta[] = [];
    let start = 0;
    while (start < ids.length) {
      let end = start;
      let size = 0;
      while (end < ids.length && (end === start || size + pieces[end]!.length + 1 <= chunkBytes)) size += pieces[end++]!.length + 1;
      const bucketLo = start === 0 ? lo : ids[start]!;
      const head = `{"kind":"range","table":${JSON.stringify(this.options.name)},"lo":${JSON.stringify(bucketLo)},"records":{`;
      // Pieces, not one joined string: a string past 128 KiB is a large V8 object, costly to build.
      const parts: string[] = [head];
      let length = head.length + 2;
      for (let i = start; i < end; i++) {
        parts.push(i === start ? pieces[i]! : `,${pieces[i]!}`);
        length += pieces[i]!.length + (i === start ? 0 : 1);
      }
      parts.push('}}');
      const file = `${this.options.name}.${next()}.g${gen}.json`;
      await this.options.write(file, parts);
      let counted = 0;
      for (let i = start; i < end; i++) if (records.get(ids[i]!)!.counted) counted += 1;
      out.push({ lo: bucketLo, file, count: end - start, counted, bytes: length });
      start = end;
    }
    return out;
  }
}
