import { cancellation, hasColumn, writable, type Account, type ListPage, type ListQuery, type SimAccount } from './account.js';
import { SimHttpError } from './errors.js';
import type { Filter } from './filters.js';
import { randomFields, type GenerateContext } from './generate.js';
import { selectRows, type ListKind } from './list.js';
import { Prng } from './prng.js';
import { blankRecord, writeFields, type SimRecord } from './records.js';
import { columnValue, RESOURCE_SPECS, type ResourceSpec, type SimResource } from './resources.js';
import { rowComparator, sortRows, type SortKey } from './sorting.js';
import { toIsoSeconds } from './time.js';

/** Which resource a {@link GeneratedAccount} derives from record indices, and how many records it has. */
export interface GeneratedOptions {
  resource: SimResource;
  /** Records in the account before any change (e.g. 1,000,000). */
  count: number;
  /** Days their `created_at` values spread over, ending a day before the simulator starts (default 3,650). */
  spanDays?: number;
}

interface Deps extends GeneratedOptions {
  /** Every other resource, stored as usual. */
  inner: Account;
  now: () => number;
  seed: number;
  firstId: bigint;
}

const DAY_MS = 86_400_000;
/** Ids are `firstId + index × ID_STRIDE + a jitter below it`: increasing, never dense, as real ids. */
const ID_STRIDE = 1000n;
/** Columns whose base values increase strictly with the record index. */
const MONOTONIC = new Set(['id', 'created_at', 'updated_at']);
const RANGE_OPS = new Set(['>', '>=', '<', '<=']);
/** Patients that generated records (appointments) link to. */
const PATIENTS = 20_000;

/** Which base records a list may return: `[lo, hi)` by index minus `excluded`, or the indices `only`. */
interface BaseSet {
  lo: number;
  hi: number;
  /** Sorted ascending, inside `[lo, hi)`: changed records (served from the overlay) and `id:!=` values. */
  excluded: number[];
  /** For `id:=` filters: the few indices, sorted ascending (then `lo`, `hi` and `excluded` are unused). */
  only?: number[];
  desc: boolean;
}

/**
 * A simulated account whose one large resource (`resource`, e.g. a million individual appointments)
 * is not stored: record `i` is generated on demand from its index with a PRNG seeded by the index,
 * so the simulator process holds no records and every request for it sees the same values. Ids,
 * `created_at` and `updated_at` increase strictly with the index, so a filter on them is a binary
 * search and a list sorted by them is an index range. Records changed through the API or the helpers
 * live in a small overlay that shadows their generated version; created ones get the next indices.
 *
 * What it serves of that resource: lists filtered by `id`, `created_at`, `updated_at` and the
 * lifecycle columns (every generated record is live), sorted by a first key among `id`,
 * `created_at`, `updated_at`, paged as usual; single records; and writes. A filter or sort on
 * another column gets a 400 naming what the generated account supports. Every other resource is
 * served by the wrapped {@link Account}.
 */
export class GeneratedAccount implements SimAccount {
  readonly resource: SimResource;
  readonly count: number;
  private readonly spec: ResourceSpec;
  /** Changed or created records by id. */
  private readonly overlay = new Map<string, SimRecord>();
  /** Index of every overlay record that shadows (or extends) a generated one. */
  private readonly overlayIndex = new Map<string, number>();
  private readonly anchorMs: number;
  private readonly firstSecond: number;
  private readonly stepSeconds: number;
  private created = 0;
  private readonly patients = new Map<number, SimRecord>();

  constructor(private readonly deps: Deps) {
    const spec = RESOURCE_SPECS[deps.resource];
    if (spec.union || spec.activeColumn) throw new Error(`simulator: ${deps.resource} cannot be a generated resource`);
    if (!Number.isSafeInteger(deps.count) || deps.count < 0) throw new Error('simulator: generated count must be a whole number');
    this.resource = deps.resource;
    this.count = deps.count;
    this.spec = spec;
    this.anchorMs = Math.floor(deps.now() / 1000) * 1000;
    const span = Math.floor(((deps.spanDays ?? 3650) * DAY_MS) / 1000);
    this.stepSeconds = Math.max(1, Math.floor(span / Math.max(1, deps.count)));
    this.firstSecond = (this.anchorMs - DAY_MS) / 1000 - deps.count * this.stepSeconds;
  }

