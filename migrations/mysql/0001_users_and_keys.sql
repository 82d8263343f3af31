-- Users are tenants: a user's id is the registry id that scopes every resource it owns.
CREATE TABLE users (
    id            VARCHAR(191) PRIMARY KEY,
    username      VARCHAR(191) NOT NULL UNIQUE,
    password_hash LONGTEXT,
    is_admin      BIGINT NOT NULL DEFAULT 0,
    disabled      BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Only the SHA-256 of a key is stored; the key itself is shown once, at creation.
CREATE TABLE api_keys (
    id           VARCHAR(191) PRIMARY KEY,
    user_id      VARCHAR(191) NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         LONGTEXT NOT NULL,
    prefix       LONGTEXT NOT NULL,
    key_hash     VARCHAR(191) NOT NULL UNIQUE,
    source       LONGTEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX api_keys_user_id ON api_keys (user_id);

-- Browser sessions for /docs (the WAREST_DOCS_SESSION cookie); the token is stored hashed.
CREATE TABLE docs_sessions (
    token_hash VARCHAR(191) PRIMARY KEY,
    user_id    VARCHAR(191) NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX docs_sessions_expires_at ON docs_sessions (expires_at);
