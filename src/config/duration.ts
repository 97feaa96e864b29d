/**
 * Durations as written in configuration: an integer and a unit, `500ms`, `15s`, `5m`, `2h`, `5d`.
 * One format everywhere (issue "The bridge end to end on Cliniko", Configuration) so that a value
 * means the same thing in every variable.
 */
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION = /^(\d+)(ms|s|m|h|d)$/;

/**
 * Parses a duration string into milliseconds.
 * @returns milliseconds, or `undefined` when the text is not of the form `<integer><ms|s|m|h|d>`.
 */
export function parseDurationMs(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}
