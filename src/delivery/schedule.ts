/** ±20 % jitter on every retry delay (Svix), so a receiver's outage does not end in a stampede. */
export const JITTER_RATIO = 0.2;

/**
 * When to try a delivery again after a failed attempt, or `null` when the schedule is exhausted and
 * the delivery becomes `failed` (dead letter).
 * @param scheduleMs delays after the first attempt, e.g. 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
 * @param failedAttempts attempts made so far, all failed (1 after the first attempt).
 * @param random a number in [0, 1): `Math.random` in production, fixed in tests.
 * @returns the delay in ms before the next attempt.
 */
export function nextRetryDelayMs(scheduleMs: readonly number[], failedAttempts: number, random: () => number = Math.random): number | null {
  const base = scheduleMs[failedAttempts - 1];
  if (base === undefined) return null;
  const factor = 1 - JITTER_RATIO + 2 * JITTER_RATIO * random();
  return Math.round(base * factor);
}
