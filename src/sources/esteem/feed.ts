import { systemClock, type Clock } from '../../util/clock.js';
import { UpstreamError } from '../errors.js';
import type { Batch, ChangeFeed, Deletion, DerivedEvent, ReadContext, SourceRecord } from '../types.js';
import type { EsteemClient } from './client.js';
import { deriveAppointmentEvents, DOCUMENTATION_FIELD } from './events.js';
import { DAY_MS, dateMs, DEFAULT_CHUNK_DAYS, isInside, planWindow, toDate, type WindowSpec } from './window.js';

/**
 * Where the Esteem feed stands, stored as its cursor. The API has no change cursor of its own: the
 * window is re-read whole every pass, so this only remembers what the next pass must compare with.
 */
export interface EsteemCursor {
  /** False until the first complete pass (the silent baseline) finished. */
  baseline_done: boolean;
  /** The dates the last complete pass read. */
  window: { start_date: string; end_date: string } | null;
  /** When the last complete pass started (bridge clock). */
  read_at: string | null;
  /**
   * Ids missing once from a complete read: from the window (scheduled well inside it) or from the
   * pending-documentation list. Missing again from the next complete read confirms `removed` /
   * `documentation_completed`; found again clears them.
   */
  missing: { window: string[]; pending_documentation: string[] };
}

export interface EsteemFeedOptions {
  window: WindowSpec;
  /** Days per `in_date_range` request (default 7). */
  chunkDays?: number;
  /** `page_size` of the pending-documentation list (default 100). */
  pageSize?: number;
  /** The bridge's clock; the window is placed around its now (default: the system clock). */
  clock?: Clock;
}

const DEFAULT_PAGE_SIZE = 100;
/** A pending-documentation list longer than this many pages is treated as a paging fault. */
const MAX_PENDING_PAGES = 500;
/**
 * An unknown appointment at the far edge of the window whose `created_at` is older than the last
 * pass by more than this entered the window by the passage of time, not by being booked: it is
 * recorded silently. The margin absorbs clock skew between Esteem and the bridge.
 */
const CREATED_SKEW_MS = 60 * 60_000;

/**
 * Esteem appointments, found by re-reading a rolling window (`ESTEEM_WINDOW`) in date chunks plus
 * the pending-documentation list, because the API has no `updated_at` filter. Each appointment is
 * yielded with `documentation_pending` set from that list; the poller diffs it against its snapshot
 * (`appointment.created` / `.updated`) and `deriveEvents` adds the domain events. Appointments that
 * vanish from where they should still be are yielded as `removed` deletions. See docs/esteem.md.
 */
export class EsteemAppointmentsFeed implements ChangeFeed {
  readonly source = 'esteem';
  readonly resource = 'appointments';
  readonly eventPrefix = 'appointment';
  /** Status is a string, not a timestamp column: its events come from `deriveEvents`. */
  readonly lifecycle = [];
  /** Read back from snapshots by the window logic and the domain events; no patient details. */
  readonly clearFields = ['scheduled_at', 'patient_id', 'provider_id', 'status', DOCUMENTATION_FIELD];
  readonly versionField = 'updated_at';
  private readonly clock: Clock;
  private readonly chunkDays: number;
  private readonly pageSize: number;

  constructor(
    private readonly client: EsteemClient,
    private readonly options: EsteemFeedOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.chunkDays = options.chunkDays ?? DEFAULT_CHUNK_DAYS;
    this.pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  }

  deriveEvents(previous: SourceRecord | undefined, current: SourceRecord, changedFields: readonly string[]): DerivedEvent[] {
    return deriveAppointmentEvents(previous, current, changedFields);
  }

