import type { Delivery } from '../src/store/schema.js';
import { newId } from '../src/util/ids.js';

/** A delivery as the dispatcher creates it: pending, due at `ts` (its creation time, ISO), no attempt yet. */
export function pendingDelivery(eventId: string, subscriptionId: string, ts: string): Delivery {
  return {
    id: newId('dlv'),
    event_id: eventId,
    subscription_id: subscriptionId,
    status: 'pending',
    trigger: 'dispatch',
    attempt_count: 0,
    next_attempt_at: ts,
    final_attempt: false,
    created_at: ts,
    updated_at: ts,
    attempts: [],
  };
}

/**
 * A delivery that succeeded at its first attempt (a 204 in 3 ms), as retained history for the
 * benchmarks that measure a store holding many of them. `ts` is its creation and attempt time (ISO).
 */
export function deliveredDelivery(eventId: string, subscriptionId: string, ts: string): Delivery {
  return {
    ...pendingDelivery(eventId, subscriptionId, ts),
    status: 'succeeded',
    attempt_count: 1,
    next_attempt_at: null,
    attempts: [
      {
        id: newId('att'),
        attempted_at: ts,
        duration_ms: 3,
        status_code: 204,
        error: null,
        response_excerpt: null,
        response_headers: {},
        trigger: 'schedule',
      },
    ],
  };
}
