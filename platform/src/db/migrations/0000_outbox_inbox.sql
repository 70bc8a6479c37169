-- Platform tables every service database carries: the transactional outbox and the inbox.

-- Events written in the same transaction as the state change that caused them.
-- The relay publishes pending rows (published_at IS NULL) and marks them published once the bus accepted them.
CREATE TABLE IF NOT EXISTS outbox (
  seq             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id        uuid NOT NULL UNIQUE,
  subject         text NOT NULL,
  event_type      text NOT NULL,
  payload         bytea NOT NULL,
  headers         jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
  published_at    timestamptz,
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  last_error      text
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (seq) WHERE published_at IS NULL;
CREATE INDEX IF NOT EXISTS outbox_published ON outbox (published_at) WHERE published_at IS NOT NULL;

-- Wakes the relay as soon as a transaction that wrote events commits (one notification per statement).
CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('outbox', '');
  RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS outbox_notify ON outbox;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

-- Events a subscription has applied, recorded in the same transaction as their effects,
-- so a redelivered event is recognised and skipped.
CREATE TABLE IF NOT EXISTS inbox (
  subscription text NOT NULL,
  event_id     text NOT NULL,
  event_type   text NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (subscription, event_id)
);
