//! The registry of every configuration key the gateway reads.
//!
//! The loader may only read keys listed here (it panics in debug builds otherwise), and
//! `.env.example` is checked against this table by a test, so a new setting cannot ship
//! undocumented. Names follow the original WAREST where the feature exists.

/// One configuration key: its env name, default (empty = unset), whether its value is a
/// secret (never logged or shown in `Debug`), and one line for `.env.example`.
#[derive(Debug, Clone, Copy)]
pub struct KeySpec {
    pub name: &'static str,
    pub default: &'static str,
    pub secret: bool,
    pub doc: &'static str,
}

const fn key(name: &'static str, default: &'static str, doc: &'static str) -> KeySpec {
    KeySpec { name, default, secret: false, doc }
}

const fn secret(name: &'static str, doc: &'static str) -> KeySpec {
    KeySpec { name, default: "", secret: true, doc }
}

pub const KEYS: &[KeySpec] = &[
    // Server
    key("PORT", "7308", "TCP port the HTTP API listens on"),
    key("WAREST_HOST", "0.0.0.0", "Address the HTTP API binds to"),
    key("WAREST_DATA_DIR", "./data", "Directory for the SQLite database and local files"),
    key("NODE_ENV", "development", "Environment name reported by /api/v1/server/info"),
    key("GENERIC_TIMEZONE", "UTC", "IANA timezone used for server times and schedules"),
    key("TZ_LOCALE", "en-US", "Locale tag reported with server times"),
    key("WAREST_SERVER_NAME", "WAREST", "Server name reported by /api/v1/server/info"),
    key("WAREST_HTTP_BODY_LIMIT_MB", "25", "Largest accepted request body, in MiB"),
    key("WAREST_SHUTDOWN_TIMEOUT_SEC", "20", "Grace period for in-flight work on SIGINT/SIGTERM"),
    key("WAREST_CPU_SAMPLE_SEC", "60", "Interval of the CPU sampler behind /server/cpu-history"),
    key(
        "WAREST_RETENTION_DAYS",
        "30",
        "Days webhook events, delivery logs and finished send jobs are kept (0: forever; chats and dead letters stay)",
    ),
    // Admin and auth
    key("WAREST_AUTHADMIN_USERNAME", "admin", "Username of the admin user seeded on first start"),
    secret("WAREST_AUTHADMIN_PASSWORD", "Admin password for /api/auth/login (empty: password login off)"),
    secret(
        "WAREST_ADMIN_APIKEY",
        "Admin API key (empty: one is generated on first start, printed to a terminal or else written to <data dir>/admin-api-key.txt, mode 0600)",
    ),
    key("WAREST_DOCS_SESSION_TTL_SEC", "43200", "Lifetime of the WAREST_DOCS_SESSION cookie, in seconds"),
    // Database
    key(
        "WAREST_DB_CLIENT",
        "sqlite",
        "Database: sqlite (embedded, data/warest.db), postgres, or mysql (MariaDB 10.6 or later)",
    ),
    secret("WAREST_DB_POSTGRES_URL", "PostgreSQL URL, e.g. postgres://user:pass@host:5432/warest"),
    secret("WAREST_DB_MYSQL_URL", "MySQL/MariaDB URL, e.g. mysql://user:pass@host:3306/warest"),
    key("WAREST_DB_HOST", "", "Database server host, used when the client's URL is empty"),
    key("WAREST_DB_PORT", "", "Database server port, used with WAREST_DB_HOST (empty: 5432 postgres, 3306 mysql)"),
    key("WAREST_DB_USER", "", "Database user, used with WAREST_DB_HOST"),
    secret("WAREST_DB_PASSWORD", "Database password, used with WAREST_DB_HOST"),
    key("WAREST_DB_DATABASE", "warest", "Database name, used with WAREST_DB_HOST"),
    key("WAREST_DB_SQLITE_PATH", "", "SQLite file (empty: <WAREST_DATA_DIR>/warest.db)"),
    key(
        "WAREST_DB_POOL_MAX",
        "10",
        "Largest number of pooled Postgres connections (SQLite always uses one: it has one writer)",
    ),
    key(
        "WAREST_SQLITE_SYNCHRONOUS",
        "full",
        "full: every SQLite commit is on disk before it is acknowledged; normal: faster, a power loss may undo the last commits",
    ),
    // Sessions
    key("WAREST_WA_URL", "", "WhatsApp WebSocket URL override; sandbox builds only (the simulated network)"),
    key("WAREST_WA_VERSION", "", "Pin the WhatsApp Web version (e.g. 2.3000.1027); empty: resolve it online"),
    key("WAREST_SESSION_QR_WAIT_SEC", "15", "How long /session/create waits for the first QR code"),
    key("WAREST_SESSION_RECONNECT_TIMEOUT_SEC", "600", "A session that cannot reconnect for this long goes FAILED"),
    key("WAREST_SESSION_BOOT_CONCURRENCY", "8", "Sessions restored in parallel at start"),
    key("WAREST_SESSION_BOOT_JITTER_MS", "2000", "Random delay (up to) before each restored session connects"),
    // Webhooks
    key("WEBHOOK_DEFAULT_URL", "", "Webhook URL for sessions that have none of their own (empty: none)"),
    secret("WEBHOOK_DEFAULT_SECRET", "HMAC secret used when a session has none of its own (empty: unsigned)"),
    key("WAREST_WEBHOOK_TIMEOUT_MS", "10000", "Timeout of one webhook delivery attempt, in milliseconds"),
    key(
        "WAREST_WEBHOOK_RETRIES",
        "5",
        "Retries after the first failed attempt before an event goes to the dead-letter table",
    ),
    key("WAREST_WEBHOOK_BACKOFF_MS", "1000", "First retry delay; doubles with every attempt (capped at 10 minutes)"),
    key("WAREST_WEBHOOK_JITTER_MS", "250", "Random delay (up to) added to every retry"),
    key("WAREST_WEBHOOK_SIGNATURE_ALG", "sha256", "HMAC hash of X-WAREST-Signature: sha256, sha384 or sha512"),
    key(
        "WAREST_WEBHOOK_STANDARD_SIGNATURE",
        "false",
        "Also send Standard Webhooks headers (webhook-id, webhook-timestamp, webhook-signature)",
    ),
    key("WAREST_WEBHOOK_AUTH_COOLOFF_MS", "300000", "Pause of a target after it answers 401 or 403"),
    key("WAREST_WEBHOOK_BREAKER_THRESHOLD", "5", "Consecutive failures that open a target's circuit breaker"),
    key(
        "WAREST_WEBHOOK_BREAKER_COOLDOWN_MS",
        "30000",
        "How long an open circuit breaker holds deliveries to its target",
    ),
    key("WAREST_WEBHOOK_CONCURRENCY", "32", "Webhook deliveries in flight at once, across all targets"),
    key(
        "WAREST_TENANT_SHARE_PERCENT",
        "75",
        "Most of the webhook delivery and action-runner slots one tenant may hold, in percent (the rest stay free for others)",
    ),
    key(
        "WAREST_WEBHOOK_ALLOW_PRIVATE",
        "admins",
        "Whose webhooks may target private or local addresses: admins, all or none",
    ),
    key(
        "WAREST_WEBHOOK_VIA_SESSION_PROXY",
        "false",
        "Send a session's webhooks through its proxy (own or pool); if it has none usable, retry later",
    ),
    key("WAREST_SSE_MAX_PER_KEY", "5", "Event streams (GET /api/v1/events/stream) one API key may hold open at once"),
    // Webhook actions (a receiver's answer {"actions":[...]})
    key("WAREST_ACTIONS_ENABLED", "true", "Execute the actions of webhook receivers' 2xx answers"),
    key("WAREST_ACTIONS_MAX_BODY_KB", "256", "Largest answer body read for actions, in KiB"),
    key("WAREST_ACTIONS_MAX", "50", "Actions per answer, nested ones included; the excess is logged and skipped"),
    key("WAREST_ACTIONS_MAX_DEPTH", "4", "Nesting levels of queue/parallel/when/retry actions"),
    key("WAREST_ACTIONS_MAX_DELAY_MS", "60000", "Total waiting (delay, typing, pauses, retry waits) of one run"),
    key("WAREST_ACTIONS_TIMEOUT_MS", "120000", "Longest run of one answer's actions; the rest is skipped"),
    key("WAREST_ACTIONS_CONCURRENCY", "16", "Answers whose actions run at once (more wait, up to 16x this)"),
    key("AUTOREPLY_ENABLED", "false", "Answer received messages automatically (see AUTOREPLY_PING_PONG)"),
    key(
        "AUTOREPLY_PING_PONG",
        "true",
        "With AUTOREPLY_ENABLED: a text that is exactly ping is answered pong, quoting it",
    ),
    key("WAREST_COMMAND_PREFIX", "!", "Text starting with this is also delivered as message_command (off: never)"),
    // HTTP guards
    key("RATE_LIMIT_WINDOW_MS", "60000", "Rate-limit window per API key, in milliseconds"),
    key("RATE_LIMIT_MAX", "120", "Requests allowed per API key per window (also failed sign-ins per client address)"),
    key(
        "WAREST_TENANT_RATE_MAX",
        "480",
        "Requests per window of all of one user's API keys together (admins exempt; 0: no limit)",
    ),
    key("WAREST_TENANT_MAX_SESSIONS", "100", "Sessions one user may own (admins exempt; 0: no limit)"),
    key(
        "WAREST_TENANT_GENERATED_MAX_MB",
        "512",
        "Megabytes of unexpired generated files (output url links) one user may hold (admins exempt; 0: no limit)",
    ),
    key(
        "WAREST_TENANT_QUEUED_MAX_MB",
        "1024",
        "Megabytes of sends, media included, waiting in the queues of one user's sessions (admins exempt; 0: no limit)",
    ),
    key(
        "WAREST_TRUSTED_PROXIES",
        "",
        "Comma-separated CIDR blocks of reverse proxies whose X-Forwarded-For names the client and whose X-Forwarded-Proto: https makes the docs cookie Secure (empty: none)",
    ),
    key(
        "WAREST_LOGIN_MAX_CONCURRENT",
        "4",
        "Password checks (argon2, ~19 MiB each) running at once; sign-ins beyond it get 429",
    ),
    key(
        "ALLOWED_ORIGINS",
        "http://localhost:5173,http://localhost:8000,http://localhost:4000,http://127.0.0.1:4000",
        "Comma-separated CORS origins allowed to call the API (* for any)",
    ),
    // Outbound queue
    key("WAREST_QUEUE_CONCURRENCY", "1", "Sends in flight at once per session (1 keeps strict FIFO order)"),
    key(
        "WAREST_QUEUE_MAX_SIZE",
        "10000",
        "Largest number of waiting sends per session; more are refused with 429 (0: the largest, 10000000)",
    ),
    key("WAREST_QUEUE_TIMEOUT_MS", "60000", "Time limit of one send attempt, in milliseconds (0: none)"),
    key("WAREST_QUEUE_MAX_RETRIES", "3", "Retries of a send after a transient failure"),
    key("WAREST_QUEUE_RETRY_DELAY_MS", "1000", "Delay before the first retry, in milliseconds"),
    key("WAREST_QUEUE_BACKOFF_FACTOR", "2", "Each retry waits this many times longer than the previous one"),
    key("WAREST_QUEUE_RETRY_JITTER", "0.2", "Random share (0-1) added to or removed from each retry delay"),
    key("WAREST_DEFAULT_COUNTRY_CODE", "62", "Country code that replaces a leading 0 of a recipient phone number"),
    key("SPAM_COOLDOWN_MS", "3000", "The same content to the same recipient is refused again for this long (0: off)"),
    key("QUOTA_WINDOW_MS", "60000", "Window of the per-session send quota, in milliseconds"),
    key("QUOTA_MAX", "500", "Sends (one per recipient) a session may queue per window (0: no quota)"),
    key("WAREST_MEDIA_MAX_MB", "16", "Largest media file a send accepts (URL, base64 or upload), in MiB"),
    key("WAREST_MEDIA_FETCH_TIMEOUT_MS", "30000", "Time limit for fetching a media URL, in milliseconds"),
    key(
        "WAREST_ALLOW_PRIVATE_MEDIA_URLS",
        "false",
        "true: media URLs may point at loopback, private or link-local addresses (SSRF guard off)",
    ),
    key(
        "WAREST_FFMPEG_PATH",
        "",
        "Path of the ffmpeg executable for voice notes, GIFs and video thumbnails (empty: ffmpeg on PATH)",
    ),
    key("WAREST_FFMPEG_TIMEOUT_MS", "60000", "Time limit of one ffmpeg conversion, in milliseconds; it is killed then"),
    key(
        "WAREST_IMAGE_CONCURRENCY",
        "2",
        "Pictures decoded or encoded at once, gateway-wide (previews, compression, stickers, /misc/media); others wait",
    ),
    key(
        "WAREST_IMAGE_MAX_PIXELS",
        "40000000",
        "Largest picture (width × height) decoded, read from its header first; larger is refused with 422. A decode may allocate 4 bytes per pixel of it",
    ),
    key("WAREST_FILES_MAX_COUNT", "10", "Most files one /messages/send/files upload may carry"),
    key(
        "WAREST_FILES_MAX_TOTAL_MB",
        "64",
        "Largest total size of one /messages/send/files upload, in MiB (also bounded by WAREST_HTTP_BODY_LIMIT_MB; each file by WAREST_MEDIA_MAX_MB)",
    ),
    key(
        "WAREST_MIMETYPE_FILES_ALLOWLIST",
        "image/jpeg,image/png,image/webp,image/gif,image/bmp,image/tiff,image/heif,image/heic,video/mp4,video/3gpp,video/3gp,video/mpeg,video/ogg,video/webm,video/x-msvideo,video/x-matroska,video/quicktime,audio/mpeg,audio/mp3,audio/aac,audio/wav,audio/flac,audio/ogg,audio/opus,audio/amr,audio/x-ms-wma,audio/mp4,audio/m4a,application/pdf,application/msword,application/vnd.ms-excel,application/vnd.ms-powerpoint,application/vnd.openxmlformats-officedocument.wordprocessingml.document,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,application/vnd.openxmlformats-officedocument.presentationml.presentation,application/vnd.ms-access,application/vnd.visio,application/vnd.ms-project,application/zip,application/x-zip-compressed,application/vnd.rar,application/x-rar-compressed,application/gzip,application/x-gzip,application/x-7z-compressed,application/x-tar,application/x-bzip2,application/x-xz,application/vnd.android.package-archive,application/x-msdownload,application/x-iso9660-image,text/plain,text/csv,text/xml,application/xml,application/json,application/javascript,text/html,text/markdown,application/sql,application/x-sql,text/yaml,application/x-yaml,application/x-sh,text/css,application/epub+zip,application/x-mobipocket-ebook,application/x-fictionbook+xml,application/postscript,image/svg+xml,application/illustrator,application/photoshop,application/vnd.adobe.photoshop,image/vnd.adobe.photoshop,application/octet-stream",
        "Comma-separated mimetypes accepted by /messages/send/document",
    ),
    // Received media
    key(
        "WAREST_DOWNLOAD_MEDIA_RECEIVED",
        "false",
        "true: received images, videos, audio, documents and stickers are downloaded and stored",
    ),
    key(
        "WAREST_DOWNLOAD_MEDIA_ALLOW_MIMETYPES",
        "image/jpeg,image/png,image/webp,image/gif,video/mp4,video/3gpp,audio/ogg,audio/opus,audio/mpeg,audio/amr,application/pdf,application/vnd.ms-excel,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,application/msword,application/vnd.openxmlformats-officedocument.wordprocessingml.document,text/plain",
        "Comma-separated mimetypes of received media that are downloaded (parameters after ; ignored)",
    ),
    key("WAREST_DOWNLOAD_MEDIA_MAX_MB", "64", "Largest received media file that is downloaded, in MiB"),
    key("WAREST_DOWNLOAD_MEDIA_WORKERS", "2", "Received media downloads in flight at once"),
    secret(
        "WAREST_MEDIA_URL_SECRET",
        "HMAC key of signed /api/v1/media links (empty: random per start, links die at restart)",
    ),
    key("WAREST_MEDIA_URL_TTL_SEC", "86400", "Lifetime of a signed /api/v1/media link, in seconds"),
    key(
        "WAREST_PUBLIC_URL",
        "",
        "Base URL clients reach the gateway at, for media links (empty: links are paths only)",
    ),
    // Proxies (src/sessions/proxy/): a pool for sessions without a proxy of their own
    secret(
        "WAREST_PROXY_URLS",
        "Comma-separated proxy pool, socks5://user:pass@host:port or http://host:port (empty: no pool)",
    ),
    key("WAREST_PROXY_STRATEGY", "failover", "How a session gets a pool proxy: failover, round_robin or random"),
    key("WAREST_PROXY_STICKY_SESSION", "true", "true: a session keeps its pool proxy across restarts while usable"),
    key(
        "WAREST_PROXY_ROTATE_AFTER_FAILURES",
        "2",
        "Consecutive connect failures through a proxy before it cools off and the session moves on",
    ),
    key("WAREST_PROXY_FAILURE_COOLOFF_MS", "15000", "How long a failing pool proxy is left alone, in milliseconds"),
    key(
        "WAREST_PROXY_FAILURE_BACKOFF_MULTIPLIER",
        "3",
        "Each further cool-off in a row lasts this many times longer (capped at an hour)",
    ),
    key("WAREST_PROXY_MAX_SESSIONS_PER_PROXY", "0", "Most sessions on one pool proxy (0: no limit)"),
    // Observability
    key("WAREST_METRICS", "true", "Serve Prometheus metrics at GET /metrics (false: off, 404)"),
    secret(
        "WAREST_METRICS_TOKEN",
        "Bearer token /metrics requires (empty: no token; then only loopback or WAREST_METRICS_ALLOW may scrape)",
    ),
    key(
        "WAREST_METRICS_LISTEN",
        "",
        "Separate address for /metrics, e.g. 127.0.0.1:9308 (empty: served on the API listener)",
    ),
    key(
        "WAREST_METRICS_ALLOW",
        "",
        "CIDR list that may scrape /metrics (empty: with no token, only loopback on the API listener; 0.0.0.0/0,::/0: anyone)",
    ),
    key(
        "WAREST_HEALTH_MAX_QUEUE_AGE_SEC",
        "600",
        "Health is degraded when the oldest waiting send or webhook delivery is older than this",
    ),
    // Logging
    key("LOG_LEVEL", "info", "Log level: trace, debug, info, warn or error"),
    key("LOG_PRETTY", "true", "true: human-readable logs; false: one JSON object per line"),
    // Traces (OpenTelemetry's own names)
    key(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "",
        "OTLP/HTTP collector base URL, e.g. http://127.0.0.1:4318; spans go to <url>/v1/traces (empty: no export)",
    ),
    secret("OTEL_EXPORTER_OTLP_HEADERS", "Headers sent to the collector, as key=value,key2=value2 (e.g. its token)"),
    key("OTEL_SERVICE_NAME", "warest", "The service.name of exported spans"),
];

/// Looks a key up in the registry.
pub fn spec(name: &str) -> Option<&'static KeySpec> {
    KEYS.iter().find(|k| k.name == name)
}

/// Renders `.env.example` from the registry, so the file and the code cannot drift apart.
pub fn env_example() -> String {
    let mut out = String::from(
        "# WAREST configuration. Every key, its default, and what it means.\n\
         # Copy to .env and edit; real environment variables win over .env.\n\
         # An empty value (KEY=) means the default, as in the original WAREST's .env.\n",
    );
    for k in KEYS {
        out.push_str(&format!("\n# {}\n{}={}\n", k.doc, k.name, k.default));
    }
    out
}
