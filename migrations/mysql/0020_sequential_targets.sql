-- A target may wait for the targets listed before it (`fanout: "sequential"`): its
-- delivery of an event starts once theirs are delivered or dead, as the original WAREST
-- did with WAREST_WEBHOOK_PARALLEL_TARGETS=false. The delivery row carries the choice made
-- when the event was stored, so a later change of the targets leaves stored events alone.
ALTER TABLE webhook_targets ADD COLUMN sequential BIGINT NOT NULL DEFAULT 0;
ALTER TABLE webhook_deliveries ADD COLUMN after_previous BIGINT NOT NULL DEFAULT 0;
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_seq, state, id);
