-- The bridge's state, one table per entity. Each row keeps the entity whole in `doc`: its JSON, or
-- with BRIDGE_ENCRYPTION_KEY set, `enc1:` + AES-256-GCM ciphertext of it, so a dump shows no record
-- values, payloads, URLs or secrets. The other columns are the plain keys that queries filter and
-- sort on. Ids and ISO 8601 times are text in the "C" collation, so they sort as the bridge's own
-- comparisons do (byte order: ULID ids by creation, times chronologically).

CREATE TABLE meta (
  key text COLLATE "C" PRIMARY KEY,
  value text NOT NULL
);

CREATE TABLE subscriptions (
  id text COLLATE "C" PRIMARY KEY,
  created_at text COLLATE "C" NOT NULL,
  doc text NOT NULL
);

CREATE TABLE api_keys (
  id text COLLATE "C" PRIMARY KEY,
  -- Hex SHA-256 of a 32-byte random key: looked up on every API-key request.
  hash text COLLATE "C" NOT NULL UNIQUE,
  created_at text COLLATE "C" NOT NULL,
  doc text NOT NULL
);

-- Per source resource (`cliniko:patients`): its cursor and status.
CREATE TABLE resources (
  key text COLLATE "C" PRIMARY KEY,
  doc text NOT NULL
);

CREATE TABLE snapshots (
  resource text COLLATE "C" NOT NULL,
  id text COLLATE "C" NOT NULL,
  version text NOT NULL,
  -- False for a deletion tombstone (`deleted_at` set).
  live boolean NOT NULL,
  doc text NOT NULL,
  PRIMARY KEY (resource, id)
);

CREATE TABLE events (
  id text COLLATE "C" PRIMARY KEY,
  type text COLLATE "C" NOT NULL,
  resource text COLLATE "C" NOT NULL,
  record_id text COLLATE "C" NOT NULL,
  detected_at text COLLATE "C" NOT NULL,
  dispatched boolean NOT NULL,
  doc text NOT NULL
);
CREATE INDEX events_undispatched ON events (id) WHERE NOT dispatched;
CREATE INDEX events_record ON events (resource, record_id, id);
CREATE INDEX events_detected ON events (detected_at);

CREATE TABLE deliveries (
  id text COLLATE "C" PRIMARY KEY,
  event_id text COLLATE "C" NOT NULL,
  subscription_id text COLLATE "C" NOT NULL,
  status text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
  next_attempt_at text COLLATE "C",
  created_at text COLLATE "C" NOT NULL,
  -- The delivery with its attempts.
  doc text NOT NULL
);
CREATE INDEX deliveries_event ON deliveries (event_id, id);
CREATE INDEX deliveries_subscription ON deliveries (subscription_id, id);
CREATE INDEX deliveries_status ON deliveries (status, id);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';

CREATE TABLE audit (
  id text COLLATE "C" PRIMARY KEY,
  at text COLLATE "C" NOT NULL,
  actor text COLLATE "C" NOT NULL,
  doc text NOT NULL
);
CREATE INDEX audit_at ON audit (at);
