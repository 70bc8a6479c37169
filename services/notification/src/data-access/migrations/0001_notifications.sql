-- One customer notification per order (the primary key): the first terminal event wins.
CREATE TABLE IF NOT EXISTS notifications (
  order_id        text PRIMARY KEY,
  notification_id uuid NOT NULL UNIQUE,
  customer_id     text NOT NULL,
  kind            text NOT NULL CHECK (kind IN ('ORDER_CONFIRMED', 'ORDER_CANCELLED')),
  text            text NOT NULL CHECK (text <> ''),
  created_at      timestamptz NOT NULL
);
