-- How many plugin calls the enforced outcome took: 1, or more when a timeout or a crashed worker was
-- retried (services.risk.plugins.retries); NULL when no call was made (no plugin, breaker open) and
-- for rows assessed before retries existed.
ALTER TABLE assessments
  ADD COLUMN IF NOT EXISTS plugin_attempts integer CONSTRAINT assessments_plugin_attempts_positive CHECK (plugin_attempts >= 1);
