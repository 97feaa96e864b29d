/**
 * Time helpers. Cliniko writes UTC timestamps with whole seconds (`2014-08-30T18:00:00Z`,
 * Cliniko API docs "Requests"), so every timestamp the simulator stores goes through
 * {@link toIsoSeconds}.
 */

/** Formats a clock reading (ms) as a whole-second UTC timestamp, e.g. `2026-11-23T06:50:01Z`. */
export function toIsoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

// Dates alone, or date-times with optional fractional seconds and a `Z` or numeric offset.
const INSTANT = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * Parses a filter or write value as an instant (ms since epoch). Accepts `2026-01-01T00:00:00Z`,
 * fractional seconds and offsets (`+10:00`); a value without a zone is read as UTC, as Cliniko says
 * all times are UTC. Returns `undefined` for anything else.
 */
export function parseInstant(value: string): number | undefined {
  if (!INSTANT.test(value)) return undefined;
  let text = value.replace(' ', 'T');
  // Date.parse treats zone-less date-times as local time; Cliniko means UTC.
  if (/T/i.test(text) && !/(?:Z|[+-]\d{2}:?\d{2})$/i.test(text)) text += 'Z';
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Rewrites a written date-time as whole-second UTC, the way Cliniko echoes it back. */
export function normalizeDateTime(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const ms = parseInstant(value);
  return ms === undefined ? value : toIsoSeconds(ms);
}
