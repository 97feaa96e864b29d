-- A number every change to `subscriptions` raises, in the changing transaction. A process keeps the
-- subscriptions it read with the number they had; each delivery claim checks the number in the same
-- statement and claims nothing when it moved (the process reads the subscriptions again), so a
-- subscription disabled, paused or deleted is never claimed for from a stale copy, and a claim
-- need not read every subscription first.
CREATE TABLE subscriptions_version (
  one boolean PRIMARY KEY DEFAULT true CHECK (one),
  version bigint NOT NULL
);
INSERT INTO subscriptions_version (version) VALUES (1);

CREATE FUNCTION subscriptions_changed() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  UPDATE subscriptions_version SET version = version + 1;
  RETURN NULL;
END $$;

CREATE TRIGGER subscriptions_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON subscriptions
  FOR EACH STATEMENT EXECUTE FUNCTION subscriptions_changed();
