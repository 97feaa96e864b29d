import { SimHttpError } from './errors.js';
import type { Filter } from './filters.js';
import { randomFields, type GenerateContext } from './generate.js';
import { IdSequence } from './ids.js';
import { selectRows, type ListKind } from './list.js';
import type { Prng } from './prng.js';
import { blankRecord, CANCELLATION_REASONS, linkTo, writeFields, type SimRecord } from './records.js';
import { columnValue, RESOURCE_SPECS, SIM_RESOURCES, type SimResource } from './resources.js';
import { SortedView } from './sorted-view.js';
import { sortSignature, type SortKey } from './sorting.js';
import { toIsoSeconds } from './time.js';

export interface AccountOptions {
  now: () => number;
  rng: Prng;
  firstId: bigint;
  /** API base used in stored links, e.g. `https://api.au1.cliniko.com/v1`. */
  base: string;
}

interface Table {
  /** In insertion (id) order. Records are never removed: deletes are soft. */
  rows: SimRecord[];
  byId: Map<string, SimRecord>;
  /** The table kept sorted by each `sort` asked for recently, by sort signature. */
  views: Map<string, SortedView>;
}

const YEAR_MS = 365 * 86_400_000;
// Parents first: settings, then patients, then what links to them (appointments to patients and
// practitioners, attendees to appointments, invoice items to invoices).
const SEED_ORDER: readonly SimResource[] = [
  'users',
  'businesses',
  'taxes',
  'billable_items',
  'appointment_types',
  'practitioners',
  'concession_types',
  'concession_prices',
  'products',
  'referral_source_types',
  'services',
  'daily_availabilities',
  'availability_blocks',
  'patients',
  'contacts',
  'relationships',
  'patient_cases',
  'medical_alerts',
  'individual_appointments',
  'group_appointments',
  'unavailable_blocks',
  'attendees',
  'invoices',
  'invoice_items',
  'treatment_notes',
  'patient_forms',
  'patient_attachments',
  'communications',
  'stock_adjustments',
];
const CACHE_ENTRIES = 16;
const VIEWS_PER_TABLE = 8;

/** A list request: which list, its filters and sort, and the page (`offset`, at most `limit` rows). */
export interface ListQuery {
  kind: ListKind;
  filters: readonly Filter[];
  sort: readonly SortKey[];
  offset: number;
  limit: number;
}

/** One page of a list and the size of the whole list (`total_entries`). */
export interface ListPage {
  rows: SimRecord[];
  total: number;
}

/**
 * What the routes (app.ts) need of an account: {@link Account} stores every record;
 * `GeneratedAccount` (generated.ts) derives one large resource's records from their index.
 */
export interface SimAccount {
  /** API base used in links, e.g. `https://api.au1.cliniko.com/v1`. */
  readonly base: string;
  find(resource: SimResource, id: string): SimRecord | undefined;
  /** One page of a list, in order, and the list's length. */
  listPage(resource: SimResource, query: ListQuery): ListPage;
  create(resource: SimResource, fields?: Record<string, unknown>, options?: { randomize?: boolean }): SimRecord;
  update(resource: SimResource, id: string, patch: Record<string, unknown>): SimRecord;
  cancel(resource: 'attendees' | 'individual_appointments', id: string, reason?: number, note?: string): SimRecord;
  archive(resource: SimResource, id: string): SimRecord;
  unarchive(resource: SimResource, id: string): SimRecord;
  remove(resource: SimResource, id: string): SimRecord;
}

/**
 * One simulated Cliniko account: the records of every resource and the mutations the API and the
 * tests make. Every mutation stamps `updated_at` with the current clock second and is visible to the
 * next list request. Methods return stored records, not copies: callers outside the simulator get
 * copies from `ClinikoSimulator`.
 */
