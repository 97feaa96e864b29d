/** Small formatting helpers for the console's pages (pure). */

/** `2026-11-23 06:50:01 UTC` from an ISO time; an em dash for null. */
export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

/** `3 s`, `4 min`, `2 h` from milliseconds; an em dash for null. */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.round(ms / 3_600_000)} h`;
}

/** How long ago an ISO time was, e.g. `5 min ago`. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  return `${duration(Math.max(0, now - Date.parse(iso)))} ago`;
}

/** At most `max` characters, with an ellipsis when cut. */
export function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * Parses the value of an `<input type="datetime-local">` (read as UTC, as the form says) or an ISO
 * time. @returns the ISO string, or undefined for an empty or unreadable value.
 */
export function parseFormTime(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const v = value.trim();
  const withZone = /[zZ]|[+-]\d\d:?\d\d$/.test(v) ? v : `${v.length === 16 ? `${v}:00` : v}Z`;
  const t = Date.parse(withZone);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

/** The value for a `datetime-local` input (UTC, to the minute) from an ISO time. */
export function formTime(iso: string | undefined): string {
  return iso ? iso.slice(0, 16) : '';
}