  get base(): string {
    return this.deps.inner.base;
  }

  /** The record with this id: its changed version, else the generated one. */
  find(resource: SimResource, id: string): SimRecord | undefined {
    if (resource !== this.resource) return this.deps.inner.find(resource, id);
    const changed = this.overlay.get(id);
    if (changed) return changed;
    const index = this.indexOf(id);
    return index === undefined || index >= this.count ? undefined : this.generate(index);
  }

  /** Record `index` as generated (ignoring changes). @throws RangeError outside the account. */
  generated(index: number): SimRecord {
    if (!Number.isInteger(index) || index < 0 || index >= this.count) throw new RangeError(`no generated record ${index}`);
    return this.generate(index);
  }

  /** The id of record `index`. */
  idAt(index: number): string {
    return (this.deps.firstId + BigInt(index) * ID_STRIDE + BigInt(mix(this.deps.seed ^ 0x5bd1e995, index) % 997)).toString();
  }

  listPage(resource: SimResource, query: ListQuery): ListPage {
    if (resource !== this.resource) return this.deps.inner.listPage(resource, query);
    const { kind, filters, sort, offset, limit } = query;
    const valueOf = (row: Record<string, unknown>, column: string) => columnValue(this.spec, row, column);
    const changed = sortRows(selectRows([...this.overlay.values()], this.spec, kind, filters), sort, valueOf);
    const base = this.baseSet(kind, filters, sort);
    const baseCount = !base ? 0 : base.only ? base.only.length : base.hi - base.lo - base.excluded.length;
    const total = baseCount + changed.length;
    const end = Math.min(total, offset + limit);
    if (offset >= end) return { rows: [], total };
    if (!base || baseCount === 0) return { rows: changed.slice(offset, end), total };

    // Merge the two ordered streams: changed record k sits at position k + (base records before it).
    const compare = rowComparator<SimRecord>(sort, valueOf);
    const positions = changed.map((row, k) => k + this.countBefore(base, baseCount, row, compare));
    let k = 0;
    while (k < changed.length && positions[k]! < offset) k++;
    const rows: SimRecord[] = [];
    for (let p = offset; p < end; p++) {
      if (k < changed.length && positions[k] === p) rows.push(changed[k++]!);
      else rows.push(this.generate(nth(base, baseCount, p - k)));
    }
    return { rows, total };
  }

  create(resource: SimResource, fields: Record<string, unknown> = {}, { randomize = true } = {}): SimRecord {
    if (resource !== this.resource) return this.deps.inner.create(resource, fields, { randomize });
    writable(resource);
    const index = this.count + this.created++;
    const at = toIsoSeconds(this.deps.now());
    const record = randomize
      ? { ...this.generate(index), created_at: at, updated_at: at }
      : blankRecord(resource, this.idAt(index), at, this.base);
    Object.assign(record, writeFields(resource, fields, this.base));
    this.keep(record, index);
    return record;
  }

  update(resource: SimResource, id: string, patch: Record<string, unknown>): SimRecord {
    if (resource !== this.resource) return this.deps.inner.update(resource, id, patch);
    writable(resource);
    return this.mutate(id, writeFields(resource, patch, this.base));
  }

  cancel(resource: 'attendees' | 'individual_appointments', id: string, reason?: number, note?: string): SimRecord {
    if (resource !== this.resource) return this.deps.inner.cancel(resource, id, reason, note);
    return this.mutate(id, cancellation(this.nowIso(), reason, note));
  }

  archive(resource: SimResource, id: string): SimRecord {
    if (resource !== this.resource) return this.deps.inner.archive(resource, id);
    hasColumn(resource, 'archived_at');
    return this.mutate(id, { archived_at: this.nowIso() });
  }

