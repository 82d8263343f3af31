//! `WAREST_PROXY_*`: the managed proxy pool, validated at start (a bad URL names its
//! position in the list, never its credentials).

use std::time::Duration;

use super::parse::{ConfigError, Source};
use crate::sessions::proxy::ProxySpec;
use crate::sessions::proxy::pool::{PoolSettings, Strategy};

/// The most proxies one pool may list; more is a configuration mistake.
const MAX_PROXIES: usize = 1000;

pub(super) fn proxy_pool(s: &Source) -> Result<Option<PoolSettings>, ConfigError> {
    const URLS: &str = "WAREST_PROXY_URLS";
    let raw = s.raw(URLS);
    let mut proxies = Vec::new();
    for (i, part) in raw.split(',').map(str::trim).filter(|p| !p.is_empty()).enumerate() {
        let spec = ProxySpec::parse_url(part).map_err(|e| ConfigError::new(URLS, format!("entry {}: {e}", i + 1)))?;
        if proxies.contains(&spec) {
            return Err(ConfigError::new(URLS, format!("entry {} repeats an earlier one", i + 1)));
        }
        proxies.push(spec);
    }
    if proxies.len() > MAX_PROXIES {
        return Err(ConfigError::new(URLS, format!("at most {MAX_PROXIES} proxies")));
    }
    let strategy = s.parse::<Strategy>("WAREST_PROXY_STRATEGY", "failover, round_robin or random")?;
    let multiplier: f64 = s.parse("WAREST_PROXY_FAILURE_BACKOFF_MULTIPLIER", "a number from 1 to 100")?;
    if !(1.0..=100.0).contains(&multiplier) {
        return Err(ConfigError::new("WAREST_PROXY_FAILURE_BACKOFF_MULTIPLIER", "expected a number from 1 to 100"));
    }
    let settings = PoolSettings {
        proxies,
        strategy,
        sticky: s.bool("WAREST_PROXY_STICKY_SESSION")?,
        rotate_after_failures: s.range("WAREST_PROXY_ROTATE_AFTER_FAILURES", 1, 1000)? as u32,
        cooloff: Duration::from_millis(s.range("WAREST_PROXY_FAILURE_COOLOFF_MS", 0, 86_400_000)?),
        backoff_multiplier: multiplier,
        capacity: s.range("WAREST_PROXY_MAX_SESSIONS_PER_PROXY", 0, 1_000_000)? as usize,
    };
    Ok(Some(settings).filter(|p| !p.proxies.is_empty()))
}
