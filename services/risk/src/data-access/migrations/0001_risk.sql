-- One row per assessed order: the first decision (APPROVE, REVIEW or REJECT), what made it (the
-- plugin's name, version and content hash, or the fail policy), and the final decision once a review
-- ended. The customer columns are risk's own history for the features (velocity, declines, first seen).
CREATE TABLE IF NOT EXISTS assessments (
  order_id        text PRIMARY KEY,
  customer_id     text NOT NULL,
  amount_cents    bigint NOT NULL CHECK (amount_cents >= 0),
  currency        text NOT NULL,
  placed_at       timestamptz NOT NULL,
  decision        text NOT NULL CHECK (decision IN ('APPROVE', 'REVIEW', 'REJECT')),
  decided_by      text NOT NULL CHECK (decided_by IN ('RULE', 'FAIL_POLICY')),
  reasons         text[] NOT NULL,
  score           integer NOT NULL CHECK (score BETWEEN 0 AND 1000),
  plugin_name     text,
  plugin_version  text,
  plugin_sha256   text,
  fail_policy     boolean NOT NULL,
  -- Why no plugin scored the order (timeout, trap, memory, invalid-output, breaker-open, no-plugin).
  failure         text,
  -- A candidate version scored in shadow mode: its outcome, never enforced.
  shadow          jsonb,
  -- APPROVE or REJECT: the decision the order got in the end (a REVIEW's is set when the review ends).
  final_decision  text CHECK (final_decision IN ('APPROVE', 'REJECT')),
  assessed_at     timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS assessments_by_customer ON assessments (customer_id, placed_at);

-- Orders held for review (decision REVIEW) until an admin decides or the review timeout applies the
-- fail policy.
CREATE TABLE IF NOT EXISTS reviews (
  order_id        text PRIMARY KEY REFERENCES assessments (order_id),
  status          text NOT NULL CHECK (status IN ('OPEN', 'APPROVED', 'REJECTED')),
  opened_at       timestamptz NOT NULL,
  due_at          timestamptz NOT NULL,
  decided_at      timestamptz,
  decided_by      text CHECK (decided_by IN ('ADMIN', 'REVIEW_TIMEOUT')),
  decided_by_user text,
  fail_policy     boolean NOT NULL DEFAULT false,
  CHECK ((status = 'OPEN') = (decided_at IS NULL))
);
CREATE INDEX IF NOT EXISTS reviews_open ON reviews (due_at) WHERE status = 'OPEN';
