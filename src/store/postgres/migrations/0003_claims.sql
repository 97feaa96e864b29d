-- Batched delivery claims (`SharedStore.claimDue`).
-- Due deliveries are claimed oldest first, ties in event order: the index walks them in that order,
-- so a claim reads a batch's worth of rows however many deliveries are pending.
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, event_id) WHERE status = 'pending';
-- Counting a subscription's attempts in flight reads only the deliveries claimed right now (a
-- claim's `claimed_until` is cleared when its attempt is recorded), not every delivery ever claimed.
CREATE INDEX deliveries_in_flight ON deliveries (subscription_id) WHERE claimed_until IS NOT NULL;
