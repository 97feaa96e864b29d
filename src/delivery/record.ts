import type { Attempt, Delivery, Subscription } from '../store/schema.js';
import { isHook } from './hooks.js';
import { decide } from './outcome.js';
import type { AttemptOutcome } from './sender.js';

/** The retry policy's settings (`BRIDGE_RETRY_SCHEDULE`, `BRIDGE_DISABLE_AFTER`). */
export interface RetryPolicy {
  retryScheduleMs: readonly number[];
  disableAfterMs: number;
  random: () => number;
}

/** What recording one attempt changes: the delivery, and its subscription when it changed. */
export interface AttemptRecord {
  next: Delivery;
  /** The subscription after the attempt; null when a REST hook answered 410 and is removed. */
  subAfter: Subscription | null;
  /** Whether `subAfter` differs from the stored subscription (to write). */
  subChanged: boolean;
  removed: boolean;
  disabled: 'gone' | 'failing' | null;
}

/**
 * Applies one attempt's outcome to the delivery as stored and its subscription (pure): the attempt
 * appended, the retry decision of `decide()`, `failing_since` updated, the subscription disabled
 * (or a REST hook removed on 410, as its unsubscribe would) when the policy says so.
 * @param now epoch ms when the attempt's result arrived.
 */
export function applyAttempt(
  current: Delivery,
  currentSub: Subscription,
  outcome: AttemptOutcome,
  attempt: Attempt,
  policy: RetryPolicy,
  now: number,
): AttemptRecord {
  const nowIso = new Date(now).toISOString();
  const attemptCount = current.attempt_count + 1;
  const decision = decide({
    ok: outcome.ok,
    statusCode: outcome.statusCode,
    retryAfterMs: outcome.retryAfterMs,
    attemptCount,
    finalAttempt: current.final_attempt,
    scheduleMs: policy.retryScheduleMs,
    failingSince: currentSub.failing_since ? Date.parse(currentSub.failing_since) : null,
    disableAfterMs: policy.disableAfterMs,
    now,
    random: policy.random,
  });
  const next: Delivery = {
    ...current,
    attempts: [...current.attempts, attempt],
    attempt_count: attemptCount,
    status: decision.status,
    final_attempt: false,
    next_attempt_at: decision.nextAttemptAt === null ? null : new Date(decision.nextAttemptAt).toISOString(),
    updated_at: nowIso,
  };
  const failingSince = decision.failingSince === null ? null : new Date(decision.failingSince).toISOString();
  const base: Subscription = { ...currentSub, failing_since: failingSince };
  if (decision.disable === 'gone' && isHook(currentSub))
    return { next, subAfter: null, subChanged: true, removed: true, disabled: decision.disable };
  if (decision.disable && currentSub.status === 'active') {
    const subAfter: Subscription = {
      ...base,
      status: 'disabled',
      disabled_reason: decision.disable,
      disabled_at: nowIso,
      updated_at: nowIso,
    };
    return { next, subAfter, subChanged: true, removed: false, disabled: decision.disable };
  }
  return { next, subAfter: base, subChanged: failingSince !== currentSub.failing_since, removed: false, disabled: decision.disable };
}
