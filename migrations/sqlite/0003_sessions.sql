-- The session registry: one row per WhatsApp account linked (or being linked) as a
-- companion device. Session ids are chosen by the caller and unique per gateway, like the
-- original WAREST and WAHA; reads are always scoped to the owning registry.
CREATE TABLE sessions (
    id                TEXT PRIMARY KEY,
    registry          TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    label             TEXT,
    status            TEXT NOT NULL,
    auto_start        INTEGER NOT NULL DEFAULT 1,
    metadata          TEXT NOT NULL DEFAULT '{}',
    webhook_url       TEXT,
    webhook_secret    TEXT,
    flags             TEXT NOT NULL DEFAULT '{}',
    last_error        TEXT,
    me_jid            TEXT,
    me_lid            TEXT,
    me_push_name      TEXT,
    me_platform       TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    last_connected_at INTEGER
);
CREATE INDEX sessions_registry ON sessions (registry);
