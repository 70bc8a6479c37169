-- Issue 17: a product's price is in a currency (ISO 4217). Every existing product was priced in
-- euro cents, so that is what they keep; an order is reserved only from products of its currency.
ALTER TABLE products
  ADD COLUMN currency text NOT NULL DEFAULT 'EUR' CONSTRAINT products_currency_iso CHECK (currency ~ '^[A-Z]{3}$');
