-- Inventory: the catalog with its stock counters, reservations per order, and the stock ledger.

CREATE TABLE IF NOT EXISTS products (
  sku          text PRIMARY KEY CHECK (sku ~ '^[A-Z0-9-]{1,32}$'),
  name         text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  price_cents  bigint NOT NULL CHECK (price_cents >= 0),
  -- can be reserved
  available    integer NOT NULL DEFAULT 0 CHECK (available >= 0),
  -- held by RESERVED reservations
  reserved     integer NOT NULL DEFAULT 0 CHECK (reserved >= 0),
  -- left with confirmed orders
  sold         integer NOT NULL DEFAULT 0 CHECK (sold >= 0),
  updated_at   timestamptz NOT NULL DEFAULT now()
);

-- At most one reservation per order (unique order_id). A CANCELLED row without lines is the
-- tombstone of an order cancelled before its stock was reserved; a REJECTED row records a refusal.
CREATE TABLE IF NOT EXISTS reservations (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  order_id    text NOT NULL UNIQUE,
  status      text NOT NULL CHECK (status IN ('RESERVED', 'CONFIRMED', 'CANCELLED', 'EXPIRED', 'REJECTED')),
  created_at  timestamptz NOT NULL,
  expires_at  timestamptz,
  settled_at  timestamptz,
  CHECK ((status = 'RESERVED') = (settled_at IS NULL)),
  CHECK (status NOT IN ('RESERVED', 'CONFIRMED', 'EXPIRED') OR expires_at IS NOT NULL)
);

-- The expiry sweep looks only at live reservations.
CREATE INDEX IF NOT EXISTS reservations_reserved_expiry ON reservations (expires_at) WHERE status = 'RESERVED';

CREATE TABLE IF NOT EXISTS reservation_lines (
  reservation_id    uuid NOT NULL REFERENCES reservations (id),
  sku               text NOT NULL REFERENCES products (sku),
  quantity          integer NOT NULL CHECK (quantity > 0),
  unit_price_cents  bigint NOT NULL CHECK (unit_price_cents >= 0),
  PRIMARY KEY (reservation_id, sku)
);

-- Every change of a product's total stock (seed and operator adjustments). For each product:
-- available + reserved + sold = sum(delta).
CREATE TABLE IF NOT EXISTS stock_adjustments (
  id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  sku     text NOT NULL REFERENCES products (sku),
  delta   integer NOT NULL CHECK (delta <> 0),
  reason  text NOT NULL CHECK (reason IN ('SEED', 'ADJUSTMENT')),
  at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS stock_adjustments_sku ON stock_adjustments (sku);
