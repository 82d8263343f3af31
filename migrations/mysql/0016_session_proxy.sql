-- Per-session proxy (src/sessions/proxy/): `proxy` is the session's own proxy URL,
-- credentials included (the API only ever shows it masked); `proxy_assigned` is the
-- masked URL of the pool proxy a sticky pool keeps the session on across restarts.
ALTER TABLE sessions ADD COLUMN proxy LONGTEXT;
ALTER TABLE sessions ADD COLUMN proxy_assigned LONGTEXT;
