-- Byte quotas per tenant (WAREST_TENANT_GENERATED_MAX_MB, WAREST_TENANT_QUEUED_MAX_MB).
-- Generated files (`media` rows of the pseudo-session `~generated`) now carry the tenant
-- that asked for them; older ones stay NULL and count for nobody until they expire.
ALTER TABLE media ADD COLUMN registry VARCHAR(191);
CREATE INDEX media_by_tenant ON media (registry, session_id, created_at);
-- A send's stored size (its media is stored with it, base64 in the payload), so a
-- tenant's waiting bytes are one indexed sum instead of a scan of every payload.
ALTER TABLE outbound_messages ADD COLUMN payload_bytes BIGINT NOT NULL DEFAULT 0;
UPDATE outbound_messages SET payload_bytes = OCTET_LENGTH(payload) WHERE status IN ('queued', 'sending');
CREATE INDEX outbound_messages_tenant_backlog ON outbound_messages (registry, status, payload_bytes);
