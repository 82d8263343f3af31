//! Typed configuration, loaded once at start from the environment and an optional `.env`.
//!
//! Owns names, defaults (in [`keys::KEYS`]), validation and secret redaction. A bad value
//! becomes one [`ConfigError`] naming the key; nothing else in the program reads env vars.

mod compat;
pub mod keys;
mod parse;
mod proxy;

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use chrono_tz::Tz;

pub use parse::ConfigError;
use parse::Source;

use crate::media::MediaConfig;

/// A secret value: usable by code, invisible to `Debug`, `Display` and logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    Sqlite {
        path: PathBuf,
    },
    Postgres {
        url: Secret,
    },
    /// MySQL or MariaDB: `mysql://user:pass@host:3306/db`.
    Mysql {
        url: Secret,
    },
}

impl Database {
    pub fn kind(&self) -> &'static str {
        match self {
            Database::Sqlite { .. } => "sqlite",
            Database::Postgres { .. } => "postgres",
            Database::Mysql { .. } => "mysql",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedOrigins {
    Any,
    List(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct Config {
    pub host: IpAddr,
    pub port: u16,
    pub data_dir: PathBuf,
    pub environment: String,
    pub timezone: Tz,
    pub locale: String,
    pub server_name: String,
    pub body_limit_bytes: usize,
    pub shutdown_timeout: Duration,
    pub cpu_sample_interval: Duration,
    /// Days of webhook events, delivery logs and finished send jobs kept; 0 keeps them.
    pub retention_days: u32,
    pub admin_username: String,
    pub admin_password: Option<Secret>,
    pub admin_api_key: Option<Secret>,
    pub docs_session_ttl: Duration,
    pub database: Database,
    pub db_pool_max: u32,
    /// `WAREST_SQLITE_SYNCHRONOUS=normal`: commits may be lost on power loss (see README).
    pub sqlite_full_sync: bool,
    pub rate_limit_window: Duration,
    pub rate_limit_max: u32,
    /// Requests per window of all of one tenant's keys together (admins: none); 0: no limit.
    pub tenant_rate_max: u32,
    /// Sessions one non-admin user may own; 0: no limit.
    pub tenant_max_sessions: u32,
    /// `WAREST_TRUSTED_PROXIES`: whose `X-Forwarded-For` names the client.
    pub trusted_proxies: crate::http::client_ip::TrustedProxies,
    /// Password verifications (argon2) in flight at once.
    pub login_max_concurrent: usize,
    pub allowed_origins: AllowedOrigins,
    pub log_level: String,
    pub log_pretty: bool,
    /// Where spans are exported; `None`: nowhere.
    pub otlp: Option<OtlpConfig>,
    pub wa_url: Option<String>,
    pub wa_version: Option<(u32, u32, u32)>,
    pub session_qr_wait: Duration,
    pub session_reconnect_timeout: Duration,
    pub session_boot_concurrency: usize,
    pub session_boot_jitter: Duration,
    /// The send queue (`WAREST_QUEUE_*`, recipient normalization).
    pub outbound: crate::outbound::OutboundConfig,
    pub webhook: WebhookConfig,
    pub command_prefix: String,
    /// `AUTOREPLY_*`: `ping` answered `pong`.
    pub autoreply: crate::inbound::autoreply::AutoReply,
    /// The webhook action runner's limits (`WAREST_ACTIONS_*`).
    pub actions: crate::actions::ActionLimits,
    /// Received media and signed media links.
    pub media: MediaConfig,
    /// The managed proxy pool (`WAREST_PROXY_*`); `None` without `WAREST_PROXY_URLS`.
    pub proxy_pool: Option<crate::sessions::proxy::pool::PoolSettings>,
    /// `/metrics` (`WAREST_METRICS*`).
    pub metrics: MetricsConfig,
    /// Oldest waiting send or delivery before health reports the queue stuck.
    pub health_max_queue_age: Duration,
    /// What start-up says about the variables (unknown keys, the original's keys with no
    /// effect here): one warning line each, once logging is up.
    pub notes: Vec<String>,
}

/// The Prometheus endpoint.
#[derive(Debug, Clone)]
pub struct MetricsConfig {
    pub enabled: bool,
    /// Bearer token `/metrics` requires; `None`: open.
    pub token: Option<Secret>,
    /// Its own listener; `None`: a route of the API listener.
    pub listen: Option<std::net::SocketAddr>,
    /// `WAREST_METRICS_ALLOW`: who may scrape; empty means the default `metrics` explains.
    pub allow: crate::http::client_ip::IpNets,
}

/// OTLP trace export (`OTEL_EXPORTER_OTLP_*`).
#[derive(Debug, Clone)]
pub struct OtlpConfig {
    /// `<endpoint>/v1/traces`.
    pub traces_url: String,
    /// Sent with every export; values are secrets (collector tokens).
    pub headers: Vec<(String, Secret)>,
    pub service_name: String,
}

/// HMAC hash of the WAREST signature header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureAlg {
    Sha256,
    Sha384,
    Sha512,
}

impl SignatureAlg {
    /// As it appears in `X-WAREST-Signature: HMAC-SHA256=<hex>`.
    pub fn label(self) -> &'static str {
        match self {
            SignatureAlg::Sha256 => "HMAC-SHA256",
            SignatureAlg::Sha384 => "HMAC-SHA384",
            SignatureAlg::Sha512 => "HMAC-SHA512",
        }
    }
}

/// Webhook delivery settings (`WEBHOOK_*`, `WAREST_WEBHOOK_*`).
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    pub default_url: Option<String>,
    pub default_secret: Option<Secret>,
    pub timeout: Duration,
    pub retries: u32,
    pub backoff: Duration,
    pub jitter: Duration,
    pub alg: SignatureAlg,
    pub standard_signature: bool,
    pub auth_cooloff: Duration,
    pub breaker_threshold: u32,
    pub breaker_cooldown: Duration,
    pub concurrency: usize,
    /// Deliveries leave through the proxy of the session they belong to.
    pub via_session_proxy: bool,
    /// Whose webhooks may target private and local addresses.
    pub allow_private: PrivateTargets,
    /// Most of the delivery slots one tenant may hold, in percent.
    pub tenant_share_percent: u32,
    /// Event streams (SSE) one API key may hold open at once.
    pub sse_max_per_key: usize,
}

/// `WAREST_WEBHOOK_ALLOW_PRIVATE`: whose webhook targets may be private or local addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrivateTargets {
    Admins,
    All,
    None,
}

