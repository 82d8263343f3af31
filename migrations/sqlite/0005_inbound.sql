-- Inbound pipeline: the event outbox (every webhook event, stored before anyone is told),
-- one delivery row per event and target (the dispatcher's queue), the attempt log, the
-- dead-letter table, extra webhook targets, and the message store (messages, chats,
-- contacts, media) written in the same transaction as the outbox row.

CREATE TABLE webhook_events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    session_id TEXT NOT NULL,
    registry   TEXT NOT NULL,
    username   TEXT NOT NULL,
    event      TEXT NOT NULL,
    -- The exact bytes that are signed and POSTed, on every attempt and replay.
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX webhook_events_session ON webhook_events (session_id, seq);
CREATE INDEX webhook_events_registry ON webhook_events (registry, seq);

CREATE TABLE webhook_deliveries (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    event_seq    INTEGER NOT NULL REFERENCES webhook_events(seq) ON DELETE CASCADE,
    session_id   TEXT NOT NULL,
    target_kind  TEXT NOT NULL,
    target_id    TEXT,
    url          TEXT NOT NULL,
    headers      TEXT NOT NULL DEFAULT '{}',
    state        TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      INTEGER NOT NULL,
    locked_until INTEGER,
    last_status  INTEGER,
    last_error   TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_at);
CREATE INDEX webhook_deliveries_queue ON webhook_deliveries (session_id, url, state, id);

CREATE TABLE webhook_attempts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id INTEGER NOT NULL,
    event_id    TEXT NOT NULL,
    event       TEXT NOT NULL,
    session_id  TEXT NOT NULL,
    url         TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    status      INTEGER,
    error       TEXT,
    duration_ms INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX webhook_attempts_session ON webhook_attempts (session_id, id);

CREATE TABLE webhook_dead_letters (
    id          TEXT PRIMARY KEY,
    delivery_id INTEGER NOT NULL,
    event_seq   INTEGER NOT NULL,
    event_id    TEXT NOT NULL,
    session_id  TEXT NOT NULL,
    registry    TEXT NOT NULL,
    event       TEXT NOT NULL,
    url         TEXT NOT NULL,
    attempts    INTEGER NOT NULL,
    last_status INTEGER,
    last_error  TEXT,
    created_at  INTEGER NOT NULL
);
CREATE INDEX webhook_dead_letters_session ON webhook_dead_letters (session_id, created_at);

-- Targets besides the session's own webhook_url, each with an optional event filter and
-- custom headers. kind 'primary' holds the filter/headers of the session's own URL.
CREATE TABLE webhook_targets (
    id         TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    url        TEXT,
    secret     TEXT,
    events     TEXT NOT NULL DEFAULT '[]',
    headers    TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX webhook_targets_session ON webhook_targets (session_id);

CREATE TABLE messages (
    session_id   TEXT NOT NULL,
    chat_jid     TEXT NOT NULL,
    id           TEXT NOT NULL,
    sender_jid   TEXT,
    sender_lid   TEXT,
    from_me      INTEGER NOT NULL,
    direction    TEXT NOT NULL,
    content_type TEXT NOT NULL,
    content      TEXT NOT NULL,
    ts           INTEGER NOT NULL,
    edited_at    INTEGER,
    revoked_at   INTEGER,
    status       TEXT,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (session_id, chat_jid, id)
);
CREATE INDEX messages_chat ON messages (session_id, chat_jid, ts);

CREATE TABLE chats (
    session_id      TEXT NOT NULL,
    jid             TEXT NOT NULL,
    name            TEXT,
    last_message_id TEXT,
    last_message_at INTEGER,
    unread_count    INTEGER NOT NULL DEFAULT 0,
    muted_until     INTEGER,
    archived        INTEGER NOT NULL DEFAULT 0,
    pinned          INTEGER NOT NULL DEFAULT 0,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (session_id, jid)
);

CREATE TABLE contacts (
    session_id TEXT NOT NULL,
    jid        TEXT NOT NULL,
    lid        TEXT,
    push_name  TEXT,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (session_id, jid)
);

CREATE TABLE media (
    id         TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    mimetype   TEXT NOT NULL,
    size       INTEGER NOT NULL,
    path       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX media_session ON media (session_id);