export class Account implements SimAccount {
  private readonly tables = {} as Record<SimResource, Table>;
  private readonly ids: IdSequence;
  private readonly cache = new Map<string, SimRecord[]>();
  private latestCreatedMs = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: AccountOptions) {
    for (const resource of SIM_RESOURCES) this.tables[resource] = { rows: [], byId: new Map(), views: new Map() };
    this.ids = new IdSequence(options.firstId, options.rng);
  }

  get base(): string {
    return this.options.base;
  }

  find(resource: SimResource, id: string): SimRecord | undefined {
    return this.tables[resource].byId.get(id);
  }

  rows(resource: SimResource): readonly SimRecord[] {
    return this.tables[resource].rows;
  }

  /**
   * A new record created now: realistic random fields overlaid by `fields`, or with `randomize:
   * false` Cliniko's blank defaults plus `fields` (what an API create does).
   */
  create(resource: SimResource, fields: Record<string, unknown> = {}, { randomize = true } = {}): SimRecord {
    return this.insert(resource, this.options.now(), fields, randomize);
  }

  /** Applies write fields and bumps `updated_at`. @throws SimHttpError 404 for an unknown id. */
  update(resource: SimResource, id: string, patch: Record<string, unknown>): SimRecord {
    writable(resource);
    const changes = writeFields(resource, patch, this.base);
    this.derivePatientName(resource, changes);
    return this.mutate(resource, id, changes);
  }

  /** Cancels with a reason code (Cliniko API docs, "Cancellation reasons"). */
  cancel(resource: 'attendees' | 'individual_appointments', id: string, reason = 50, note?: string): SimRecord {
    return this.mutate(resource, id, cancellation(this.nowIso(), reason, note));
  }

  archive(resource: SimResource, id: string): SimRecord {
    hasColumn(resource, 'archived_at');
    return this.mutate(resource, id, { archived_at: this.nowIso() });
  }

  unarchive(resource: SimResource, id: string): SimRecord {
    hasColumn(resource, 'archived_at');
    return this.mutate(resource, id, { archived_at: null });
  }

  /**
   * Soft delete where the resource has `deleted_at` (the record moves to the `/deleted` list);
   * otherwise the row is gone for good, as Cliniko deletes settings such as taxes.
   */
  remove(resource: SimResource, id: string): SimRecord {
    writable(resource);
    if (RESOURCE_SPECS[resource].lifecycle.includes('deleted_at')) return this.mutate(resource, id, { deleted_at: this.nowIso() });
    const record = this.find(resource, id);
    if (!record) throw new SimHttpError(404, `Couldn't find ${resource} with id ${id}`);
    const table = this.tables[resource];
    table.rows.splice(table.rows.indexOf(record), 1);
    table.byId.delete(id);
    for (const view of table.views.values()) view.remove(record);
    this.cache.clear();
    return record;
  }

  /** A merge: the patient gets `merged_at` and a link to the patient it was merged into. */
  merge(id: string, intoId: string): SimRecord {
    if (!this.find('patients', intoId)) throw new SimHttpError(404, `Couldn't find patients with id ${intoId}`);
    return this.mutate('patients', id, { merged_at: this.nowIso(), merged_with_patient: linkTo(this.base, 'patients', intoId) });
  }

  /**
   * Adds generated records. Their `created_at` values spread over the year before now (never before
   * records already present), in id order, with occasional same-second bursts as bulk imports and
   * repeat bookings produce; some were edited later. All seeded records are live (no lifecycle
   * column set), so a list's `total_entries` equals the count seeded.
   */
  seed(counts: Partial<Record<SimResource, number>>): void {
    const nowMs = this.options.now();
    const endMs = nowMs - 1000;
    const startMs = Math.min(Math.max(this.latestCreatedMs + 1000, nowMs - YEAR_MS), endMs);
    const { rng } = this.options;
    for (const resource of SEED_ORDER) {
      const count = counts[resource] ?? 0;
      if (count <= 0) continue;
      const times: number[] = [];
      for (let i = 0; i < count; i++) times.push(rng.int(startMs, endMs));
      times.sort((a, b) => a - b);
      for (let i = 1; i < times.length; i++) {
        if (rng.chance(0.1)) times[i] = times[i - 1] as number;
      }
      for (const createdMs of times) {
        const record = this.insert(resource, createdMs, {});
        // Some records were edited after creation, so updated_at order differs from created_at order.
        if (rng.chance(0.4)) {
          record.updated_at = toIsoSeconds(rng.int(createdMs, endMs));
          this.changed(resource, record);
        }
      }
    }
  }

  /**
   * The full, ordered result of a list before paging. Results are cached until the next mutation,
   * so offset paging through a large list filters once; each sort order is kept up to date across
   * mutations, so a new query only filters.
   */
  list(resource: SimResource, kind: ListKind, filters: readonly Filter[], sort: readonly SortKey[]): SimRecord[] {
    const spec = RESOURCE_SPECS[resource];
    // Range filters on the leading, ascending, never-null sort column (keyset paging: `updated_at >= x`
    // sorted `updated_at,id`) are applied by binary search on the list filtered by everything else,
    // so each page of a keyset walk costs O(log n) instead of a scan of every record.
    const lead = sort[0];
    const boundable =
      lead !== undefined && !lead.desc && (NEVER_NULL.has(lead.column) || (kind === 'deleted' && lead.column === 'deleted_at'));
    const bounds = boundable ? filters.filter((f) => f.column === lead.column && RANGE_OPS.has(f.op)) : [];
    const rest = filters.filter((f) => !bounds.includes(f));
    const signature = sortSignature(sort);
    const key = [resource, kind, signature, ...rest.map((f) => `${f.column}:${f.op}${f.value}`)].join('\n');
    let rows = this.cache.get(key);
    if (!rows) {
      rows = selectRows(this.view(resource, signature, sort).rows(), spec, kind, rest);
      if (this.cache.size >= CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value as string);
      this.cache.set(key, rows);
    }
    if (bounds.length === 0) return rows;
    let from = 0;
    let to = rows.length;
    for (const bound of bounds) {
      const passes = (row: SimRecord) => bound.test(columnValue(spec, row, bound.column));
      // In ascending order `>`/`>=` fail then pass, `<`/`<=` pass then fail.
      if (bound.op.startsWith('>')) from = Math.max(from, firstIndex(rows, passes));
      else
        to = Math.min(
          to,
          firstIndex(rows, (row) => !passes(row)),
        );
    }
    return rows.slice(from, Math.max(from, to));
  }

  listPage(resource: SimResource, { kind, filters, sort, offset, limit }: ListQuery): ListPage {
    const rows = this.list(resource, kind, filters, sort);
    return { rows: rows.slice(offset, offset + limit), total: rows.length };
  }

  /** Context for generators: the clock, the PRNG and pickers over existing records. */
  generateContext(): GenerateContext {
    return {
      rng: this.options.rng,
      base: this.base,
      nowMs: this.options.now(),
      pickPatient: () => this.pickLive('patients'),
      pickBooking: () => this.pickLive('group_appointments') ?? this.pickLive('individual_appointments'),
      pickLive: (resource) => this.pickLive(resource),
      count: (resource) => this.tables[resource].rows.length,
    };
  }

  /** A random live record (sampled, so it stays cheap on large accounts). */
  pickLive(resource: SimResource, accept: (r: SimRecord) => boolean = isLive): SimRecord | undefined {
    const rows = this.tables[resource].rows;
    if (rows.length === 0) return undefined;
    for (let attempt = 0; attempt < 32; attempt++) {
      const row = rows[this.options.rng.int(0, rows.length - 1)] as SimRecord;
      if (accept(row)) return row;
    }
    return rows.find(accept);
  }

  private view(resource: SimResource, signature: string, sort: readonly SortKey[]): SortedView {
    const { views, rows } = this.tables[resource];
    let view = views.get(signature);
    if (view) {
      // Most recently used last, so eviction drops the oldest.
      views.delete(signature);
    } else {
      const spec = RESOURCE_SPECS[resource];
      view = new SortedView(rows, sort, (row, column) => columnValue(spec, row, column));
      if (views.size >= VIEWS_PER_TABLE) views.delete(views.keys().next().value as string);
    }
    views.set(signature, view);
    return view;
  }

  private insert(resource: SimResource, createdMs: number, fields: Record<string, unknown>, randomize = true): SimRecord {
    writable(resource);
    const given = writeFields(resource, fields, this.base);
    if (randomize) this.ensureParents(resource, given, createdMs);
    const at = toIsoSeconds(createdMs);
    const id = this.ids.next();
    const record = blankRecord(resource, id, at, this.base);
    if (randomize) Object.assign(record, randomFields(resource, this.generateContext(), createdMs));
    Object.assign(record, given);
    const startsMs = typeof given.starts_at === 'string' ? Date.parse(given.starts_at) : Number.NaN;
    if (!Number.isNaN(startsMs) && !('ends_at' in given)) {
      // Cliniko derives ends_at from the appointment type's duration; 30 minutes stands in for it.
      record.ends_at = toIsoSeconds(startsMs + 30 * 60_000);
    }
    this.derivePatientName(resource, given, record);
    const table = this.tables[resource];
    table.rows.push(record);
    table.byId.set(id, record);
    // The bookings union shares the row itself, so it always shows the current version.
    if (BOOKING_KINDS.includes(resource)) {
      this.tables.bookings.rows.push(record);
      this.tables.bookings.byId.set(id, record);
    }
    this.latestCreatedMs = Math.max(this.latestCreatedMs, createdMs);
    this.changed(resource, record);
    return record;
  }

  // Appointments need a patient and attendees an appointment; make one if the account has none.
  private ensureParents(resource: SimResource, given: Record<string, unknown>, createdMs: number): void {
    const needsPatient = resource === 'individual_appointments' || resource === 'attendees';
    if (needsPatient && !('patient' in given) && !this.pickLive('patients')) {
      this.insert('patients', createdMs, {});
    }
    if (resource === 'attendees' && !('booking' in given) && !this.generateContext().pickBooking()) {
      this.insert('group_appointments', createdMs, {});
    }
  }

  // Cliniko shows the patient's name on the appointment; keep it in step with a written patient_id.
  private derivePatientName(resource: SimResource, changes: Record<string, unknown>, target = changes): void {
    if (resource !== 'individual_appointments' || 'patient_name' in changes) return;
    const patientColumn = changes.patient as { links?: { self?: string } } | null | undefined;
    const self = patientColumn?.links?.self;
    if (!self) return;
    const patient = this.find('patients', self.slice(self.lastIndexOf('/') + 1));
    if (patient) target.patient_name = `${String(patient.first_name)} ${String(patient.last_name)}`;
  }

  private mutate(resource: SimResource, id: string, changes: Record<string, unknown>): SimRecord {
    writable(resource);
    const record = this.find(resource, id);
    if (!record) throw new SimHttpError(404, `Couldn't find ${resource} with id ${id}`);
    Object.assign(record, changes, { updated_at: this.nowIso() });
    this.changed(resource, record);
    return record;
  }

  private nowIso(): string {
    return toIsoSeconds(this.options.now());
  }

  private changed(resource: SimResource, record: SimRecord): void {
    this.cache.clear();
    for (const view of this.tables[resource].views.values()) view.touch(record);
    if (BOOKING_KINDS.includes(resource)) for (const view of this.tables.bookings.views.values()) view.touch(record);
  }
}

