-- The simulated payment provider's own ledger. It lives in the payment database so that its
-- entries commit in the same transaction as the payment row that caused them.
CREATE TABLE IF NOT EXISTS provider_ledger (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind            text NOT NULL CHECK (kind IN ('capture', 'refund')),
  order_id        text NOT NULL,
  amount_cents    bigint NOT NULL CHECK (amount_cents > 0),
  -- capture: its own reference; refund: the reference of the capture it returns.
  provider_ref    text NOT NULL,
  idempotency_key text NOT NULL UNIQUE,
  at              timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS provider_ledger_by_ref ON provider_ledger (provider_ref);
