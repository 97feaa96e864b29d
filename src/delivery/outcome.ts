import { nextRetryDelayMs } from './schedule.js';

/** What to do with a delivery and its subscription after one attempt. */
export interface Decision {
  status: 'succeeded' | 'pending' | 'failed';
  /** Epoch ms of the next attempt when `pending`. */
  nextAttemptAt: number | null;
  /** Disable the subscription, and why. */
  disable: 'gone' | 'failing' | null;
  /** The subscription's new `failing_since` (epoch ms), `null` once it succeeded. */
  failingSince: number | null;
}

export interface DecisionInput {
  ok: boolean;
  statusCode: number | null;
  /** Parsed `Retry-After` of a 429/503, in ms from now. */
  retryAfterMs: number | null;
  /** Attempts made, including this one. */
  attemptCount: number;
  /** A manual retry of a dead letter: one attempt, then `failed` again if it fails. */
  finalAttempt: boolean;
  scheduleMs: readonly number[];
  /** When the subscription started failing without a success since (epoch ms), or null. */
  failingSince: number | null;
  /** `BRIDGE_DISABLE_AFTER` in ms. */
  disableAfterMs: number;
  now: number;
  random?: () => number;
}

/**
 * The retry policy in one place (Svix's schedule, which Standard Webhooks senders follow; issue "Delivery that receivers can trust"):
 * - 2xx: succeeded; the subscription is no longer failing.
 * - 410 Gone: failed, and the subscription is disabled (`gone`) at once.
 * - anything else: the next delay of the schedule with ±20 % jitter; for 429/503 with `Retry-After`,
 *   the larger of that and `Retry-After`, which is capped at the schedule's longest delay; `failed`
 *   after the last delay.
 * - a subscription whose attempts have only failed for `disableAfterMs` is disabled (`failing`).
 */
export function decide(input: DecisionInput): Decision {
  const { now } = input;
  if (input.ok) return { status: 'succeeded', nextAttemptAt: null, disable: null, failingSince: null };

  const failingSince = input.failingSince ?? now;
  if (input.statusCode === 410) return { status: 'failed', nextAttemptAt: null, disable: 'gone', failingSince };
  const disable = now - failingSince >= input.disableAfterMs ? 'failing' : null;

  const scheduled = input.finalAttempt ? null : nextRetryDelayMs(input.scheduleMs, input.attemptCount, input.random);
  if (scheduled === null) return { status: 'failed', nextAttemptAt: null, disable, failingSince };
  const cap = Math.max(0, ...input.scheduleMs);
  const honoured = input.retryAfterMs === null ? 0 : Math.min(input.retryAfterMs, cap);
  return { status: 'pending', nextAttemptAt: now + Math.max(scheduled, honoured), disable, failingSince };
}

export { parseRetryAfter } from '../util/http.js';
