-- The daily restart time set through /api/v1/server/restart/scheduled. One row (id
-- 'daily'); kept in the database so it survives the restarts it causes. Times are Unix ms.
CREATE TABLE server_restart_schedule (
    id            VARCHAR(191) PRIMARY KEY,
    schedule      LONGTEXT NOT NULL,
    timezone      LONGTEXT NOT NULL,
    last_fired_at BIGINT,
    updated_at    BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
