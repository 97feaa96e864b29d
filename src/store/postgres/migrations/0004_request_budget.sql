-- One upstream request budget per API key across every bridge process (`SharedStore.takeRequestSlot`).
-- `key` is a SHA-256 of the source and its API key, never the key itself.

-- The row every grant of a key locks first, so grants of one key take turns; and a 429's pause,
-- which holds every process.
CREATE TABLE request_budgets (
  key text COLLATE "C" PRIMARY KEY,
  paused_until timestamptz
);

-- Request starts of the last 60 s per key (older rows are deleted by the next grant).
CREATE TABLE request_starts (
  key text COLLATE "C" NOT NULL,
  at timestamptz NOT NULL
);
CREATE INDEX request_starts_key_at ON request_starts (key, at);