/** The fields a cancellation sets (Cliniko API docs, "Cancellation reasons"); reason 50 is Other. */
export function cancellation(at: string, reason = 50, note?: string): Record<string, unknown> {
  return {
    cancelled_at: at,
    cancellation_reason: reason,
    cancellation_reason_description: CANCELLATION_REASONS[reason] ?? 'Other',
    cancellation_note: note ?? null,
  };
}

/** The tables whose rows `/bookings` shows. */
const BOOKING_KINDS: readonly SimResource[] = RESOURCE_SPECS.bookings.union ?? [];

/** @throws SimHttpError 405 for the read-only `/bookings` union. */
export function writable(resource: SimResource): void {
  if (RESOURCE_SPECS[resource].union) throw new SimHttpError(405, `${resource} is read-only`);
}

/** @throws SimHttpError 404 when the resource has no such lifecycle column (nothing to archive). */
export function hasColumn(resource: SimResource, column: 'archived_at' | 'cancelled_at'): void {
  if (!RESOURCE_SPECS[resource].lifecycle.includes(column))
    throw new SimHttpError(404, `${resource} cannot be ${column.replace('_at', '')}`);
}

function isLive(record: SimRecord): boolean {
  return record.deleted_at == null && record.archived_at == null && record.cancelled_at == null;
}

/** Columns every record has, so a range filter on them is monotonic along their sort order. */
const NEVER_NULL = new Set(['id', 'created_at', 'updated_at']);
const RANGE_OPS = new Set(['>', '>=', '<', '<=']);

/** The first index where `pred` holds, for a predicate that is false then true along `rows`. */
function firstIndex(rows: readonly SimRecord[], pred: (row: SimRecord) => boolean): number {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pred(rows[mid] as SimRecord)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