  unarchive(resource: SimResource, id: string): SimRecord {
    if (resource !== this.resource) return this.deps.inner.unarchive(resource, id);
    hasColumn(resource, 'archived_at');
    return this.mutate(id, { archived_at: null });
  }

  /** Soft delete: a generated resource always has `deleted_at` or is refused at construction. */
  remove(resource: SimResource, id: string): SimRecord {
    if (resource !== this.resource) return this.deps.inner.remove(resource, id);
    if (!this.spec.lifecycle.includes('deleted_at'))
      throw new SimHttpError(405, `${resource} rows cannot be deleted in a generated account`);
    return this.mutate(id, { deleted_at: this.nowIso() });
  }

  private mutate(id: string, changes: Record<string, unknown>): SimRecord {
    const record = this.find(this.resource, id);
    if (!record) throw new SimHttpError(404, `Couldn't find ${this.resource} with id ${id}`);
    Object.assign(record, changes, { updated_at: this.nowIso() });
    this.keep(record, this.indexOf(id)!);
    return record;
  }

  private keep(record: SimRecord, index: number): void {
    this.overlay.set(record.id, record);
    this.overlayIndex.set(record.id, index);
  }

  private nowIso(): string {
    return toIsoSeconds(this.deps.now());
  }

  /** The index of an id of this account, or undefined. */
  private indexOf(id: string): number | undefined {
    if (!/^\d+$/.test(id)) return undefined;
    const offset = BigInt(id) - this.deps.firstId;
    if (offset < 0n) return undefined;
    const index = Number(offset / ID_STRIDE);
    return index < this.count + this.created && this.idAt(index) === BigInt(id).toString() ? index : undefined;
  }

  private createdSecond(index: number): number {
    return this.firstSecond + index * this.stepSeconds;
  }

  /** Edited some time after creation, but before the next record was created: still strictly increasing. */
  private updatedSecond(index: number): number {
    const created = this.createdSecond(index);
    return index >= this.count ? created : created + (mix(this.deps.seed ^ 0x27d4eb2f, index) % this.stepSeconds);
  }

  /** A monotonic column of base record `index`, as stored. */
  private keyAt(index: number, column: string): string {
    if (column === 'id') return this.idAt(index);
    return toIsoSeconds((column === 'created_at' ? this.createdSecond(index) : this.updatedSecond(index)) * 1000);
  }

  private generate(index: number): SimRecord {
    const rng = new Prng(mix(this.deps.seed, index));
    const createdMs = this.createdSecond(index) * 1000;
    const record = blankRecord(this.resource, this.idAt(index), toIsoSeconds(createdMs), this.base);
    Object.assign(record, randomFields(this.resource, this.context(rng), createdMs));
    record.updated_at = toIsoSeconds(this.updatedSecond(index) * 1000);
    return record;
  }

  /** Generators link to a fixed small clinic and to patients that exist only as links and names. */
  private context(rng: Prng): GenerateContext {
    return {
      rng,
      base: this.base,
      nowMs: this.anchorMs,
      pickPatient: () => this.patient(rng.int(0, PATIENTS - 1)),
      pickBooking: () => undefined,
      pickLive: () => undefined,
      count: () => 0,
    };
  }

  /** Patient `n` of the clinic's {@link PATIENTS}, generated once: its id and name are all a link needs. */
  private patient(n: number): SimRecord {
    let patient = this.patients.get(n);
    if (!patient) {
      const id = (this.deps.firstId - 10_000_000n + BigInt(n) * 7n).toString();
      const context = { ...this.context(new Prng(mix(this.deps.seed ^ 0x1b873593, n))), pickPatient: () => undefined };
      patient = { id, created_at: '', updated_at: '', ...randomFields('patients', context, 0) };
      this.patients.set(n, patient);
    }
    return patient;
  }

