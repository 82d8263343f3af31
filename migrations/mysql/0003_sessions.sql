-- The session registry: one row per WhatsApp account linked (or being linked) as a
-- companion device. Session ids are chosen by the caller and unique per gateway, like the
-- original WAREST and WAHA; reads are always scoped to the owning registry.
CREATE TABLE sessions (
    id                VARCHAR(191) PRIMARY KEY,
    registry          VARCHAR(191) NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    label             LONGTEXT,
    status            LONGTEXT NOT NULL,
    auto_start        BIGINT NOT NULL DEFAULT 1,
    metadata          LONGTEXT NOT NULL DEFAULT '{}',
    webhook_url       LONGTEXT,
    webhook_secret    LONGTEXT,
    flags             LONGTEXT NOT NULL DEFAULT '{}',
    last_error        LONGTEXT,
    me_jid            LONGTEXT,
    me_lid            LONGTEXT,
    me_push_name      LONGTEXT,
    me_platform       LONGTEXT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    last_connected_at BIGINT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX sessions_registry ON sessions (registry);