impl Config {
    /// Loads from the process environment, with `.env` in the working directory (if present)
    /// filling in keys the environment does not set.
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut vars: HashMap<String, String> = HashMap::new();
        match dotenvy::from_filename_iter(".env") {
            Ok(iter) => {
                for item in iter {
                    let (k, v) = item.map_err(|e| ConfigError::new(".env", e.to_string()))?;
                    vars.insert(k, v);
                }
            }
            Err(e) if e.not_found() => {}
            Err(e) => return Err(ConfigError::new(".env", e.to_string())),
        }
        vars.extend(std::env::vars());
        Self::from_map(&vars)
    }

    /// Loads from an explicit map of variables; tests use this instead of the process env.
    pub fn from_map(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let normalized = compat::normalize(vars);
        let s = Source::new(&normalized.vars);
        let data_dir = PathBuf::from(s.non_empty("WAREST_DATA_DIR")?);
        let database = match s.raw("WAREST_DB_CLIENT").to_ascii_lowercase().as_str() {
            "sqlite" | "sqlite3" => {
                let path = s.opt("WAREST_DB_SQLITE_PATH");
                Database::Sqlite { path: path.map_or_else(|| data_dir.join("warest.db"), PathBuf::from) }
            }
            "postgres" | "postgresql" | "pg" => Database::Postgres { url: Secret::new(server_url(&s, &POSTGRES)?) },
            "mysql" | "mariadb" => Database::Mysql { url: Secret::new(server_url(&s, &MYSQL)?) },
            other => {
                return Err(ConfigError::new(
                    "WAREST_DB_CLIENT",
                    format!("expected sqlite, postgres or mysql, got {other:?}"),
                ));
            }
        };
        Ok(Config {
            host: s.parse("WAREST_HOST", "an IP address")?,
            port: s.parse("PORT", "a port number (0-65535)")?,
            data_dir,
            environment: s.non_empty("NODE_ENV")?,
            timezone: s.parse("GENERIC_TIMEZONE", "an IANA timezone such as Asia/Jakarta")?,
            locale: s.non_empty("TZ_LOCALE")?,
            server_name: s.non_empty("WAREST_SERVER_NAME")?,
            body_limit_bytes: s.range("WAREST_HTTP_BODY_LIMIT_MB", 1, 2048)? as usize * 1024 * 1024,
            shutdown_timeout: Duration::from_secs(s.range("WAREST_SHUTDOWN_TIMEOUT_SEC", 1, 600)?),
            cpu_sample_interval: Duration::from_secs(s.range("WAREST_CPU_SAMPLE_SEC", 1, 3600)?),
            retention_days: s.range("WAREST_RETENTION_DAYS", 0, 3650)? as u32,
            admin_username: admin_username(&s)?,
            admin_password: s.opt("WAREST_AUTHADMIN_PASSWORD").map(Secret::new),
            admin_api_key: admin_api_key(&s)?,
            docs_session_ttl: Duration::from_secs(s.range("WAREST_DOCS_SESSION_TTL_SEC", 60, 2_592_000)?),
            database,
            db_pool_max: s.range("WAREST_DB_POOL_MAX", 1, 1000)? as u32,
            sqlite_full_sync: match s.raw("WAREST_SQLITE_SYNCHRONOUS").to_ascii_lowercase().as_str() {
                "full" => true,
                "normal" => false,
                _ => return Err(ConfigError::new("WAREST_SQLITE_SYNCHRONOUS", "must be full or normal")),
            },
            rate_limit_window: Duration::from_millis(s.range("RATE_LIMIT_WINDOW_MS", 1, 86_400_000)?),
            rate_limit_max: s.range("RATE_LIMIT_MAX", 1, 1_000_000)? as u32,
            tenant_rate_max: s.range("WAREST_TENANT_RATE_MAX", 0, 10_000_000)? as u32,
            tenant_max_sessions: s.range("WAREST_TENANT_MAX_SESSIONS", 0, 1_000_000)? as u32,
            trusted_proxies: crate::http::client_ip::TrustedProxies::parse(&s.raw("WAREST_TRUSTED_PROXIES"))
                .map_err(|e| ConfigError::new("WAREST_TRUSTED_PROXIES", e))?,
            login_max_concurrent: s.range("WAREST_LOGIN_MAX_CONCURRENT", 1, 256)? as usize,
            allowed_origins: allowed_origins(&s)?,
            log_level: log_level(&s)?,
            log_pretty: s.bool("LOG_PRETTY")?,
            otlp: otlp(&s)?,
            wa_url: wa_url(&s)?,
            wa_version: wa_version(&s)?,
            session_qr_wait: Duration::from_secs(s.range("WAREST_SESSION_QR_WAIT_SEC", 1, 120)?),
            session_reconnect_timeout: Duration::from_secs(s.range(
                "WAREST_SESSION_RECONNECT_TIMEOUT_SEC",
                10,
                86_400,
            )?),
            session_boot_concurrency: s.range("WAREST_SESSION_BOOT_CONCURRENCY", 1, 1000)? as usize,
            session_boot_jitter: Duration::from_millis(s.range("WAREST_SESSION_BOOT_JITTER_MS", 0, 600_000)?),
            outbound: outbound(&s)?,
            webhook: webhook(&s)?,
            command_prefix: command_prefix(&s)?,
            autoreply: crate::inbound::autoreply::AutoReply {
                enabled: s.bool("AUTOREPLY_ENABLED")?,
                ping_pong: s.bool("AUTOREPLY_PING_PONG")?,
            },
            actions: actions(&s)?,
            media: media(&s)?,
            proxy_pool: proxy::proxy_pool(&s)?,
            metrics: MetricsConfig {
                enabled: s.bool("WAREST_METRICS")?,
                token: s.opt("WAREST_METRICS_TOKEN").map(Secret::new),
                listen: match s.opt("WAREST_METRICS_LISTEN") {
                    None => None,
                    Some(_) => Some(s.parse("WAREST_METRICS_LISTEN", "an address such as 127.0.0.1:9308")?),
                },
                allow: crate::http::client_ip::IpNets::parse(&s.raw("WAREST_METRICS_ALLOW"))
                    .map_err(|e| ConfigError::new("WAREST_METRICS_ALLOW", e))?,
            },
            health_max_queue_age: Duration::from_secs(s.range("WAREST_HEALTH_MAX_QUEUE_AGE_SEC", 1, 604_800)?),
            notes: normalized.notes,
        })
    }
}

