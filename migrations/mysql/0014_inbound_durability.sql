-- whatsapp-rust's pending-inbound buffer: a decrypted inbound message is kept here from
-- before the inbound durability hook runs until the hook has committed it, so a crash in
-- between replays it from this copy when the server redelivers the (unacked) stanza.
CREATE TABLE wa_pending_inbound (
    session_id VARCHAR(191) NOT NULL,
    chat       VARCHAR(191) NOT NULL,
    sender     VARCHAR(191) NOT NULL,
    msg_id     VARCHAR(191) NOT NULL,
    message    LONGBLOB NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (session_id, chat, sender, msg_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX wa_pending_inbound_created_at ON wa_pending_inbound (session_id, created_at);

-- Which inbound messages the durability hook already stored, keyed as whatsapp-rust
-- dedupes (stanza ids are unique only within a chat and sender). Written in the same
-- transaction as the message rows and outbox events, so a replayed batch adds neither.
CREATE TABLE inbound_seen (
    session_id VARCHAR(191) NOT NULL,
    chat_jid   VARCHAR(191) NOT NULL,
    sender_jid VARCHAR(191) NOT NULL,
    message_id VARCHAR(191) NOT NULL,
    seen_at    BIGINT NOT NULL,
    PRIMARY KEY (session_id, chat_jid, sender_jid, message_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX inbound_seen_at ON inbound_seen (seen_at);
