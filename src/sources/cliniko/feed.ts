import { UpstreamError } from '../errors.js';
import type {
  Batch,
  ChangeFeed,
  Deletion,
  DerivedEvent,
  ExistingPage,
  FeedSchedule,
  LiveStart,
  ReadContext,
  ReadProgress,
  SourceRecord,
} from '../types.js';
import type { ClinikoClient } from './client.js';
import { DOMAIN_FIELDS, deriveDomainEvents, domainEventsOf, type DomainEvent } from './domain-events.js';
import type { ClinikoResource, ClinikoTier } from './resources.js';

/**
 * Where a resource's feed stands, stored as the resource's cursor. Timestamps are Cliniko's own
 * (whole-second UTC strings), never the local clock (Cliniko API docs, Lists).
 */
export interface ClinikoCursor {
  /** Highest `updated_at` recorded; `null` before the first record. */
  updated_at: string | null;
  /** Highest `deleted_at` recorded; deletions at or after it minus the overlap are read. */
  deleted_at: string | null;
  /** False until the first full pass (the baseline) finished. */
  baseline_done: boolean;
  /**
   * When the first pass began, minus the overlap: deletions are read from here once it ends, so a
   * record deleted while a long first pass ran is not missed. The one local-clock value in the
   * cursor; it only ever lowers a bound (more re-reading, never less).
   */
  baseline_started_at?: string | null;
}

export interface ClinikoFeedOptions {
  perPage: number;
  /** Lookback before the cursor (ms) so late commits and same-second writes are re-read. */
  overlapMs: number;
  /** Scheduling tier (from `config/default.json` `cliniko.tiers`); the registry's when absent. */
  tier?: ClinikoTier;
}

/** Where a background first pass stands: the list it reads (index) and the `updated_at` reached on it. */
export interface ExistingPosition {
  list: number;
  from: string | null;
}

/** What a request needs from the read it serves. */
type RequestContext = Pick<ReadContext, 'signal' | 'priority'>;

/** Limiter priority of each tier's requests. */
export const TIER_PRIORITY: Readonly<Record<ClinikoTier, number>> = { hot: 0, warm: 1, cold: 2 };

interface Page {
  records: SourceRecord[];
  total: number | null;
}

interface ScanPage extends Page {
  /** Largest value of the scanned field on this page. */
  max: string | null;
}

interface Scan {
  path: string;
  field: string;
  from: string | null;
  filters: string[];
}

/**
 * Reads one Cliniko resource incrementally.
 *
 * Pages are walked by keyset, not by page number: each request asks for `field >= last value seen`
 * sorted by `field,id`, so records that move while we page (their `updated_at` changes) cannot shift
 * others out of view. When a whole page shares one second, that second is walked by `id` before
 * moving on, so any number of records may share an `updated_at`. Records re-read at the boundary are
 * deduplicated by the poller's snapshot comparison. Resources whose rows Cliniko deletes outright
 * (`deletions: 'absent'`) are small settings lists: each poll reads them whole, by `id`, and reports
 * known ids that are gone.
 *
 * Every request goes through the key's budget tagged with the resource, at the tier's priority;
 * the feed declares its `schedule` (tier, budget, requests of a quiet poll) so one scheduler per key
 * can plan.
 */
export class ClinikoFeed implements ChangeFeed {
  readonly source = 'cliniko';
  readonly resource: string;
  readonly eventPrefix: string;
  readonly lifecycle;
  readonly versionField = 'updated_at';
  readonly clearFields = DOMAIN_FIELDS;
  /** Its tier, the key's request budget (shared by every feed of the client), and a quiet poll's requests: one per list, plus one for deletions. */
  readonly schedule: FeedSchedule;
  /** Absent for settings read whole on every poll (`deletions: 'absent'`): their first pass is one poll. */
  readonly live?: LiveStart;
  private readonly domainEvents: readonly DomainEvent[];
  /** Cleared when Cliniko answers that a hidden column is not searchable on this resource. */
  private hiddenFiltersWork = true;
  /** Cleared when the deleted_at filter is refused: deletions are then not observable. */
  private deletionFilterWorks = true;

  constructor(
    private readonly spec: ClinikoResource,
    private readonly client: ClinikoClient,
    private readonly options: ClinikoFeedOptions,
  ) {
    this.resource = spec.path;
    this.eventPrefix = spec.name;
    this.lifecycle = spec.lifecycle;
    const lists = 1 + (spec.extraLists?.length ?? 0);
    this.schedule = {
      tier: options.tier ?? spec.tier,
      budget: client.limiter,
      expectedRequests: lists + (spec.deletions === 'list' || spec.deletions === 'filter' ? 1 : 0),
    };
    this.domainEvents = domainEventsOf(spec.path);
    if (spec.deletions !== 'absent') {
      this.live = {
        pageSize: options.perPage,
        caughtUp: (cursor) => parseCursor(cursor).baseline_done,
        startLive: (nowMs, context) => this.startLive(nowMs, context),
        readExisting: (position, before, context) => this.readExisting(position, before, context),
      };
    }
  }