fn actions(s: &Source) -> Result<crate::actions::ActionLimits, ConfigError> {
    Ok(crate::actions::ActionLimits {
        enabled: s.bool("WAREST_ACTIONS_ENABLED")?,
        max_body: s.range("WAREST_ACTIONS_MAX_BODY_KB", 1, 65_536)? as usize * 1024,
        max_actions: s.range("WAREST_ACTIONS_MAX", 1, 10_000)? as usize,
        max_depth: s.range("WAREST_ACTIONS_MAX_DEPTH", 1, 16)? as usize,
        max_total_delay: Duration::from_millis(s.range("WAREST_ACTIONS_MAX_DELAY_MS", 0, 3_600_000)?),
        run_timeout: Duration::from_millis(s.range("WAREST_ACTIONS_TIMEOUT_MS", 100, 3_600_000)?),
        concurrency: s.range("WAREST_ACTIONS_CONCURRENCY", 1, 10_000)? as usize,
        tenant_share_percent: s.range("WAREST_TENANT_SHARE_PERCENT", 1, 100)? as u32,
    })
}

fn media(s: &Source) -> Result<MediaConfig, ConfigError> {
    let allow_mimetypes = s
        .raw("WAREST_DOWNLOAD_MEDIA_ALLOW_MIMETYPES")
        .split(',')
        .map(crate::media::base_mimetype)
        .filter(|m| !m.is_empty())
        .collect();
    let public_url = s.opt("WAREST_PUBLIC_URL").map(|u| u.trim_end_matches('/').to_string());
    if let Some(u) = &public_url
        && !(u.starts_with("http://") || u.starts_with("https://"))
    {
        return Err(ConfigError::new("WAREST_PUBLIC_URL", "expected an http:// or https:// URL"));
    }
    let url_secret = match s.opt("WAREST_MEDIA_URL_SECRET") {
        Some(k) if k.len() < 16 => {
            return Err(ConfigError::new("WAREST_MEDIA_URL_SECRET", "must be at least 16 characters (or empty)"));
        }
        Some(k) => Secret::new(k),
        // Random per start: links stay unforgeable, they just stop working at a restart.
        None => Secret::new(hex::encode(rand::random::<[u8; 32]>())),
    };
    Ok(MediaConfig {
        download_received: s.bool("WAREST_DOWNLOAD_MEDIA_RECEIVED")?,
        allow_mimetypes,
        max_bytes: s.range("WAREST_DOWNLOAD_MEDIA_MAX_MB", 1, 2048)? * 1024 * 1024,
        workers: s.range("WAREST_DOWNLOAD_MEDIA_WORKERS", 1, 64)? as usize,
        url_secret,
        url_ttl: Duration::from_secs(s.range("WAREST_MEDIA_URL_TTL_SEC", 1, 31_536_000)?),
        public_url,
        tenant_generated_max_bytes: s.range("WAREST_TENANT_GENERATED_MAX_MB", 0, 1_048_576)? * 1024 * 1024,
    })
}