  /**
   * The base records a list may return, before paging, or null for none: every generated record is
   * live, so lifecycle filters and old lists are decided once; monotonic filters narrow the range.
   * @throws SimHttpError 400 for a filter or sort the generated account cannot answer without a scan.
   */
  private baseSet(kind: ListKind, filters: readonly Filter[], sort: readonly SortKey[]): BaseSet | null {
    if (kind !== 'live') return null;
    let lo = 0;
    let hi = this.count;
    const excluded = new Set<number>();
    let only: Set<number> | undefined;
    for (const filter of filters) {
      const { column, op } = filter;
      if (!MONOTONIC.has(column)) {
        if (!(this.spec.lifecycle as readonly string[]).includes(column)) throw unsupported(this.resource, `filter by ${column}`);
        if (!filter.test(null)) return null;
        continue;
      }
      if (op === '*' || op === '?') continue;
      if (op === '!?') return null;
      if (RANGE_OPS.has(op)) {
        const passes = (i: number) => filter.test(this.keyAt(i, column));
        // Along the index, `>`/`>=` fail then pass and `<`/`<=` pass then fail.
        if (op.startsWith('>')) lo = Math.max(lo, firstIndex(0, this.count, passes));
        else
          hi = Math.min(
            hi,
            firstIndex(0, this.count, (i) => !passes(i)),
          );
      } else {
        // `id` equality: a few ids, or one excluded.
        const indices = filter.value.split(',').map((v) => this.indexOf(v.trim()));
        if (op === '=') {
          const set = new Set(indices.filter((i): i is number => i !== undefined && filter.test(this.idAt(i))));
          only = only ? new Set([...only].filter((i) => set.has(i))) : set;
        } else if (indices[0] !== undefined) excluded.add(indices[0]);
      }
    }
    if (hi <= lo) return null;
    for (const index of this.overlayIndex.values()) excluded.add(index);
    if (only) {
      const kept = [...only].filter((i) => i >= lo && i < hi && !excluded.has(i)).sort((a, b) => a - b);
      return kept.length === 0 ? null : this.ordered({ lo, hi, excluded: [], only: kept, desc: false }, sort);
    }
    const inRange = [...excluded].filter((i) => i >= lo && i < hi).sort((a, b) => a - b);
    return this.ordered({ lo, hi, excluded: inRange, desc: false }, sort);
  }

  private ordered(base: BaseSet, sort: readonly SortKey[]): BaseSet {
    const lead = sort[0];
    if (!lead || !MONOTONIC.has(lead.column)) throw unsupported(this.resource, `sort by ${lead?.column ?? 'nothing'}`);
    return { ...base, desc: lead.desc };
  }

  /** How many base records sort before `row` (a changed record), by binary search. */
  private countBefore(base: BaseSet, count: number, row: SimRecord, compare: (a: SimRecord, b: SimRecord) => number): number {
    return firstIndex(0, count, (j) => compare(this.generate(nth(base, count, j)), row) > 0);
  }
}

/** The `j`-th base record's index in list order. */
function nth(base: BaseSet, count: number, j: number): number {
  if (base.only) return base.only[base.desc ? count - 1 - j : j]!;
  let index = base.lo + (base.desc ? count - 1 - j : j);
  for (const e of base.excluded) {
    if (e <= index) index++;
    else break;
  }
  return index;
}

/** The first integer in `[lo, hi)` where `pred` holds, for a predicate false then true; `hi` if none. */
function firstIndex(lo: number, hi: number, pred: (i: number) => boolean): number {
  while (lo < hi) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (pred(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** A 32-bit hash of (seed, index) (murmur3's finaliser), so neighbouring records draw unrelated values. */
function mix(seed: number, index: number): number {
  let h = (Math.imul(index, 0x9e3779b1) ^ seed) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function unsupported(resource: SimResource, what: string): SimHttpError {
  return new SimHttpError(
    400,
    `The generated ${resource} account cannot ${what}: it filters by id, created_at, updated_at and lifecycle columns and sorts by id, created_at or updated_at first.`,
  );
}
