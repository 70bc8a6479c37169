-- The risk step (issue 18): a reserved order is assessed before payment. risk_review is AWAITING
-- (assessment asked), HELD (for review: exempt from the saga timeout) or APPROVED; NULL when risk never
-- assessed the order. A review that released the order restarts its saga clock (risk_released_at).
ALTER TABLE orders ADD COLUMN IF NOT EXISTS risk_review text
  CHECK (risk_review IN ('AWAITING', 'HELD', 'APPROVED'));
ALTER TABLE orders ADD COLUMN IF NOT EXISTS risk_released_at timestamptz;
ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_cancellation_reason_check;
ALTER TABLE orders ADD CONSTRAINT orders_cancellation_reason_check
  CHECK (cancellation_reason IN ('OUT_OF_STOCK', 'PAYMENT_DECLINED', 'TIMED_OUT', 'CUSTOMER_REQUESTED',
                                 'RISK_REJECTED'));