fn command_prefix(s: &Source) -> Result<String, ConfigError> {
    let p = s.raw("WAREST_COMMAND_PREFIX").trim().to_string();
    // An empty value means "unset" (the original's .env has such lines), so "off" is how
    // the command event is switched off.
    if p.eq_ignore_ascii_case("off") {
        return Ok(String::new());
    }
    if p.chars().count() > 8 || p.chars().any(char::is_whitespace) {
        return Err(ConfigError::new("WAREST_COMMAND_PREFIX", "expected at most 8 characters without spaces"));
    }
    Ok(p)
}

fn webhook(s: &Source) -> Result<WebhookConfig, ConfigError> {
    let default_url = s.opt("WEBHOOK_DEFAULT_URL");
    if let Some(u) = &default_url
        && !(u.starts_with("http://") || u.starts_with("https://"))
    {
        return Err(ConfigError::new("WEBHOOK_DEFAULT_URL", "expected an http:// or https:// URL"));
    }
    let alg = match s.raw("WAREST_WEBHOOK_SIGNATURE_ALG").to_ascii_lowercase().replace(['-', '_'], "").as_str() {
        "sha256" | "hmacsha256" | "256" => SignatureAlg::Sha256,
        "sha384" | "hmacsha384" | "384" => SignatureAlg::Sha384,
        "sha512" | "hmacsha512" | "512" => SignatureAlg::Sha512,
        other => {
            return Err(ConfigError::new(
                "WAREST_WEBHOOK_SIGNATURE_ALG",
                format!("expected sha256, sha384 or sha512, got {other:?}"),
            ));
        }
    };
    Ok(WebhookConfig {
        default_url,
        default_secret: s.opt("WEBHOOK_DEFAULT_SECRET").map(Secret::new),
        timeout: Duration::from_millis(s.range("WAREST_WEBHOOK_TIMEOUT_MS", 100, 300_000)?),
        retries: s.range("WAREST_WEBHOOK_RETRIES", 0, 100)? as u32,
        backoff: Duration::from_millis(s.range("WAREST_WEBHOOK_BACKOFF_MS", 1, 3_600_000)?),
        jitter: Duration::from_millis(s.range("WAREST_WEBHOOK_JITTER_MS", 0, 600_000)?),
        alg,
        standard_signature: s.bool("WAREST_WEBHOOK_STANDARD_SIGNATURE")?,
        auth_cooloff: Duration::from_millis(s.range("WAREST_WEBHOOK_AUTH_COOLOFF_MS", 0, 86_400_000)?),
        breaker_threshold: s.range("WAREST_WEBHOOK_BREAKER_THRESHOLD", 1, 10_000)? as u32,
        breaker_cooldown: Duration::from_millis(s.range("WAREST_WEBHOOK_BREAKER_COOLDOWN_MS", 0, 86_400_000)?),
        concurrency: s.range("WAREST_WEBHOOK_CONCURRENCY", 1, 10_000)? as usize,
        via_session_proxy: s.bool("WAREST_WEBHOOK_VIA_SESSION_PROXY")?,
        tenant_share_percent: s.range("WAREST_TENANT_SHARE_PERCENT", 1, 100)? as u32,
        allow_private: match s.raw("WAREST_WEBHOOK_ALLOW_PRIVATE").to_ascii_lowercase().as_str() {
            "admins" => PrivateTargets::Admins,
            "all" | "true" => PrivateTargets::All,
            "none" | "false" => PrivateTargets::None,
            _ => return Err(ConfigError::new("WAREST_WEBHOOK_ALLOW_PRIVATE", "must be admins, all or none")),
        },
        sse_max_per_key: s.range("WAREST_SSE_MAX_PER_KEY", 1, 1_000)? as usize,
    })
}

