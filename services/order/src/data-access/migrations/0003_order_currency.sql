-- Issue 17: an order is paid in one currency (ISO 4217). Orders placed before were priced in euro
-- cents. A new order placed without a currency (public API version 1) has '' until inventory
-- reserves it, and then the currency its products are priced in.
ALTER TABLE orders ADD COLUMN currency text NOT NULL DEFAULT 'EUR';
ALTER TABLE orders ALTER COLUMN currency SET DEFAULT '';
