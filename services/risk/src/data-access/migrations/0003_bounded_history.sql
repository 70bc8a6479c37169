-- A customer's features must not cost more as their history grows: the window's sums read only the
-- window's index range (amount in the index, so no heap visit), declines read only the rejected rows,
-- and first seen is one index probe. Before, every assessment aggregated the customer's whole history.
CREATE INDEX IF NOT EXISTS assessments_window ON assessments (customer_id, placed_at) INCLUDE (amount_cents);
DROP INDEX IF EXISTS assessments_by_customer;
CREATE INDEX IF NOT EXISTS assessments_rejected ON assessments (customer_id) WHERE final_decision = 'REJECT';