/// How a database server's URL is given: whole in `url_key`, or from the original's
/// `WAREST_DB_HOST`/`_PORT`/`_USER`/`_PASSWORD`/`_DATABASE` parts (shared by both kinds).
struct ServerKind {
    client: &'static str,
    url_key: &'static str,
    schemes: &'static [&'static str],
    default_port: u16,
}

const POSTGRES: ServerKind = ServerKind {
    client: "postgres",
    url_key: "WAREST_DB_POSTGRES_URL",
    schemes: &["postgres://", "postgresql://"],
    default_port: 5432,
};
const MYSQL: ServerKind = ServerKind {
    client: "mysql",
    url_key: "WAREST_DB_MYSQL_URL",
    schemes: &["mysql://", "mariadb://"],
    default_port: 3306,
};

fn server_url(s: &Source, kind: &ServerKind) -> Result<String, ConfigError> {
    if let Some(url) = s.opt(kind.url_key) {
        if !kind.schemes.iter().any(|p| url.starts_with(p)) {
            return Err(ConfigError::new(
                kind.url_key,
                format!("expected a URL starting with {}", kind.schemes.join(" or ")),
            ));
        }
        return Ok(url);
    }
    let Some(host) = s.opt("WAREST_DB_HOST") else {
        return Err(ConfigError::new(
            kind.url_key,
            format!("required when WAREST_DB_CLIENT={} (or set WAREST_DB_HOST)", kind.client),
        ));
    };
    let port: u16 = match s.opt("WAREST_DB_PORT") {
        Some(_) => s.parse("WAREST_DB_PORT", "a port number")?,
        None => kind.default_port,
    };
    let db = s.non_empty("WAREST_DB_DATABASE")?;
    let auth = match (s.opt("WAREST_DB_USER"), s.opt("WAREST_DB_PASSWORD")) {
        (Some(u), Some(p)) => format!("{}:{}@", urlencode(&u), urlencode(&p)),
        (Some(u), None) => format!("{}@", urlencode(&u)),
        (None, _) => String::new(),
    };
    Ok(format!("{}{auth}{host}:{port}/{}", kind.schemes[0], urlencode(&db)))
}

