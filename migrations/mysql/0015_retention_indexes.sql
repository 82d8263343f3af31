-- The retention sweeper (src/system/retention.rs) picks rows by age; without these it
-- would scan whole tables every hour.
CREATE INDEX webhook_events_created ON webhook_events (created_at);
CREATE INDEX webhook_attempts_created ON webhook_attempts (created_at);
CREATE INDEX outbound_messages_updated ON outbound_messages (updated_at);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
