-- Which actions of a webhook answer already ran, so a redelivered event (the same
-- delivery retried after a crash, or a failed "delivered" mark) or a replayed one does not
-- run them again: one row per (event, target, action occurrence), claimed before the
-- action runs (at most once), its outcome filled in when it ends (NULL: never finished).
-- `target` is the webhook target (kind and id), not the delivery: a replay creates new
-- deliveries of the same event to the same target and must not repeat the actions.
-- `path` is the action's path with its occurrence in the run (`1.item#2`: second retry).
CREATE TABLE action_runs (
    event_id   VARCHAR(191) NOT NULL,
    target     VARCHAR(191) NOT NULL,
    path       VARCHAR(191) NOT NULL,
    session_id VARCHAR(191) NOT NULL,
    outcome    LONGTEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (event_id, target, path)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX action_runs_session ON action_runs (session_id);
CREATE INDEX action_runs_created ON action_runs (created_at);
