-- The whatsapp-rust device store (src/sessions/device_store): one logical store per
-- WhatsApp session, every row keyed by session_id. No foreign key to a session registry
-- yet (that table arrives separately); Db::delete_session_device_rows clears a session.
-- Small u32 ids and bools are INTEGER (0/1); opaque records and keys are BLOB.

CREATE TABLE wa_devices (
    session_id TEXT PRIMARY KEY,
    data       TEXT NOT NULL
);

CREATE TABLE wa_identities (
    session_id TEXT NOT NULL,
    address    TEXT NOT NULL,
    identity_key BLOB NOT NULL,
    PRIMARY KEY (session_id, address)
);

CREATE TABLE wa_signal_sessions (
    session_id TEXT NOT NULL,
    address    TEXT NOT NULL,
    record     BLOB NOT NULL,
    PRIMARY KEY (session_id, address)
);

CREATE TABLE wa_prekeys (
    session_id TEXT NOT NULL,
    id         INTEGER NOT NULL,
    record     BLOB NOT NULL,
    uploaded   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (session_id, id)
);

CREATE TABLE wa_signed_prekeys (
    session_id TEXT NOT NULL,
    id         INTEGER NOT NULL,
    record     BLOB NOT NULL,
    PRIMARY KEY (session_id, id)
);

CREATE TABLE wa_sender_keys (
    session_id TEXT NOT NULL,
    address    TEXT NOT NULL,
    record     BLOB NOT NULL,
    PRIMARY KEY (session_id, address)
);

-- seq orders writes so get_latest_sync_key_id returns the key set last.
CREATE TABLE wa_sync_keys (
    session_id    TEXT NOT NULL,
    key_id        BLOB NOT NULL,
    key_data      BLOB NOT NULL,
    fingerprint   BLOB NOT NULL,
    key_timestamp INTEGER NOT NULL,
    seq           INTEGER NOT NULL,
    PRIMARY KEY (session_id, key_id)
);

CREATE TABLE wa_app_state_versions (
    session_id TEXT NOT NULL,
    name       TEXT NOT NULL,
    state      TEXT NOT NULL,
    PRIMARY KEY (session_id, name)
);

CREATE TABLE wa_mutation_macs (
    session_id TEXT NOT NULL,
    name       TEXT NOT NULL,
    index_mac  BLOB NOT NULL,
    version    INTEGER NOT NULL,
    value_mac  BLOB NOT NULL,
    PRIMARY KEY (session_id, name, index_mac)
);

CREATE TABLE wa_sender_key_devices (
    session_id TEXT NOT NULL,
    group_jid  TEXT NOT NULL,
    device_jid TEXT NOT NULL,
    has_key    INTEGER NOT NULL,
    PRIMARY KEY (session_id, group_jid, device_jid)
);
CREATE INDEX wa_sender_key_devices_device ON wa_sender_key_devices (session_id, device_jid);

-- seq orders writes so get_pn_mapping returns the LID mapped to a phone most recently.
CREATE TABLE wa_lid_mappings (
    session_id      TEXT NOT NULL,
    lid             TEXT NOT NULL,
    phone_number    TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    learning_source TEXT NOT NULL,
    seq             INTEGER NOT NULL,
    PRIMARY KEY (session_id, lid)
);
CREATE INDEX wa_lid_mappings_phone ON wa_lid_mappings (session_id, phone_number);

CREATE TABLE wa_base_keys (
    session_id TEXT NOT NULL,
    address    TEXT NOT NULL,
    message_id TEXT NOT NULL,
    base_key   BLOB NOT NULL,
    PRIMARY KEY (session_id, address, message_id)
);

CREATE TABLE wa_device_lists (
    session_id TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    record     TEXT NOT NULL,
    PRIMARY KEY (session_id, user_id)
);

CREATE TABLE wa_group_metadata (
    session_id TEXT NOT NULL,
    group_jid  TEXT NOT NULL,
    data       BLOB NOT NULL,
    PRIMARY KEY (session_id, group_jid)
);

-- An empty token is the byte-less placeholder the issuance path writes.
CREATE TABLE wa_tc_tokens (
    session_id       TEXT NOT NULL,
    jid              TEXT NOT NULL,
    token            BLOB NOT NULL,
    token_timestamp  INTEGER NOT NULL,
    sender_timestamp INTEGER,
    PRIMARY KEY (session_id, jid)
);

-- created_at is unix seconds: the retry sweep passes its cutoff in seconds.
CREATE TABLE wa_sent_messages (
    session_id TEXT NOT NULL,
    chat_jid   TEXT NOT NULL,
    message_id TEXT NOT NULL,
    payload    BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (session_id, chat_jid, message_id)
);
CREATE INDEX wa_sent_messages_created_at ON wa_sent_messages (session_id, created_at);

-- expires_at = 0 means never; message_ts = 0 means unknown.
CREATE TABLE wa_msg_secrets (
    session_id TEXT NOT NULL,
    chat       TEXT NOT NULL,
    sender     TEXT NOT NULL,
    msg_id     TEXT NOT NULL,
    secret     BLOB NOT NULL,
    expires_at INTEGER NOT NULL,
    message_ts INTEGER NOT NULL,
    PRIMARY KEY (session_id, chat, sender, msg_id)
);
CREATE INDEX wa_msg_secrets_expires_at ON wa_msg_secrets (session_id, expires_at);