  /**
   * A live start: `nowMs` minus the overlap, or one second after the newest `updated_at` Cliniko
   * holds when that is earlier (a quiet resource, or a Cliniko clock behind ours: no existing record
   * is then mistaken for a change made since the start). The cursor stands at the start, so the
   * next read asks for `updated_at` and `deleted_at` from the start minus the overlap.
   */
  private async startLive(nowMs: number, context: RequestContext): Promise<{ cursor: ClinikoCursor; liveSince: string }> {
    let startMs = Date.parse(toClinikoTime(nowMs - this.options.overlapMs));
    for (const path of this.lists()) {
      const page = await this.fetchPage(path, { q: this.hiddenFilters(), sort: 'updated_at:desc', per_page: 1 }, context);
      const newest = maxOf(page.records, 'updated_at');
      if (newest) startMs = Math.min(startMs, Date.parse(newest) + 1000);
    }
    const since = toClinikoTime(startMs);
    return { cursor: { updated_at: since, deleted_at: since, baseline_done: true, baseline_started_at: null }, liveSince: since };
  }

  /**
   * The background first pass: every list by keyset on `updated_at`, hidden rows included, bounded
   * above by `before` (records changed since belong to the live reads), at `priority`.
   */
  private async *readExisting(rawPosition: unknown, before: string, context: RequestContext): AsyncIterable<ExistingPage> {
    const start = parsePosition(rawPosition);
    const lists = this.lists();
    for (let list = start.list; list < lists.length; list++) {
      const from = list === start.list ? start.from : null;
      let first = true;
      let reached = from;
      // Ids already yielded at `reached`: keyset pages re-read that second, each record counts once.
      let edge = new Set<string>();
      const filters = [...this.hiddenFilters(), `updated_at:<${before}`];
      for await (const page of this.scan({ path: lists[list]!, field: 'updated_at', from, filters }, context)) {
        const records = page.records.filter((r) => !(fieldOf(r, 'updated_at') === reached && edge.has(r.id)));
        if (page.max && (!reached || page.max > reached)) {
          reached = page.max;
          edge = new Set();
        }
        for (const r of records) if (fieldOf(r, 'updated_at') === reached) edge.add(r.id);
        const position: ExistingPosition = { list, from: reached };
        yield { records, position, total: first ? page.total : null };
        first = false;
      }
    }
  }

  async *read(rawCursor: unknown, context: ReadContext): AsyncIterable<Batch> {
    const start = parseCursor(rawCursor);
    if (this.spec.deletions === 'absent') {
      yield* this.readWhole(start, context);
      return;
    }
    const cursor: ClinikoCursor = { ...start };
    const baseline = !start.baseline_done;
    if (baseline) cursor.baseline_started_at ??= toClinikoTime(this.client.clock.now() - this.options.overlapMs);
    const from = start.updated_at ? this.minusOverlap(start.updated_at) : null;
    const progress: ReadProgress = { pages: 0, records: 0, total_entries: null };

    for (const path of this.lists()) {
      let first = true;
      for await (const page of this.scan({ path, field: 'updated_at', from, filters: this.hiddenFilters() }, context)) {
        track(progress, page, first);
        first = false;
        if (page.max && (!cursor.updated_at || page.max > cursor.updated_at)) cursor.updated_at = page.max;
        yield { records: page.records, deletions: [], cursor: { ...cursor }, baseline, ...(baseline ? { progress: { ...progress } } : {}) };
      }
    }

    if (baseline) {
      // Deletions before the first pass are not news; those during it are. Start the deletion cursor
      // at the earlier of the pass's start and the newest server time it saw.
      const started = cursor.baseline_started_at ?? null;
      cursor.deleted_at ??= started && (!cursor.updated_at || started < cursor.updated_at) ? started : cursor.updated_at;
      cursor.baseline_done = true;
      yield { records: [], deletions: [], cursor: { ...cursor }, baseline: true, progress: { ...progress } };
      return;
    }

    if (this.spec.deletions === 'list' || (this.spec.deletions === 'filter' && this.deletionFilterWorks)) {
      yield* this.readDeletions(cursor, context);
    }
  }

  deriveEvents(previous: SourceRecord | undefined, current: SourceRecord, changedFields: readonly string[]): DerivedEvent[] {
    return deriveDomainEvents(this.domainEvents, previous, current, changedFields);
  }

  /** The main list, then the extra ones (`practitioners/inactive`). */
  private lists(): string[] {
    return [this.spec.path, ...(this.spec.extraLists ?? [])];
  }