fn urlencode(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn admin_username(s: &Source) -> Result<String, ConfigError> {
    let name = s.non_empty("WAREST_AUTHADMIN_USERNAME")?;
    crate::auth::validate_username(&name).map_err(|why| ConfigError::new("WAREST_AUTHADMIN_USERNAME", why))?;
    Ok(name)
}

fn admin_api_key(s: &Source) -> Result<Option<Secret>, ConfigError> {
    match s.opt("WAREST_ADMIN_APIKEY") {
        // A short admin key is guessable; refuse it rather than run with it.
        Some(k) if k.len() < 16 => {
            Err(ConfigError::new("WAREST_ADMIN_APIKEY", "must be at least 16 characters (or empty to generate one)"))
        }
        other => Ok(other.map(Secret::new)),
    }
}

fn allowed_origins(s: &Source) -> Result<AllowedOrigins, ConfigError> {
    let raw = s.raw("ALLOWED_ORIGINS");
    let items: Vec<&str> = raw.split(',').map(str::trim).filter(|o| !o.is_empty()).collect();
    if items.contains(&"*") {
        return Ok(AllowedOrigins::Any);
    }
    for o in &items {
        let ok = (o.starts_with("http://") || o.starts_with("https://"))
            && !o.ends_with('/')
            && o.split("://").nth(1).is_some_and(|h| !h.is_empty() && !h.contains('/'));
        if !ok {
            return Err(ConfigError::new(
                "ALLOWED_ORIGINS",
                format!("{o:?} is not an origin like https://example.com (scheme and host, no path)"),
            ));
        }
    }
    Ok(AllowedOrigins::List(items.into_iter().map(String::from).collect()))
}

/// The WhatsApp endpoint can only be redirected in sandbox builds: a production build
/// verifies WhatsApp's certificate chain and could not talk to anything else anyway.
fn wa_url(s: &Source) -> Result<Option<String>, ConfigError> {
    let Some(url) = s.opt("WAREST_WA_URL") else { return Ok(None) };
    if !cfg!(feature = "sandbox") {
        return Err(ConfigError::new("WAREST_WA_URL", "only sandbox builds (cargo feature `sandbox`) accept it"));
    }
    if !(url.starts_with("ws://") || url.starts_with("wss://")) {
        return Err(ConfigError::new("WAREST_WA_URL", "expected a ws:// or wss:// URL"));
    }
    Ok(Some(url))
}

fn wa_version(s: &Source) -> Result<Option<(u32, u32, u32)>, ConfigError> {
    let Some(raw) = s.opt("WAREST_WA_VERSION") else { return Ok(None) };
    let parts: Vec<u32> = raw.split('.').filter_map(|p| p.parse().ok()).collect();
    match parts.as_slice() {
        [a, b, c] if raw.split('.').count() == 3 => Ok(Some((*a, *b, *c))),
        _ => {
            Err(ConfigError::new("WAREST_WA_VERSION", format!("expected three numbers like 2.3000.1027, got {raw:?}")))
        }
    }
}

fn outbound(s: &Source) -> Result<crate::outbound::OutboundConfig, ConfigError> {
    let jitter: f64 = s.parse("WAREST_QUEUE_RETRY_JITTER", "a number from 0 to 1")?;
    if !(0.0..=1.0).contains(&jitter) {
        return Err(ConfigError::new(
            "WAREST_QUEUE_RETRY_JITTER",
            format!("expected a number from 0 to 1, got {jitter}"),
        ));
    }
    let factor: f64 = s.parse("WAREST_QUEUE_BACKOFF_FACTOR", "a number from 1 to 10")?;
    if !(1.0..=10.0).contains(&factor) {
        return Err(ConfigError::new(
            "WAREST_QUEUE_BACKOFF_FACTOR",
            format!("expected a number from 1 to 10, got {factor}"),
        ));
    }
    let country = s.raw("WAREST_DEFAULT_COUNTRY_CODE");
    let valid = country.len() <= 4 && country.bytes().all(|b| b.is_ascii_digit()) && !country.starts_with('0');
    if !country.is_empty() && !valid {
        return Err(ConfigError::new(
            "WAREST_DEFAULT_COUNTRY_CODE",
            format!("expected 1-4 digits like 62, got {country:?}"),
        ));
    }
    let timeout_ms = s.range("WAREST_QUEUE_TIMEOUT_MS", 0, 3_600_000)?;
    Ok(crate::outbound::OutboundConfig {
        concurrency: s.range("WAREST_QUEUE_CONCURRENCY", 1, 64)? as usize,
        // 0 is the original's "no limit"; here every queue has one, so 0 is the largest.
        max_size: match s.range("WAREST_QUEUE_MAX_SIZE", 0, 10_000_000)? {
            0 => 10_000_000,
            n => n as i64,
        },
        tenant_max_bytes: s.range("WAREST_TENANT_QUEUED_MAX_MB", 0, 1_048_576)? as i64 * 1024 * 1024,
        timeout: (timeout_ms > 0).then(|| Duration::from_millis(timeout_ms)),
        retry: crate::outbound::retry::RetryPolicy {
            max_retries: s.range("WAREST_QUEUE_MAX_RETRIES", 0, 100)? as u32,
            base_delay: Duration::from_millis(s.range("WAREST_QUEUE_RETRY_DELAY_MS", 0, 3_600_000)?),
            factor,
            jitter,
        },
        default_country_code: Some(country).filter(|c| !c.is_empty()),
        media: crate::media::fetch::MediaLimits {
            max_bytes: s.range("WAREST_MEDIA_MAX_MB", 1, 2048)? as usize * 1024 * 1024,
            allow_private: s.bool("WAREST_ALLOW_PRIVATE_MEDIA_URLS")?,
            timeout: Duration::from_millis(s.range("WAREST_MEDIA_FETCH_TIMEOUT_MS", 100, 600_000)?),
        },
        images: crate::media::imaging::ImageLimits {
            concurrency: s.range("WAREST_IMAGE_CONCURRENCY", 1, 64)? as usize,
            max_pixels: s.range("WAREST_IMAGE_MAX_PIXELS", 1_000_000, 144_000_000)?,
        },
        ffmpeg: crate::media::ffmpeg::FfmpegConfig {
            path: Some(s.raw("WAREST_FFMPEG_PATH").trim().to_string()).filter(|p| !p.is_empty()).map(Into::into),
            timeout: Duration::from_millis(s.range("WAREST_FFMPEG_TIMEOUT_MS", 100, 3_600_000)?),
        },
        files_max_count: s.range("WAREST_FILES_MAX_COUNT", 1, 100)? as usize,
        files_max_total_bytes: s.range("WAREST_FILES_MAX_TOTAL_MB", 1, 2048)? as usize * 1024 * 1024,
        guard: crate::outbound::guard::GuardConfig {
            cooldown: Duration::from_millis(s.range("SPAM_COOLDOWN_MS", 0, 86_400_000)?),
            quota_window: Duration::from_millis(s.range("QUOTA_WINDOW_MS", 1, 86_400_000)?),
            quota_max: s.range("QUOTA_MAX", 0, 10_000_000)? as usize,
        },
        file_mimetypes: s
            .raw("WAREST_MIMETYPE_FILES_ALLOWLIST")
            .split(',')
            .map(|m| m.trim().to_ascii_lowercase())
            .filter(|m| !m.is_empty())
            .collect(),
    })
}

fn log_level(s: &Source) -> Result<String, ConfigError> {
    let level = s.raw("LOG_LEVEL").to_ascii_lowercase();
    match level.as_str() {
        "trace" | "debug" | "info" | "warn" | "error" | "off" => Ok(level),
        // The original (pino) also accepts these two.
        "fatal" => Ok("error".into()),
        "silent" => Ok("off".into()),
        _ => Err(ConfigError::new("LOG_LEVEL", format!("expected trace, debug, info, warn or error, got {level:?}"))),
    }
}

#[cfg(test)]
mod tests;

fn otlp(s: &Source) -> Result<Option<OtlpConfig>, ConfigError> {
    const KEY: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
    let Some(base) = s.opt(KEY) else { return Ok(None) };
    let url = reqwest::Url::parse(&base).map_err(|_| ConfigError::new(KEY, "must be an http(s) URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ConfigError::new(KEY, "must be an http(s) URL"));
    }
    let mut headers = Vec::new();
    for pair in s.raw("OTEL_EXPORTER_OTLP_HEADERS").split(',').filter(|p| !p.trim().is_empty()) {
        // The value is never echoed back: it is usually a token.
        let (k, v) = pair
            .split_once('=')
            .filter(|(k, _)| http::HeaderName::from_bytes(k.trim().as_bytes()).is_ok())
            .ok_or_else(|| {
                ConfigError::new("OTEL_EXPORTER_OTLP_HEADERS", "must be key=value pairs, comma-separated")
            })?;
        headers.push((k.trim().to_string(), Secret::new(v.trim().to_string())));
    }
    Ok(Some(OtlpConfig {
        traces_url: format!("{}/v1/traces", base.trim_end_matches('/')),
        headers,
        service_name: s.non_empty("OTEL_SERVICE_NAME")?,
    }))
}