  /**
   * One pass: the pending-documentation list, then every chunk of the window, then what is missing.
   * Batches before the last carry the old cursor, so a failure anywhere (an `UpstreamError` aborts
   * the pass) leaves the cursor and the "missing" bookkeeping as they were: no removal is ever
   * concluded from an incomplete read.
   */
  async *read(rawCursor: unknown, context: ReadContext): AsyncIterable<Batch> {
    const { signal } = context;
    const before = parseCursor(rawCursor);
    const baseline = !before.baseline_done;
    const startedAt = this.clock.now();
    const plan = planWindow(startedAt, this.options.window, this.chunkDays);
    const known = new Map<string, SourceRecord>();
    for await (const record of context.known()) known.set(record.id, record);

    // Documentation state first: every record yielded below carries it.
    const listed = await this.readPendingList(signal);
    const wasListed = new Set([...known.values()].filter((r) => r[DOCUMENTATION_FIELD] === true).map((r) => r.id));
    const leftBefore = new Set(before.missing.pending_documentation);
    const left = [...wasListed].filter((id) => !listed.has(id));
    const leftConfirmed = new Set(baseline ? [] : left.filter((id) => leftBefore.has(id)));
    const isPending = (id: string) => listed.has(id) || (wasListed.has(id) && !leftConfirmed.has(id));
    const unchanged = (record: SourceRecord) => JSON.stringify(known.get(record.id)) === JSON.stringify(record);

    const seen = new Set<string>();
    for (const range of plan.chunks) {
      const rows = await this.client.inDateRange(range, signal);
      const changed: SourceRecord[] = [];
      const entered: SourceRecord[] = [];
      for (const row of rows) {
        // Chunks overlap by a day: the first copy wins, the next pass sees any later change.
        if (seen.has(row.id)) continue;
        seen.add(row.id);
        const record = withDocumentation(row, isPending(row.id));
        if (unchanged(record)) continue;
        if (!baseline && !known.has(row.id) && enteredByTime(record, before)) entered.push(record);
        else changed.push(record);
      }
      if (entered.length > 0) yield { records: entered, deletions: [], cursor: rawCursor, baseline: true };
      if (changed.length > 0) yield { records: changed, deletions: [], cursor: rawCursor, baseline };
    }

    // Pending documentation but not in the window (mostly appointments older than it).
    const records: SourceRecord[] = [];
    for (const [id, row] of listed) {
      if (seen.has(id)) continue;
      seen.add(id);
      const record = withDocumentation(row, true);
      if (!unchanged(record)) records.push(record);
    }

    const deletions: Deletion[] = [];
    const missingNow: string[] = [];
    if (!baseline) {
      // Left the list for good and outside the window: does it still exist? Look on its own date.
      for (const id of leftConfirmed) {
        const last = known.get(id);
        if (!last || seen.has(id) || isInside(last.scheduled_at, plan.inner)) continue;
        const found = await this.lookUp(last, signal);
        if (found) records.push(withDocumentation(found, false));
        else deletions.push({ id, kind: 'removed' });
        seen.add(id);
      }
      // Known to be scheduled well inside the window, yet not returned: removed once confirmed.
      const missingBefore = new Set(before.missing.window);
      for (const [id, last] of known) {
        if (seen.has(id) || !isInside(last.scheduled_at, plan.inner)) continue;
        if (missingBefore.has(id)) deletions.push({ id, kind: 'removed' });
        else missingNow.push(id);
      }
    }
    const removed = new Set(deletions.map((d) => d.id));
    const cursor: EsteemCursor = {
      baseline_done: true,
      window: { start_date: plan.start_date, end_date: plan.end_date },
      read_at: new Date(startedAt).toISOString(),
      missing: {
        window: missingNow,
        pending_documentation: baseline ? [] : left.filter((id) => !leftConfirmed.has(id) && !removed.has(id)),
      },
    };
    yield { records, deletions, cursor, baseline };
  }

  /** The whole pending-documentation list, paged with `page`/`page_size` until a short page. */
  private async readPendingList(signal?: AbortSignal): Promise<Map<string, SourceRecord>> {
    const listed = new Map<string, SourceRecord>();
    for (let page = 1; page <= MAX_PENDING_PAGES; page++) {
      const rows = await this.client.pendingDocumentation(page, this.pageSize, signal);
      let added = 0;
      for (const row of rows) {
        if (listed.has(row.id)) continue;
        listed.set(row.id, row);
        added += 1;
      }
      // A short page ends the list; a page of nothing new means `page` is being ignored.
      if (rows.length < this.pageSize || added === 0) return listed;
    }
    throw new UpstreamError({
      kind: 'malformed',
      message: `GET pending_documentation: no short page after ${MAX_PENDING_PAGES} pages of ${this.pageSize}`,
    });
  }

  /** The appointment, read again from the days around its last known `scheduled_at`, or undefined. */
  private async lookUp(last: SourceRecord, signal?: AbortSignal): Promise<SourceRecord | undefined> {
    const at = typeof last.scheduled_at === 'string' ? Date.parse(last.scheduled_at) : NaN;
    if (!Number.isFinite(at)) return undefined;
    const patient = typeof last.patient_id === 'number' || typeof last.patient_id === 'string' ? String(last.patient_id) : undefined;
    const rows = await this.client.inDateRange(
      { start_date: toDate(at - DAY_MS), end_date: toDate(at + DAY_MS), patient_id: patient },
      signal,
    );
    return rows.find((r) => r.id === last.id);
  }
}

function withDocumentation(row: SourceRecord, pending: boolean): SourceRecord {
  return { ...row, [DOCUMENTATION_FIELD]: pending };
}

/**
 * True for an appointment the bridge has never seen that the window reached only now: scheduled
 * past what the last pass certainly read, and booked (`created_at`) well before that pass.
 */
function enteredByTime(record: SourceRecord, before: EsteemCursor): boolean {
  if (!before.window || !before.read_at) return false;
  const scheduled = typeof record.scheduled_at === 'string' ? Date.parse(record.scheduled_at) : NaN;
  const created = typeof record.created_at === 'string' ? Date.parse(record.created_at) : NaN;
  if (!Number.isFinite(scheduled) || !Number.isFinite(created)) return false;
  const certainlyReadUntil = dateMs(before.window.end_date) - DAY_MS;
  return scheduled >= certainlyReadUntil && created < Date.parse(before.read_at) - CREATED_SKEW_MS;
}

function parseCursor(raw: unknown): EsteemCursor {
  const c = (raw && typeof raw === 'object' ? raw : {}) as Partial<EsteemCursor>;
  const window = c.window && typeof c.window.start_date === 'string' && typeof c.window.end_date === 'string' ? c.window : null;
  const ids = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  return {
    baseline_done: c.baseline_done === true,
    window: window ? { start_date: window.start_date, end_date: window.end_date } : null,
    read_at: typeof c.read_at === 'string' ? c.read_at : null,
    missing: { window: ids(c.missing?.window), pending_documentation: ids(c.missing?.pending_documentation) },
  };
}
