-- whatsapp-rust's pending-inbound buffer: a decrypted inbound message is kept here from
-- before the inbound durability hook runs until the hook has committed it, so a crash in
-- between replays it from this copy when the server redelivers the (unacked) stanza.
CREATE TABLE wa_pending_inbound (
    session_id TEXT NOT NULL,
    chat       TEXT NOT NULL,
    sender     TEXT NOT NULL,
    msg_id     TEXT NOT NULL,
    message    BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (session_id, chat, sender, msg_id)
);
CREATE INDEX wa_pending_inbound_created_at ON wa_pending_inbound (session_id, created_at);

-- Which inbound messages the durability hook already stored, keyed as whatsapp-rust
-- dedupes (stanza ids are unique only within a chat and sender). Written in the same
-- transaction as the message rows and outbox events, so a replayed batch adds neither.
CREATE TABLE inbound_seen (
    session_id TEXT NOT NULL,
    chat_jid   TEXT NOT NULL,
    sender_jid TEXT NOT NULL,
    message_id TEXT NOT NULL,
    seen_at    INTEGER NOT NULL,
    PRIMARY KEY (session_id, chat_jid, sender_jid, message_id)
);
CREATE INDEX inbound_seen_at ON inbound_seen (seen_at);
