-- Inbound pipeline: the event outbox (every webhook event, stored before anyone is told),
-- one delivery row per event and target (the dispatcher's queue), the attempt log, the
-- dead-letter table, extra webhook targets, and the message store (messages, chats,
-- contacts, media) written in the same transaction as the outbox row.

CREATE TABLE webhook_events (
    seq        BIGINT AUTO_INCREMENT PRIMARY KEY,
    id         VARCHAR(191) NOT NULL UNIQUE,
    session_id VARCHAR(191) NOT NULL,
    registry   VARCHAR(191) NOT NULL,
    username   LONGTEXT NOT NULL,
    event      LONGTEXT NOT NULL,
    -- The exact bytes that are signed and POSTed, on every attempt and replay.
    body       LONGTEXT NOT NULL,
    created_at BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX webhook_events_session ON webhook_events (session_id, seq);
CREATE INDEX webhook_events_registry ON webhook_events (registry, seq);

CREATE TABLE webhook_deliveries (
    id           BIGINT AUTO_INCREMENT PRIMARY KEY,
    event_seq    BIGINT NOT NULL REFERENCES webhook_events(seq) ON DELETE CASCADE,
    session_id   VARCHAR(191) NOT NULL,
    target_kind  LONGTEXT NOT NULL,
    target_id    LONGTEXT,
    url          VARCHAR(191) NOT NULL,
    headers      LONGTEXT NOT NULL DEFAULT '{}',
    state        VARCHAR(191) NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    next_at      BIGINT NOT NULL,
    locked_until BIGINT,
    last_status  BIGINT,
    last_error   LONGTEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_at);
CREATE INDEX webhook_deliveries_queue ON webhook_deliveries (session_id, url, state, id);

CREATE TABLE webhook_attempts (
    id          BIGINT AUTO_INCREMENT PRIMARY KEY,
    delivery_id BIGINT NOT NULL,
    event_id    LONGTEXT NOT NULL,
    event       LONGTEXT NOT NULL,
    session_id  VARCHAR(191) NOT NULL,
    url         LONGTEXT NOT NULL,
    attempt     BIGINT NOT NULL,
    status      BIGINT,
    error       LONGTEXT,
    duration_ms BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX webhook_attempts_session ON webhook_attempts (session_id, id);

CREATE TABLE webhook_dead_letters (
    id          VARCHAR(191) PRIMARY KEY,
    delivery_id BIGINT NOT NULL,
    event_seq   BIGINT NOT NULL,
    event_id    LONGTEXT NOT NULL,
    session_id  VARCHAR(191) NOT NULL,
    registry    LONGTEXT NOT NULL,
    event       LONGTEXT NOT NULL,
    url         LONGTEXT NOT NULL,
    attempts    BIGINT NOT NULL,
    last_status BIGINT,
    last_error  LONGTEXT,
    created_at  BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX webhook_dead_letters_session ON webhook_dead_letters (session_id, created_at);

-- Targets besides the session's own webhook_url, each with an optional event filter and
-- custom headers. kind 'primary' holds the filter/headers of the session's own URL.
CREATE TABLE webhook_targets (
    id         VARCHAR(191) PRIMARY KEY,
    session_id VARCHAR(191) NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    kind       LONGTEXT NOT NULL,
    url        LONGTEXT,
    secret     LONGTEXT,
    events     LONGTEXT NOT NULL DEFAULT '[]',
    headers    LONGTEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX webhook_targets_session ON webhook_targets (session_id);

CREATE TABLE messages (
    session_id   VARCHAR(191) NOT NULL,
    chat_jid     VARCHAR(191) NOT NULL,
    id           VARCHAR(191) NOT NULL,
    sender_jid   LONGTEXT,
    sender_lid   LONGTEXT,
    from_me      BIGINT NOT NULL,
    direction    LONGTEXT NOT NULL,
    content_type LONGTEXT NOT NULL,
    content      LONGTEXT NOT NULL,
    ts           BIGINT NOT NULL,
    edited_at    BIGINT,
    revoked_at   BIGINT,
    status       LONGTEXT,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (session_id, chat_jid, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX messages_chat ON messages (session_id, chat_jid, ts);

CREATE TABLE chats (
    session_id      VARCHAR(191) NOT NULL,
    jid             VARCHAR(191) NOT NULL,
    name            LONGTEXT,
    last_message_id LONGTEXT,
    last_message_at BIGINT,
    unread_count    BIGINT NOT NULL DEFAULT 0,
    muted_until     BIGINT,
    archived        BIGINT NOT NULL DEFAULT 0,
    pinned          BIGINT NOT NULL DEFAULT 0,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (session_id, jid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE contacts (
    session_id VARCHAR(191) NOT NULL,
    jid        VARCHAR(191) NOT NULL,
    lid        LONGTEXT,
    push_name  LONGTEXT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (session_id, jid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE media (
    id         VARCHAR(191) PRIMARY KEY,
    session_id VARCHAR(191) NOT NULL,
    message_id LONGTEXT NOT NULL,
    mimetype   LONGTEXT NOT NULL,
    size       BIGINT NOT NULL,
    path       LONGTEXT NOT NULL,
    created_at BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX media_session ON media (session_id);
