-- The durable send queue. One row per message to one recipient: it is the queue job while
-- its status is `queued`/`sending`, and the message's status record afterwards (sent →
-- delivered → read/played, or failed with the reason). The WhatsApp message id is chosen
-- when the send is accepted and stored here before the first attempt, so a resend after a
-- crash reuses it and the recipient sees one message.
CREATE TABLE outbound_messages (
    seq             BIGINT AUTO_INCREMENT PRIMARY KEY,
    message_id      VARCHAR(191) NOT NULL,
    session_id      VARCHAR(191) NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    registry        VARCHAR(191) NOT NULL,
    to_jid          LONGTEXT NOT NULL,
    kind            LONGTEXT NOT NULL,
    payload         LONGTEXT NOT NULL,
    status          VARCHAR(191) NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT,
    last_error      LONGTEXT,
    idempotency_key LONGTEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    sent_at         BIGINT,
    delivered_at    BIGINT,
    read_at         BIGINT,
    played_at       BIGINT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE UNIQUE INDEX outbound_messages_id ON outbound_messages (session_id, message_id);
CREATE INDEX outbound_messages_queue ON outbound_messages (session_id, status, seq);
CREATE INDEX outbound_messages_by_id ON outbound_messages (message_id);

-- Idempotency-Key → the first answer, per tenant, for 24 hours. Written in the same
-- transaction as the messages it accepted, so a concurrent duplicate either sees it or
-- loses the unique-key race and reads the winner's answer.
CREATE TABLE idempotency_keys (
    registry     VARCHAR(191) NOT NULL,
    idem_key     VARCHAR(191) NOT NULL,
    request_hash LONGTEXT NOT NULL,
    response     LONGTEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (registry, idem_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Per-session queue switches (paused) that must survive a restart.
CREATE TABLE outbound_queue_state (
    session_id VARCHAR(191) PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    paused     BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
