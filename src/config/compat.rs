//! The original WAREST's `.env`, read as it is: a team stops the Node.js gateway and starts
//! this one with the same file. Three things make that work, before any key is parsed:
//!
//! - an empty value means "not set" (the original's `KEY=` lines), so the default applies;
//! - the original's other names for a setting ([`ALIASES`]) fill in ours when ours is unset;
//! - keys of features done differently here ([`NO_EFFECT`]) are accepted and named once at
//!   start, and any other unknown `WAREST_*` key gets one warning line, so a typo is seen.
//!
//! The README's key table says what became of each of the original's keys.

use std::collections::HashMap;

use super::keys;

/// (the original's name, ours): the original read either; ours wins when both are set.
pub const ALIASES: &[(&str, &str)] = &[
    ("APP_PORT", "PORT"),
    ("APP_HOST", "WAREST_HOST"),
    ("WAREST_TIMEZONE", "GENERIC_TIMEZONE"),
    ("WAREST_TZ_LOCALE", "TZ_LOCALE"),
    ("WAREST_BASE_URL", "WAREST_PUBLIC_URL"),
    ("WAREST_ALLOWED_ORIGINS", "ALLOWED_ORIGINS"),
    ("WAREST_DB_URL", "WAREST_DB_POSTGRES_URL"),
    ("MYSQL_HOST", "WAREST_DB_HOST"),
    ("MYSQL_PORT", "WAREST_DB_PORT"),
    ("MYSQL_USER", "WAREST_DB_USER"),
    ("MYSQL_PASSWORD", "WAREST_DB_PASSWORD"),
    ("MYSQL_DATABASE", "WAREST_DB_DATABASE"),
    ("WAREST_STORAGE_LOCAL_SIGNED_TTL_SEC", "WAREST_MEDIA_URL_TTL_SEC"),
    ("WAREST_STORAGE_LOCAL_SIGNED_SECRET", "WAREST_MEDIA_URL_SECRET"),
    ("WAREST_COMPRESS_FFMPEG_PATH", "WAREST_FFMPEG_PATH"),
];

/// Key prefixes of the original's features that this gateway does another way; such keys
/// are accepted and have no effect (why: the README's key table).
pub const NO_EFFECT: &[&str] = &[
    // Its cache layer (local, Redis, Memcached, MongoDB): state lives in the database here,
    // and the few in-process caches are bounded by their own limits.
    "WAREST_CACHING_",
    "WAREST_CACHE_",
    // Its storage drivers: files live under WAREST_DATA_DIR and are served by signed links;
    // generated files last as long as their links (WAREST_MEDIA_URL_TTL_SEC).
    "WAREST_STORAGE_",
    // Its automatic re-compression of sent media: files are sent as given here.
    "WAREST_COMPRESS_",
];

/// The variables as the loader reads them, and what to say about them at start.
pub struct Normalized {
    pub vars: HashMap<String, String>,
    /// Lines to log once logging is up (they cannot fail the start).
    pub notes: Vec<String>,
}

/// Drops empty values, applies [`ALIASES`], and collects the start-up notes.
pub fn normalize(input: &HashMap<String, String>) -> Normalized {
    let mut vars: HashMap<String, String> =
        input.iter().filter(|(_, v)| !v.trim().is_empty()).map(|(k, v)| (k.clone(), v.clone())).collect();
    for (theirs, ours) in ALIASES {
        if !vars.contains_key(*ours)
            && let Some(v) = vars.get(*theirs).cloned()
        {
            vars.insert(ours.to_string(), v);
        }
    }
    let mut no_effect: Vec<&str> = Vec::new();
    let mut unknown: Vec<&str> = Vec::new();
    for k in vars.keys().map(String::as_str) {
        if keys::spec(k).is_some() || ALIASES.iter().any(|(theirs, _)| *theirs == k) {
            continue;
        }
        if NO_EFFECT.iter().any(|p| k.starts_with(p)) {
            no_effect.push(k);
        } else if k.starts_with("WAREST_") {
            unknown.push(k);
        }
    }
    no_effect.sort_unstable();
    unknown.sort_unstable();
    let mut notes = Vec::new();
    if !no_effect.is_empty() {
        notes.push(format!(
            "settings of the original WAREST that have no effect here (see the README's key table): {}",
            no_effect.join(", ")
        ));
    }
    if !unknown.is_empty() {
        notes.push(format!("unknown settings, ignored (a typo?): {}", unknown.join(", ")));
    }
    Normalized { vars, notes }
}
