-- /metrics and the health checks read the depth and oldest age of the send queue at every
-- scrape; the table also holds every finished send of the retention window, so without
-- this partial index each scrape would scan it whole.
CREATE INDEX outbound_messages_waiting ON outbound_messages (created_at);
