-- The daily restart time set through /api/v1/server/restart/scheduled. One row (id
-- 'daily'); kept in the database so it survives the restarts it causes. Times are Unix ms.
CREATE TABLE server_restart_schedule (
    id            TEXT PRIMARY KEY,
    schedule      TEXT NOT NULL,
    timezone      TEXT NOT NULL,
    last_fired_at BIGINT,
    updated_at    BIGINT NOT NULL
);
