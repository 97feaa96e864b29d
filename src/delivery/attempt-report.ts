import type { Logger } from 'pino';
import { metrics } from '../metrics.js';
import type { Delivery, StoredEvent, Subscription } from '../store/schema.js';
import type { AttemptOutcome } from './sender.js';

/**
 * The metrics and the one info log line of a recorded delivery attempt, the same for the embedded
 * and the shared (PostgreSQL) worker. Logs ids, type, status and timing only, never the body.
 * @param next the delivery as recorded after the attempt
 * @param nowMs when the attempt finished (epoch ms), for the change-to-delivery latency of a success
 */
export function reportAttempt(
  logger: Logger,
  event: StoredEvent,
  sub: Pick<Subscription, 'id'>,
  next: Delivery,
  outcome: AttemptOutcome,
  nowMs: number,
): void {
  metrics.deliveries.inc({ outcome: next.status === 'pending' ? 'retry' : next.status });
  if (outcome.ok) metrics.deliveryLatency.observe((nowMs - Date.parse(event.payload.timestamp)) / 1000);
  logger.info(
    {
      delivery: next.id,
      event: event.payload.id,
      type: event.payload.type,
      subscription: sub.id,
      attempt: next.attempt_count,
      status: outcome.statusCode,
      error: outcome.error,
      ms: outcome.durationMs,
      outcome: next.status,
      next_attempt_at: next.next_attempt_at,
    },
    outcome.ok ? 'delivered' : 'delivery attempt failed',
  );
}
