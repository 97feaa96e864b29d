-- Batched delivery claims (`SharedStore.claimDue`): counting a subscription's attempts in flight
-- reads only the deliveries claimed right now (a claim's `claimed_until` is cleared when its attempt
-- is recorded), not every delivery ever claimed.
CREATE INDEX deliveries_in_flight ON deliveries (subscription_id) WHERE claimed_until IS NOT NULL;
