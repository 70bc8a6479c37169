-- The relay no longer learns of new rows from a NOTIFY: whoever commits outbox rows hands them to the
-- relay in process after COMMIT (platform/src/outbox/outbox.ts). A NOTIFY per transaction cost every
-- writer a notification and every relay a wake-up and a claim statement; drop the trigger.
DROP TRIGGER IF EXISTS outbox_notify ON outbox;
DROP FUNCTION IF EXISTS outbox_notify();

-- The safety pass asks when the next unpublished row falls due (min(next_attempt_at)): one index probe.
CREATE INDEX IF NOT EXISTS outbox_next_attempt ON outbox (next_attempt_at) WHERE published_at IS NULL;
