use std::collections::HashMap;

use super::*;

fn load(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let vars: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Config::from_map(&vars)
}

fn err_key(pairs: &[(&str, &str)]) -> String {
    load(pairs).expect_err("config should be rejected").key
}

#[test]
fn defaults_load_and_match_the_documented_contract() {
    let c = load(&[]).unwrap();
    assert_eq!(c.port, 7308);
    assert_eq!(c.host.to_string(), "0.0.0.0");
    assert_eq!(c.database, Database::Sqlite { path: PathBuf::from("./data/warest.db") });
    assert_eq!(c.rate_limit_max, 120);
    assert_eq!(c.rate_limit_window, Duration::from_millis(60_000));
    assert_eq!(c.admin_username, "admin");
    assert!(c.admin_api_key.is_none());
    assert_eq!(c.timezone, chrono_tz::UTC);
}

#[test]
fn bad_values_name_their_key() {
    assert_eq!(err_key(&[("PORT", "70000")]), "PORT");
    assert_eq!(err_key(&[("PORT", "abc")]), "PORT");
    assert_eq!(err_key(&[("WAREST_HOST", "not-an-ip")]), "WAREST_HOST");
    assert_eq!(err_key(&[("RATE_LIMIT_MAX", "0")]), "RATE_LIMIT_MAX");
    assert_eq!(err_key(&[("RATE_LIMIT_WINDOW_MS", "-5")]), "RATE_LIMIT_WINDOW_MS");
    assert_eq!(err_key(&[("WAREST_DB_CLIENT", "oracle")]), "WAREST_DB_CLIENT");
    assert_eq!(err_key(&[("WAREST_DB_CLIENT", "postgres")]), "WAREST_DB_POSTGRES_URL");
    assert_eq!(
        err_key(&[("WAREST_DB_POSTGRES_URL", "mysql://x"), ("WAREST_DB_CLIENT", "postgres")]),
        "WAREST_DB_POSTGRES_URL"
    );
    assert_eq!(err_key(&[("GENERIC_TIMEZONE", "Mars/Olympus")]), "GENERIC_TIMEZONE");
    assert_eq!(err_key(&[("LOG_LEVEL", "loud")]), "LOG_LEVEL");
    assert_eq!(err_key(&[("LOG_PRETTY", "maybe")]), "LOG_PRETTY");
    assert_eq!(err_key(&[("ALLOWED_ORIGINS", "example.com")]), "ALLOWED_ORIGINS");
    assert_eq!(err_key(&[("ALLOWED_ORIGINS", "https://a.com/path")]), "ALLOWED_ORIGINS");
    assert_eq!(err_key(&[("WAREST_ADMIN_APIKEY", "short")]), "WAREST_ADMIN_APIKEY");
    assert_eq!(err_key(&[("WAREST_AUTHADMIN_USERNAME", "bad name!")]), "WAREST_AUTHADMIN_USERNAME");
    assert_eq!(err_key(&[("WAREST_HTTP_BODY_LIMIT_MB", "0")]), "WAREST_HTTP_BODY_LIMIT_MB");
    assert_eq!(err_key(&[("WAREST_WA_VERSION", "2.3000")]), "WAREST_WA_VERSION");
    assert_eq!(err_key(&[("WAREST_SESSION_BOOT_CONCURRENCY", "0")]), "WAREST_SESSION_BOOT_CONCURRENCY");
    assert_eq!(err_key(&[("WAREST_METRICS_ALLOW", "10.0.0.0/40")]), "WAREST_METRICS_ALLOW");
    assert_eq!(err_key(&[("WAREST_WEBHOOK_VIA_SESSION_PROXY", "sometimes")]), "WAREST_WEBHOOK_VIA_SESSION_PROXY");
    assert_eq!(err_key(&[("WAREST_WEBHOOK_ALLOW_PRIVATE", "tenants")]), "WAREST_WEBHOOK_ALLOW_PRIVATE");
    assert_eq!(err_key(&[("WAREST_SQLITE_SYNCHRONOUS", "off")]), "WAREST_SQLITE_SYNCHRONOUS");
}

#[test]
fn error_is_one_line_naming_key_and_problem() {
    let e = load(&[("RATE_LIMIT_MAX", "lots")]).unwrap_err().to_string();
    assert_eq!(e, "invalid configuration: RATE_LIMIT_MAX: expected an integer from 1 to 1000000, got \"lots\"");
    assert!(!e.contains('\n'));
}

