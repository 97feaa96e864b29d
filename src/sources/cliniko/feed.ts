import { UpstreamError } from '../errors.js';
import type { Batch, ChangeFeed, Deletion, ReadContext, SourceRecord } from '../types.js';
import type { ClinikoClient } from './client.js';
import type { ClinikoResource } from './resources.js';

/**
 * Where a resource's feed stands, stored as the resource's cursor. Timestamps are Cliniko's own
 * (whole-second UTC strings), never the local clock (notes/cliniko-api.md, Lists).
 */
export interface ClinikoCursor {
  /** Highest `updated_at` recorded; `null` before the first record. */
  updated_at: string | null;
  /** Highest `deleted_at` recorded; deletions at or after it minus the overlap are read. */
  deleted_at: string | null;
  /** False until the first full pass (the baseline) finished. */
  baseline_done: boolean;
}

export interface ClinikoFeedOptions {
  perPage: number;
  /** Lookback before the cursor (ms) so late commits and same-second writes are re-read. */
  overlapMs: number;
}

interface ScanPage {
  records: SourceRecord[];
  /** Largest value of the scanned field on this page. */
  max: string | null;
}

/**
 * Reads one Cliniko resource incrementally.
 *
 * Pages are walked by keyset, not by page number: each request asks for `field >= last value seen`
 * sorted by `field,id`, so records that move while we page (their `updated_at` changes) cannot shift
 * others out of view. When a whole page shares one second, that second is walked by `id` before
 * moving on, so any number of records may share an `updated_at`. Records re-read at the boundary are
 * deduplicated by the poller's snapshot comparison.
 */
export class ClinikoFeed implements ChangeFeed {
  readonly source = 'cliniko';
  readonly resource: string;
  readonly eventPrefix: string;
  readonly lifecycle;
  readonly versionField = 'updated_at';

  constructor(
    private readonly spec: ClinikoResource,
    private readonly client: ClinikoClient,
    private readonly options: ClinikoFeedOptions,
  ) {
    this.resource = spec.path;
    this.eventPrefix = spec.name;
    this.lifecycle = spec.lifecycle;
  }

  async *read(rawCursor: unknown, context: ReadContext): AsyncIterable<Batch> {
    const { signal } = context;
    const start = parseCursor(rawCursor);
    const cursor: ClinikoCursor = { ...start };
    const baseline = !start.baseline_done;
    const from = start.updated_at ? this.minusOverlap(start.updated_at) : null;

    for await (const page of this.scan(this.spec.path, 'updated_at', from, this.hiddenFilters(), signal)) {
      if (page.max && (!cursor.updated_at || page.max > cursor.updated_at)) cursor.updated_at = page.max;
      yield { records: page.records, deletions: [], cursor: { ...cursor }, baseline };
    }

    if (baseline) {
      // Deletions before the baseline are not news. Start the deletion cursor at the newest server
      // time the baseline saw, so nothing deleted after that point is missed.
      cursor.deleted_at ??= cursor.updated_at;
      cursor.baseline_done = true;
      yield { records: [], deletions: [], cursor: { ...cursor }, baseline: true };
      return;
    }

    yield* this.readDeletions(cursor, signal);
  }

  private async *readDeletions(cursor: ClinikoCursor, signal?: AbortSignal): AsyncIterable<Batch> {
    const from = cursor.deleted_at ? this.minusOverlap(cursor.deleted_at) : null;
    const viaList = this.spec.deletions === 'list';
    const path = viaList ? `${this.spec.path}/deleted` : this.spec.path;
    // The main list hides cancelled/archived rows even when deleted; name those columns too.
    const extra = viaList ? [] : this.hiddenFilters();
    const scan = this.scan(path, 'deleted_at', from ?? '1970-01-01T00:00:00Z', extra, signal);
    for await (const page of scan) {
      const deletions: Deletion[] = [];
      for (const r of page.records) {
        if (typeof r.deleted_at !== 'string') continue;
        deletions.push({ id: r.id, deleted_at: r.deleted_at, record: isFullRecord(r) ? r : undefined });
      }
      if (page.max && (!cursor.deleted_at || page.max > cursor.deleted_at)) cursor.deleted_at = page.max;
      yield { records: [], deletions, cursor: { ...cursor }, baseline: false };
    }
  }

  private hiddenFilters(): string[] {
    return this.spec.hiddenColumns.map((c) => `${c}:*`);
  }

  private minusOverlap(ts: string): string {
    return toClinikoTime(Date.parse(ts) - this.options.overlapMs);
  }

  /**
   * Keyset scan of `path` ordered by `field,id`, starting at `field >= from` (everything when null).
   * Yields each page with the largest `field` value on it.
   */
  private async *scan(
    path: string,
    field: string,
    from: string | null,
    filters: string[],
    signal?: AbortSignal,
  ): AsyncIterable<ScanPage> {
    const perPage = this.options.perPage;
    let lower = from;
    let strict = false;
    for (;;) {
      const bound = lower ? [`${field}:${strict ? '>' : '>='}${lower}`] : [];
      const records = await this.fetchPage(path, { q: [...filters, ...bound], sort: `${field},id`, per_page: perPage }, signal);
      yield { records, max: maxOf(records, field) };
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
        const more = await this.fetchPage(path, { q, sort: 'id', per_page: perPage }, signal);
        yield { records: more, max: maxOf(more, field) };
        if (more.length < perPage) break;
        afterId = more[more.length - 1]!.id;
      }
      strict = true;
    }
  }

  private async fetchPage(
    path: string,
    query: { q: string[]; sort: string; per_page: number },
    signal?: AbortSignal,
  ): Promise<SourceRecord[]> {
    const url = this.client.url(path, { 'q[]': query.q, sort: query.sort, per_page: query.per_page });
    const body = await this.client.getJson(url, signal);
    const list = body[this.spec.path];
    if (!Array.isArray(list)) {
      throw new UpstreamError('malformed', `GET /${path}: response has no "${this.spec.path}" array`);
    }
    return list.map((item) => normaliseRecord(item, path));
  }
}

/** Cliniko timestamp format: whole seconds, `Z` (notes/cliniko-api.md, Requests). */
export function toClinikoTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

function parseCursor(raw: unknown): ClinikoCursor {
  const c = (raw && typeof raw === 'object' ? raw : {}) as Partial<ClinikoCursor>;
  return {
    updated_at: typeof c.updated_at === 'string' ? c.updated_at : null,
    deleted_at: typeof c.deleted_at === 'string' ? c.deleted_at : null,
    baseline_done: c.baseline_done === true,
  };
}

/** Ids arrive as strings in the current API and as numbers in older examples: keep strings. */
function normaliseRecord(item: unknown, path: string): SourceRecord {
  if (!item || typeof item !== 'object' || !('id' in item)) {
    throw new UpstreamError('malformed', `GET /${path}: a record without an id`);
  }
  const record = item as Record<string, unknown>;
  if (typeof record.id === 'number' && !Number.isSafeInteger(record.id)) {
    // JSON.parse already rounded it: the id cannot be trusted (current API sends strings).
    throw new UpstreamError('malformed', `GET /${path}: numeric id ${record.id} lost precision; expected a string`);
  }
  return { ...record, id: String(record.id) };
}

function fieldOf(record: SourceRecord, field: string): string {
  const v = record[field];
  if (typeof v !== 'string') throw new UpstreamError('malformed', `record ${record.id} has no ${field}`);
  return normaliseTime(v);
}

/** Compares as instants: Cliniko sends `Z` whole seconds; tolerate fractions and offsets. */
function normaliseTime(v: string): string {
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
