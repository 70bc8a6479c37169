-- The order aggregate, its lines and its saga history. One row per accepted order.
CREATE TABLE IF NOT EXISTS orders (
  id                  uuid PRIMARY KEY,
  customer_id         text NOT NULL,
  idempotency_key     text NOT NULL,
  request_fingerprint text NOT NULL,
  status              text NOT NULL CHECK (status IN ('PENDING', 'STOCK_RESERVED', 'CONFIRMED', 'CANCELLED')),
  cancellation_reason text CHECK (cancellation_reason IN ('OUT_OF_STOCK', 'PAYMENT_DECLINED', 'TIMED_OUT')),
  payment_method      text NOT NULL,
  total_cents         bigint NOT NULL DEFAULT 0 CHECK (total_cents >= 0),
  reservation_id      text,
  placed_at           timestamptz NOT NULL,
  updated_at          timestamptz NOT NULL,
  UNIQUE (customer_id, idempotency_key),
  CHECK ((status = 'CANCELLED') = (cancellation_reason IS NOT NULL))
);
-- The saga sweeper scans only open orders.
CREATE INDEX IF NOT EXISTS orders_open ON orders (placed_at) WHERE status IN ('PENDING', 'STOCK_RESERVED');
CREATE INDEX IF NOT EXISTS orders_by_customer ON orders (customer_id, placed_at DESC);

CREATE TABLE IF NOT EXISTS order_lines (
  order_id         uuid NOT NULL REFERENCES orders (id),
  line_no          integer NOT NULL,
  sku              text NOT NULL,
  quantity         integer NOT NULL CHECK (quantity > 0),
  unit_price_cents bigint CHECK (unit_price_cents >= 0),
  PRIMARY KEY (order_id, line_no)
);

-- Every transition of the saga with its time (PENDING included).
CREATE TABLE IF NOT EXISTS order_status_history (
  order_id uuid NOT NULL REFERENCES orders (id),
  seq      integer NOT NULL,
  status   text NOT NULL,
  at       timestamptz NOT NULL,
  PRIMARY KEY (order_id, seq)
);