#[test]
fn the_whatsapp_url_override_needs_a_sandbox_build() {
    let r = load(&[("WAREST_WA_URL", "ws://127.0.0.1:9/ws/chat")]);
    if cfg!(feature = "sandbox") {
        assert_eq!(r.unwrap().wa_url.as_deref(), Some("ws://127.0.0.1:9/ws/chat"));
    } else {
        assert_eq!(r.unwrap_err().key, "WAREST_WA_URL");
    }
    assert_eq!(load(&[("WAREST_WA_VERSION", "2.3000.1027")]).unwrap().wa_version, Some((2, 3000, 1027)));
}

#[test]
fn postgres_url_is_built_from_parts_with_escaping() {
    let c = load(&[
        ("WAREST_DB_CLIENT", "postgres"),
        ("WAREST_DB_HOST", "db"),
        ("WAREST_DB_USER", "wa"),
        ("WAREST_DB_PASSWORD", "p@ss/word"),
    ])
    .unwrap();
    let Database::Postgres { url } = c.database else { panic!("expected postgres") };
    assert_eq!(url.expose(), "postgres://wa:p%40ss%2Fword@db:5432/warest");
}

#[test]
fn mysql_is_configured_by_url_or_by_the_originals_parts() {
    // The original's MySQL deployment: its MYSQL_* names, port left to the default.
    let c = load(&[
        ("WAREST_DB_CLIENT", "mysql"),
        ("MYSQL_HOST", "db"),
        ("MYSQL_USER", "wa"),
        ("MYSQL_PASSWORD", "p@ss"),
        ("MYSQL_DATABASE", "warest_prod"),
    ])
    .unwrap();
    let Database::Mysql { url } = c.database else { panic!("expected mysql") };
    assert_eq!(url.expose(), "mysql://wa:p%40ss@db:3306/warest_prod");
    let c = load(&[("WAREST_DB_CLIENT", "mariadb"), ("WAREST_DB_HOST", "h"), ("WAREST_DB_PORT", "3307")]).unwrap();
    let Database::Mysql { url } = c.database else { panic!("expected mysql") };
    assert_eq!(url.expose(), "mysql://h:3307/warest");
    let c = load(&[("WAREST_DB_CLIENT", "mysql"), ("WAREST_DB_MYSQL_URL", "mysql://u@h/d")]).unwrap();
    assert_eq!(c.database, Database::Mysql { url: Secret::new("mysql://u@h/d") });
    assert_eq!(err_key(&[("WAREST_DB_CLIENT", "mysql")]), "WAREST_DB_MYSQL_URL");
    assert_eq!(
        err_key(&[("WAREST_DB_CLIENT", "mysql"), ("WAREST_DB_MYSQL_URL", "postgres://x")]),
        "WAREST_DB_MYSQL_URL"
    );
    assert_eq!(
        err_key(&[("WAREST_DB_CLIENT", "mysql"), ("WAREST_DB_HOST", "h"), ("WAREST_DB_PORT", "x")]),
        "WAREST_DB_PORT"
    );
}

#[test]
fn secrets_never_appear_in_debug_output() {
    let c = load(&[
        ("WAREST_ADMIN_APIKEY", "super-secret-admin-key-123"),
        ("WAREST_AUTHADMIN_PASSWORD", "hunter2-password"),
        ("WAREST_DB_CLIENT", "postgres"),
        ("WAREST_DB_POSTGRES_URL", "postgres://u:dbpass-xyz@h/db"),
    ])
    .unwrap();
    let dbg = format!("{c:?}");
    for s in ["super-secret-admin-key-123", "hunter2-password", "dbpass-xyz"] {
        assert!(!dbg.contains(s), "{s} leaked into Debug output");
    }
    assert!(dbg.contains("[redacted]"));
}

#[test]
fn wildcard_origin_and_original_log_levels_are_accepted() {
    let c = load(&[("ALLOWED_ORIGINS", "*"), ("LOG_LEVEL", "silent")]).unwrap();
    assert_eq!(c.allowed_origins, AllowedOrigins::Any);
    assert_eq!(c.log_level, "off");
}

#[test]
fn env_example_lists_every_config_key() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.env.example"))
        .expect(".env.example exists at the repository root");
    let present: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim()))
        .collect();
    let missing: Vec<&str> = keys::KEYS.iter().map(|k| k.name).filter(|n| !present.contains(n)).collect();
    assert!(missing.is_empty(), ".env.example lacks: {missing:?}");
    // Defaults and meanings too: the file is the registry rendered, nothing hand-edited.
    assert_eq!(text, keys::env_example(), ".env.example is stale: run `warest config example > .env.example`");
}

#[test]
fn every_registered_key_is_read_by_the_loader() {
    // A key in the registry that the loader never reads would be documented but dead.
    let src = [include_str!("mod.rs"), include_str!("proxy.rs")].concat();
    for k in keys::KEYS {
        assert!(src.contains(&format!("\"{}\"", k.name)), "{} is registered but never read", k.name);
    }
}

