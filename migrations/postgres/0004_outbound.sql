-- The durable send queue. One row per message to one recipient: it is the queue job while
-- its status is `queued`/`sending`, and the message's status record afterwards (sent →
-- delivered → read/played, or failed with the reason). The WhatsApp message id is chosen
-- when the send is accepted and stored here before the first attempt, so a resend after a
-- crash reuses it and the recipient sees one message.
CREATE TABLE outbound_messages (
    seq             BIGSERIAL PRIMARY KEY,
    message_id      TEXT NOT NULL,
    session_id      TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    registry        TEXT NOT NULL,
    to_jid          TEXT NOT NULL,
    kind            TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT,
    last_error      TEXT,
    idempotency_key TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    sent_at         BIGINT,
    delivered_at    BIGINT,
    read_at         BIGINT,
    played_at       BIGINT
);
CREATE UNIQUE INDEX outbound_messages_id ON outbound_messages (session_id, message_id);
CREATE INDEX outbound_messages_queue ON outbound_messages (session_id, status, seq);
CREATE INDEX outbound_messages_by_id ON outbound_messages (message_id);

-- Idempotency-Key → the first answer, per tenant, for 24 hours. Written in the same
-- transaction as the messages it accepted, so a concurrent duplicate either sees it or
-- loses the unique-key race and reads the winner's answer.
CREATE TABLE idempotency_keys (
    registry     TEXT NOT NULL,
    idem_key     TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response     TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (registry, idem_key)
);

-- Per-session queue switches (paused) that must survive a restart.
CREATE TABLE outbound_queue_state (
    session_id TEXT PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    paused     BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);
