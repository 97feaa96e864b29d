/**
 * The rolling window the Esteem feed re-reads every poll, cut into date ranges small enough that no
 * response is unbounded. Pure functions of the clock; see docs/esteem.md "How the window works".
 */

export const DAY_MS = 86_400_000;

/** Days one `in_date_range` request spans (end_date − start_date). */
export const DEFAULT_CHUNK_DAYS = 7;

/** How far back and ahead of now the window reaches (`ESTEEM_WINDOW`, `-7d..+90d`). */
export interface WindowSpec {
  beforeMs: number;
  afterMs: number;
}

/** The `start_date` / `end_date` of one request, both `YYYY-MM-DD`. */
export interface DateRange {
  start_date: string;
  end_date: string;
}

/** One pass over the window: the dates asked for, in chunks, and the part certainly covered. */
export interface WindowPlan {
  start_date: string;
  end_date: string;
  /** Consecutive ranges; each starts on the date the previous one ended (one day of overlap). */
  chunks: DateRange[];
  /**
   * Scheduled times in `[fromMs, toMs)` lie at least a day inside the dates asked for, so they were
   * read whether Esteem treats `end_date` as inclusive or exclusive and whatever time zone it reads
   * dates in. Only appointments known to be scheduled here can be reported `removed`.
   */
  inner: { fromMs: number; toMs: number };
}

/** `YYYY-MM-DD` of the UTC day holding `ms`. */
export function toDate(ms: number): string {
  return new Date(utcDay(ms)).toISOString().slice(0, 10);
}

/** Start of the UTC day `YYYY-MM-DD` (ms). */
export function dateMs(date: string): number {
  return Date.parse(`${date}T00:00:00Z`);
}

function utcDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/**
 * The dates to read at `nowMs`: from the day of `now − before` to the day of `now + after`, in
 * ranges of at most `chunkDays` days whose boundaries overlap by a day, so no appointment falls
 * between two requests.
 * @example planWindow(Date.parse('2026-03-10T12:00:00Z'), { beforeMs: 7 * DAY_MS, afterMs: 10 * DAY_MS }, 7)
 * // chunks: 03-03..03-10, 03-10..03-17, 03-17..03-20
 */
export function planWindow(nowMs: number, window: WindowSpec, chunkDays = DEFAULT_CHUNK_DAYS): WindowPlan {
  if (!Number.isInteger(chunkDays) || chunkDays < 1) throw new RangeError('chunkDays must be a whole number of days ≥ 1');
  const first = utcDay(nowMs - window.beforeMs);
  const last = utcDay(nowMs + window.afterMs);
  const chunks: DateRange[] = [];
  for (let start = first; ; start += chunkDays * DAY_MS) {
    const end = Math.min(start + chunkDays * DAY_MS, last);
    chunks.push({ start_date: toDate(start), end_date: toDate(end) });
    if (end >= last) break;
  }
  return {
    start_date: toDate(first),
    end_date: toDate(last),
    chunks,
    inner: { fromMs: first + DAY_MS, toMs: last - DAY_MS },
  };
}

/** Whether an appointment's `scheduled_at` lies in the certainly-read part of a window. */
export function isInside(scheduledAt: unknown, inner: WindowPlan['inner']): boolean {
  if (typeof scheduledAt !== 'string') return false;
  const ms = Date.parse(scheduledAt);
  return Number.isFinite(ms) && ms >= inner.fromMs && ms < inner.toMs;
}