  private async *readDeletions(cursor: ClinikoCursor, context: ReadContext): AsyncIterable<Batch> {
    const from = cursor.deleted_at ? this.minusOverlap(cursor.deleted_at) : null;
    const viaList = this.spec.deletions === 'list';
    const path = viaList ? `${this.spec.path}/deleted` : this.spec.path;
    // The main list hides cancelled/archived rows even when deleted; name those columns too.
    const extra = viaList ? [] : this.hiddenFilters();
    const scan = this.scan({ path, field: 'deleted_at', from: from ?? '1970-01-01T00:00:00Z', filters: extra }, context);
    try {
      for await (const page of scan) {
        const deletions: Deletion[] = [];
        for (const r of page.records) {
          if (typeof r.deleted_at !== 'string') continue;
          deletions.push({ id: r.id, deleted_at: r.deleted_at, record: isFullRecord(r) ? r : undefined });
        }
        if (page.max && (!cursor.deleted_at || page.max > cursor.deleted_at)) cursor.deleted_at = page.max;
        yield { records: [], deletions, cursor: { ...cursor }, baseline: false };
      }
    } catch (err) {
      // An account whose API refuses the deleted_at filter on this list: deletions of this resource
      // cannot be observed; keep polling its changes rather than failing every poll.
      if (!viaList && isNotSearchable(err)) {
        this.deletionFilterWorks = false;
        return;
      }
      throw err;
    }
  }

  /**
   * A full read by `id` of every list of a resource without `deleted_at`: known ids not seen are
   * deletions. Nothing is declared deleted unless the whole read succeeded.
   */
  private async *readWhole(start: ClinikoCursor, context: ReadContext): AsyncIterable<Batch> {
    const cursor: ClinikoCursor = { ...start };
    const baseline = !start.baseline_done;
    const seen = new Set<string>();
    const progress: ReadProgress = { pages: 0, records: 0, total_entries: null };
    for (const path of this.lists()) {
      let after: string | null = null;
      let first = true;
      for (;;) {
        const q = [...this.hiddenFilters(), ...(after ? [`id:>${after}`] : [])];
        const page = await this.fetchPage(path, { q, sort: 'id', per_page: this.options.perPage }, context);
        track(progress, page, first);
        first = false;
        for (const r of page.records) seen.add(r.id);
        const max = maxOf(
          page.records.filter((r) => typeof r.updated_at === 'string'),
          'updated_at',
        );
        if (max && (!cursor.updated_at || max > cursor.updated_at)) cursor.updated_at = max;
        yield { records: page.records, deletions: [], cursor: { ...start }, baseline, ...(baseline ? { progress: { ...progress } } : {}) };
        if (page.records.length < this.options.perPage) break;
        after = page.records[page.records.length - 1]!.id;
      }
    }
    if (baseline) {
      cursor.baseline_done = true;
      yield { records: [], deletions: [], cursor: { ...cursor }, baseline: true, progress: { ...progress } };
      return;
    }
    const deletions: Deletion[] = [];
    for (const id of await context.knownIds()) if (!seen.has(id)) deletions.push({ id });
    yield { records: [], deletions, cursor: { ...cursor }, baseline: false };
  }

  private hiddenFilters(): string[] {
    return this.hiddenFiltersWork ? this.spec.hiddenColumns.map((c) => `${c}:*`) : [];
  }

  private minusOverlap(ts: string): string {
    return toClinikoTime(Date.parse(ts) - this.options.overlapMs);
  }

  /**
   * Keyset scan of `path` ordered by `field,id`, starting at `field >= from` (everything when null).
   * Yields each page with the largest `field` value on it.
   */
  private async *scan({ path, field, from, filters }: Scan, context: RequestContext): AsyncIterable<ScanPage> {
    const perPage = this.options.perPage;
    let lower = from;
    let strict = false;
    for (;;) {
      const bound = lower ? [`${field}:${strict ? '>' : '>='}${lower}`] : [];
      const page = await this.fetchPage(path, { q: [...filters, ...bound], sort: `${field},id`, per_page: perPage }, context);
      const { records } = page;
      yield { ...page, max: maxOf(records, field) };
      if (records.length < perPage) return;

      const first = fieldOf(records[0]!, field);
      const last = fieldOf(records[records.length - 1]!, field);
      lower = last;
      // Progress is guaranteed when the page spans two values: the first record sorts before `last`.
      strict = false;
      if (first !== last) continue;

      // A whole page within one second: walk that second by id, then continue strictly after it.
      let afterId = records[records.length - 1]!.id;
      for (;;) {
        const q = [...filters, `${field}:>=${last}`, `${field}:<=${last}`, `id:>${afterId}`];
        const more = await this.fetchPage(path, { q, sort: 'id', per_page: perPage }, context);
        yield { ...more, max: maxOf(more.records, field) };
        if (more.records.length < perPage) break;
        afterId = more.records[more.records.length - 1]!.id;
      }
      strict = true;
    }
  }

