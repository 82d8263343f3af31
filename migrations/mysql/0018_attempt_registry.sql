-- Delivery attempts carry the tenant they were made for. They used to be scoped through
-- the sessions table, so after a session id was deleted and created again by another
-- tenant, an attempt logged late (in flight during the delete) showed up for the new
-- owner. Older rows take their event's tenant; rows whose event is gone stay NULL, which
-- only admins see.
ALTER TABLE webhook_attempts ADD COLUMN registry VARCHAR(191);
UPDATE webhook_attempts
   SET registry = (SELECT e.registry FROM webhook_events e WHERE e.id = webhook_attempts.event_id);
CREATE INDEX webhook_attempts_registry ON webhook_attempts (registry, id);