#[test]
fn received_media_settings_load_and_bad_ones_name_their_key() {
    let c = load(&[
        ("WAREST_DOWNLOAD_MEDIA_RECEIVED", "true"),
        ("WAREST_DOWNLOAD_MEDIA_ALLOW_MIMETYPES", " Image/PNG , application/pdf;x=y ,,"),
        ("WAREST_PUBLIC_URL", "https://gw.example.com/"),
        ("WAREST_MEDIA_URL_SECRET", "0123456789abcdef0123"),
    ])
    .unwrap();
    let m = &c.media;
    assert!(m.download_received);
    assert_eq!(m.allow_mimetypes, vec!["image/png".to_string(), "application/pdf".to_string()]);
    assert!(m.allows("image/png; charset=binary") && !m.allows("image/jpeg"));
    let link = m.link("abc", 1_000);
    let exp = 1_000 + m.url_ttl.as_secs() as i64;
    let sig = crate::media::signed::sign("0123456789abcdef0123", "abc", exp);
    assert_eq!(link, format!("https://gw.example.com/api/v1/media/abc?exp={exp}&sig={sig}"));
    // Off by default; without a secret each start draws its own.
    let (a, b) = (load(&[]).unwrap().media, load(&[]).unwrap().media);
    assert!(!a.download_received);
    assert_ne!(a.url_secret.expose(), b.url_secret.expose());
    assert_eq!(err_key(&[("WAREST_MEDIA_URL_SECRET", "short")]), "WAREST_MEDIA_URL_SECRET");
    assert_eq!(err_key(&[("WAREST_PUBLIC_URL", "gw.example.com")]), "WAREST_PUBLIC_URL");
    assert_eq!(err_key(&[("WAREST_DOWNLOAD_MEDIA_MAX_MB", "0")]), "WAREST_DOWNLOAD_MEDIA_MAX_MB");
    assert_eq!(err_key(&[("WAREST_DOWNLOAD_MEDIA_RECEIVED", "maybe")]), "WAREST_DOWNLOAD_MEDIA_RECEIVED");
}

#[test]
fn the_proxy_pool_loads_and_a_bad_entry_names_its_key_but_not_its_password() {
    assert!(load(&[]).unwrap().proxy_pool.is_none(), "no URLs, no pool");
    let c = load(&[
        ("WAREST_PROXY_URLS", "socks5://u:pw-1@10.0.0.1:1080, http://10.0.0.2:3128"),
        ("WAREST_PROXY_STRATEGY", "round_robin"),
        ("WAREST_PROXY_MAX_SESSIONS_PER_PROXY", "5"),
    ])
    .unwrap();
    let pool = c.proxy_pool.unwrap();
    assert_eq!(
        (pool.proxies.len(), pool.strategy, pool.capacity),
        (2, crate::sessions::proxy::pool::Strategy::RoundRobin, 5)
    );
    assert!(!format!("{pool:?}").contains("pw-1"), "Debug masks the password");
    let e = load(&[("WAREST_PROXY_URLS", "socks5://u:pw-2@10.0.0.1:1080,ftp://u:pw-3@h:21")]).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("WAREST_PROXY_URLS") && text.contains("entry 2") && !text.contains("pw-"), "{text}");
    assert!(load(&[("WAREST_PROXY_STRATEGY", "sometimes")]).is_err());
    assert!(load(&[("WAREST_PROXY_FAILURE_BACKOFF_MULTIPLIER", "0.5")]).is_err());
}

#[test]
fn empty_values_mean_the_default_and_the_originals_aliases_fill_in_ours() {
    let c = load(&[("WAREST_QUEUE_MAX_SIZE", ""), ("WAREST_AUTHADMIN_USERNAME", "  "), ("APP_PORT", "8001")]).unwrap();
    assert_eq!((c.outbound.max_size, c.admin_username.as_str(), c.port), (10_000, "admin", 8001));
    assert_eq!(load(&[("APP_PORT", "8001"), ("PORT", "8002")]).unwrap().port, 8002, "ours wins");
    assert_eq!(load(&[("WAREST_QUEUE_MAX_SIZE", "0")]).unwrap().outbound.max_size, 10_000_000);
    assert_eq!(load(&[("WAREST_COMMAND_PREFIX", "off")]).unwrap().command_prefix, "");
    assert!(load(&[]).unwrap().notes.is_empty());
    let notes =
        load(&[("WAREST_CACHING_DRIVER", "redis"), ("WAREST_TYPO", "1"), ("OTHER_TOOL_KEY", "1")]).unwrap().notes;
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(notes[0].ends_with(": WAREST_CACHING_DRIVER"), "{notes:?}");
    assert!(notes[1].ends_with(": WAREST_TYPO"), "only WAREST_* keys are ours to warn about: {notes:?}");
}