  private async fetchPage(path: string, query: { q: string[]; sort: string; per_page: number }, context: RequestContext): Promise<Page> {
    const hidden = new Set(this.spec.hiddenColumns.map((c) => `${c}:*`));
    const q = this.hiddenFiltersWork ? query.q : query.q.filter((f) => !hidden.has(f));
    const url = this.client.url(path, { 'q[]': q, sort: query.sort, per_page: query.per_page });
    const budget = { tag: this.resource, priority: context.priority ?? TIER_PRIORITY[this.schedule.tier] };
    let body: Record<string, unknown>;
    try {
      body = await this.client.getJson(url, context.signal, budget);
    } catch (err) {
      // Older accounts may not search a hidden column on this resource: read without it (hidden
      // rows are then not seen, as the list shows them) instead of failing every poll.
      if (this.hiddenFiltersWork && q.some((f) => hidden.has(f)) && isNotSearchable(err)) {
        this.hiddenFiltersWork = false;
        return this.fetchPage(path, query, context);
      }
      throw err;
    }
    const list = body[this.spec.path];
    if (!Array.isArray(list)) {
      throw new UpstreamError({ kind: 'malformed', message: `GET /${path}: response has no "${this.spec.path}" array` });
    }
    const total = typeof body.total_entries === 'number' ? body.total_entries : null;
    return { records: list.map((item) => normaliseRecord(item, path)), total };
  }
}

/** Cliniko timestamp format: whole seconds, `Z` (Cliniko API docs, Requests). */
export function toClinikoTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

function parsePosition(raw: unknown): ExistingPosition {
  const p = (raw && typeof raw === 'object' ? raw : {}) as Partial<ExistingPosition>;
  return { list: typeof p.list === 'number' && p.list >= 0 ? p.list : 0, from: typeof p.from === 'string' ? p.from : null };
}

function parseCursor(raw: unknown): ClinikoCursor {
  const c = (raw && typeof raw === 'object' ? raw : {}) as Partial<ClinikoCursor>;
  return {
    updated_at: typeof c.updated_at === 'string' ? c.updated_at : null,
    deleted_at: typeof c.deleted_at === 'string' ? c.deleted_at : null,
    baseline_done: c.baseline_done === true,
    baseline_started_at: typeof c.baseline_started_at === 'string' ? c.baseline_started_at : null,
  };
}

/** Counts a page; the first page of each list reports that list's `total_entries`. */
function track(progress: ReadProgress, page: Page, firstOfList: boolean): void {
  progress.pages += 1;
  progress.records += page.records.length;
  if (firstOfList && page.total !== null) progress.total_entries = (progress.total_entries ?? 0) + page.total;
}

function isNotSearchable(err: unknown): boolean {
  return err instanceof UpstreamError && err.reason === 'not_searchable';
}

/** Ids arrive as strings in the current API and as numbers in older examples: keep strings. */
function normaliseRecord(item: unknown, path: string): SourceRecord {
  if (!item || typeof item !== 'object' || !('id' in item)) {
    throw new UpstreamError({ kind: 'malformed', message: `GET /${path}: a record without an id` });
  }
  const record = item as Record<string, unknown>;
  if (typeof record.id === 'number' && !Number.isSafeInteger(record.id)) {
    // JSON.parse already rounded it: the id cannot be trusted (current API sends strings).
    throw new UpstreamError({ kind: 'malformed', message: `GET /${path}: numeric id ${record.id} lost precision; expected a string` });
  }
  return { ...record, id: String(record.id) };
}

function fieldOf(record: SourceRecord, field: string): string {
  const v = record[field];
  if (typeof v !== 'string') throw new UpstreamError({ kind: 'malformed', message: `record ${record.id} has no ${field}` });
  return normaliseTime(v);
}

/** A time already in Cliniko's form (whole seconds, `Z`): nothing to normalise. */
const CLINIKO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** Compares as instants: Cliniko sends `Z` whole seconds; tolerate fractions and offsets. */
function normaliseTime(v: string): string {
  // The common case skips a Date round trip, which a first pass would pay several times a record.
  if (CLINIKO_TIME.test(v)) return v;
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? v : toClinikoTime(ms);
}

function maxOf(records: SourceRecord[], field: string): string | null {
  let max: string | null = null;
  for (const r of records) {
    const v = fieldOf(r, field);
    if (!max || v > max) max = v;
  }
  return max;
}

/** `patients/deleted` returns only `id` and `deleted_at`; other deleted lists return whole records. */
function isFullRecord(r: SourceRecord): boolean {
  return 'updated_at' in r;
}
