-- One payment record per order (the primary key): a charge is made at most once per order.
CREATE TABLE IF NOT EXISTS payments (
  order_id     text PRIMARY KEY,
  payment_id   uuid NOT NULL UNIQUE,
  status       text NOT NULL CHECK (status IN ('CAPTURED', 'DECLINED', 'REFUNDED', 'VOIDED')),
  amount_cents bigint NOT NULL CHECK (amount_cents >= 0),
  -- The provider's capture reference: present exactly when money was captured (and maybe refunded).
  provider_ref text,
  created_at   timestamptz NOT NULL,
  updated_at   timestamptz NOT NULL,
  CONSTRAINT payments_provider_ref_iff_captured
    CHECK ((status IN ('CAPTURED', 'REFUNDED')) = (provider_ref IS NOT NULL)),
  CONSTRAINT payments_void_has_no_amount CHECK (status <> 'VOIDED' OR amount_cents = 0)
);
