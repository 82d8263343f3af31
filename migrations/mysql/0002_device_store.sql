-- The whatsapp-rust device store (src/sessions/device_store): one logical store per
-- WhatsApp session, every row keyed by session_id. No foreign key to a session registry
-- yet (that table arrives separately); Db::delete_session_device_rows clears a session.
-- Small u32 ids and bools are BIGINT (0/1); opaque records are LONGBLOB. Binary keys are
-- BLOB keyed on a 255-byte prefix (whole values: app-state key ids and MACs are 32 bytes or
-- less): a VARBINARY key would reach sqlx's Any driver as text and fail to decode.

CREATE TABLE wa_devices (
    session_id VARCHAR(191) PRIMARY KEY,
    data       LONGTEXT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE wa_identities (
    session_id VARCHAR(191) NOT NULL,
    address    VARCHAR(191) NOT NULL,
    identity_key LONGBLOB NOT NULL,
    PRIMARY KEY (session_id, address)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE wa_signal_sessions (
    session_id VARCHAR(191) NOT NULL,
    address    VARCHAR(191) NOT NULL,
    record     LONGBLOB NOT NULL,
    PRIMARY KEY (session_id, address)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE wa_prekeys (
    session_id VARCHAR(191) NOT NULL,
    id         BIGINT NOT NULL,
    record     LONGBLOB NOT NULL,
    uploaded   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (session_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE wa_signed_prekeys (
    session_id VARCHAR(191) NOT NULL,
    id         BIGINT NOT NULL,
    record     LONGBLOB NOT NULL,
    PRIMARY KEY (session_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE wa_sender_keys (
    session_id VARCHAR(191) NOT NULL,
    address    VARCHAR(191) NOT NULL,
    record     LONGBLOB NOT NULL,
    PRIMARY KEY (session_id, address)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- seq orders writes so get_latest_sync_key_id returns the key set last.
CREATE TABLE wa_sync_keys (
    session_id    VARCHAR(191) NOT NULL,
    key_id        BLOB NOT NULL,
    key_data      LONGBLOB NOT NULL,
    fingerprint   LONGBLOB NOT NULL,
    key_timestamp BIGINT NOT NULL,
    seq           BIGINT NOT NULL,
    PRIMARY KEY (session_id, key_id(255))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE wa_app_state_versions (
    session_id VARCHAR(191) NOT NULL,
    name       VARCHAR(191) NOT NULL,
    state      LONGTEXT NOT NULL,
    PRIMARY KEY (session_id, name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE wa_mutation_macs (
    session_id VARCHAR(191) NOT NULL,
    name       VARCHAR(191) NOT NULL,
    index_mac  BLOB NOT NULL,
    version    BIGINT NOT NULL,
    value_mac  LONGBLOB NOT NULL,
    PRIMARY KEY (session_id, name, index_mac(255))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE wa_sender_key_devices (
    session_id VARCHAR(191) NOT NULL,
    group_jid  VARCHAR(191) NOT NULL,
    device_jid VARCHAR(191) NOT NULL,
    has_key    BIGINT NOT NULL,
    PRIMARY KEY (session_id, group_jid, device_jid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX wa_sender_key_devices_device ON wa_sender_key_devices (session_id, device_jid);

-- seq orders writes so get_pn_mapping returns the LID mapped to a phone most recently.
CREATE TABLE wa_lid_mappings (
    session_id      VARCHAR(191) NOT NULL,
    lid             VARCHAR(191) NOT NULL,
    phone_number    VARCHAR(191) NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    learning_source LONGTEXT NOT NULL,
    seq             BIGINT NOT NULL,
    PRIMARY KEY (session_id, lid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX wa_lid_mappings_phone ON wa_lid_mappings (session_id, phone_number);

CREATE TABLE wa_base_keys (
    session_id VARCHAR(191) NOT NULL,
    address    VARCHAR(191) NOT NULL,
    message_id VARCHAR(191) NOT NULL,
    base_key   LONGBLOB NOT NULL,
    PRIMARY KEY (session_id, address, message_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE wa_device_lists (
    session_id VARCHAR(191) NOT NULL,
    user_id    VARCHAR(191) NOT NULL,
    record     LONGTEXT NOT NULL,
    PRIMARY KEY (session_id, user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE wa_group_metadata (
    session_id VARCHAR(191) NOT NULL,
    group_jid  VARCHAR(191) NOT NULL,
    data       LONGBLOB NOT NULL,
    PRIMARY KEY (session_id, group_jid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- An empty token is the byte-less placeholder the issuance path writes.
CREATE TABLE wa_tc_tokens (
    session_id       VARCHAR(191) NOT NULL,
    jid              VARCHAR(191) NOT NULL,
    token            LONGBLOB NOT NULL,
    token_timestamp  BIGINT NOT NULL,
    sender_timestamp BIGINT,
    PRIMARY KEY (session_id, jid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- created_at is unix seconds: the retry sweep passes its cutoff in seconds.
CREATE TABLE wa_sent_messages (
    session_id VARCHAR(191) NOT NULL,
    chat_jid   VARCHAR(191) NOT NULL,
    message_id VARCHAR(191) NOT NULL,
    payload    LONGBLOB NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (session_id, chat_jid, message_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX wa_sent_messages_created_at ON wa_sent_messages (session_id, created_at);

-- expires_at = 0 means never; message_ts = 0 means unknown.
CREATE TABLE wa_msg_secrets (
    session_id VARCHAR(191) NOT NULL,
    chat       VARCHAR(191) NOT NULL,
    sender     VARCHAR(191) NOT NULL,
    msg_id     VARCHAR(191) NOT NULL,
    secret     LONGBLOB NOT NULL,
    expires_at BIGINT NOT NULL,
    message_ts BIGINT NOT NULL,
    PRIMARY KEY (session_id, chat, sender, msg_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX wa_msg_secrets_expires_at ON wa_msg_secrets (session_id, expires_at);
