-- The inbox is pruned by age (platform/src/inbox/inbox-cleanup.ts): this index makes each batch of
-- the delete an index range scan over the oldest rows instead of a scan of the whole table.
CREATE INDEX IF NOT EXISTS inbox_processed_at ON inbox (processed_at);
