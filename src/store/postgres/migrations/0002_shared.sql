-- Several bridge processes on one database (README "PostgreSQL").

-- Who polls a source resource: one holder at a time, until `expires_at` unless renewed.
CREATE TABLE leases (
  name text COLLATE "C" PRIMARY KEY,
  holder text NOT NULL,
  expires_at timestamptz NOT NULL
);

-- Who is attempting a delivery right now. A claim ends when the attempt is recorded (the
-- attempt count or status changes) or when `claimed_until` passes (its process died).
ALTER TABLE deliveries
  ADD COLUMN attempt_count integer NOT NULL DEFAULT 0,
  ADD COLUMN claimed_by text,
  ADD COLUMN claimed_until timestamptz,
  -- When the last attempt was claimed: `rate_limit_per_second` counts these across processes.
  ADD COLUMN claimed_at timestamptz;
CREATE INDEX deliveries_claimed ON deliveries (subscription_id, claimed_at) WHERE claimed_at IS NOT NULL;
