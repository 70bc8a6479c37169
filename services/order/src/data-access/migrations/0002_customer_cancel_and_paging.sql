-- A customer may cancel their order (CUSTOMER_REQUESTED), also once it is confirmed; the key of the
-- cancel request that did it is kept, so its retries answer "replayed".
ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_cancellation_reason_check;
ALTER TABLE orders ADD CONSTRAINT orders_cancellation_reason_check
  CHECK (cancellation_reason IN ('OUT_OF_STOCK', 'PAYMENT_DECLINED', 'TIMED_OUT', 'CUSTOMER_REQUESTED'));
ALTER TABLE orders ADD COLUMN IF NOT EXISTS cancel_request_key text;

-- Every list is keyset-paged newest first on (placed_at, id), both descending.
-- A customer's orders (GET /v1/orders): replaces orders_by_customer (customer_id, placed_at).
CREATE INDEX IF NOT EXISTS orders_by_customer_page ON orders (customer_id, placed_at DESC, id DESC);
DROP INDEX IF EXISTS orders_by_customer;
-- The admin search without a customer: by placement time (a time range, or a common status such as
-- CONFIRMED read with a filter)...
CREATE INDEX IF NOT EXISTS orders_by_placed_page ON orders (placed_at DESC, id DESC);
-- ...and the rare statuses through their own partial indexes, which only their rows enter: open
-- orders (also the saga sweeper's scan, oldest first; replaces orders_open) and cancelled ones.
CREATE INDEX IF NOT EXISTS orders_open_page ON orders (placed_at DESC, id DESC)
  WHERE status IN ('PENDING', 'STOCK_RESERVED');
DROP INDEX IF EXISTS orders_open;
CREATE INDEX IF NOT EXISTS orders_cancelled_page ON orders (placed_at DESC, id DESC)
  WHERE status = 'CANCELLED';
