//! Retry schedule and circuit breaker: pure decisions, no I/O, tested with fixed inputs.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// Longest exponential step; later attempts wait this (plus jitter).
pub const MAX_BACKOFF: Duration = Duration::from_secs(600);
/// A receiver's Retry-After is honoured up to this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// Delay before the next attempt after `attempts` failed ones (1-based): `base · 2^(n-1)`
/// capped at [`MAX_BACKOFF`], plus `jitter`, and never sooner than the receiver's
/// `Retry-After` (capped at [`MAX_RETRY_AFTER`]).
pub fn retry_delay(attempts: u32, base: Duration, jitter: Duration, retry_after: Option<Duration>) -> Duration {
    let exp = attempts.saturating_sub(1).min(30);
    let step = base.saturating_mul(1u32 << exp).min(MAX_BACKOFF);
    let delay = step + jitter;
    match retry_after {
        Some(ra) => delay.max(ra.min(MAX_RETRY_AFTER)),
        None => delay,
    }
}

/// `Retry-After` as seconds or an HTTP date, relative to `now_ms`.
pub fn parse_retry_after(value: &str, now_ms: i64) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?.timestamp_millis();
    Some(Duration::from_millis(at.saturating_sub(now_ms).max(0) as u64))
}

/// Random jitter in `[0, max]`.
pub fn jitter(max: Duration) -> Duration {
    use rand::Rng;
    let ms = max.as_millis() as u64;
    if ms == 0 { Duration::ZERO } else { Duration::from_millis(rand::thread_rng().gen_range(0..=ms)) }
}

/// Per-target circuit breakers (keyed by URL). After `threshold` consecutive failures a
/// target is held for `cooldown`; deliveries to it wait without spending attempts. The
/// first attempt after the cooldown is the probe: success closes it, failure re-opens it.
#[derive(Default)]
pub struct Breakers {
    inner: Mutex<HashMap<String, (u32, i64)>>,
}

impl Breakers {
    /// When the target is held, until when (Unix ms).
    pub fn open_until(&self, url: &str, now: i64) -> Option<i64> {
        let map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        map.get(url).map(|(_, until)| *until).filter(|until| *until > now)
    }

    pub fn success(&self, url: &str) {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).remove(url);
    }

    /// Records a failure; returns the hold time if the breaker (re)opens.
    pub fn failure(&self, url: &str, now: i64, threshold: u32, cooldown: Duration) -> Option<i64> {
        let mut map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            map.clear();
        }
        let entry = map.entry(url.to_string()).or_insert((0, 0));
        entry.0 += 1;
        if entry.0 >= threshold {
            entry.1 = now + cooldown.as_millis() as i64;
            return Some(entry.1);
        }
        None
    }

    /// How many targets are held at `now` (the open-breakers gauge of `/metrics`).
    pub fn open_count(&self, now: i64) -> usize {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).values().filter(|(_, until)| *until > now).count()
    }

    /// Holds a target for `for_ms` regardless of its count (401/403 security cool-off).
    pub fn hold(&self, url: &str, until: i64) {
        let mut map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let entry = map.entry(url.to_string()).or_insert((0, 0));
        entry.1 = entry.1.max(until);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(retry_delay(1, MS(100), MS(0), None), MS(100));
        assert_eq!(retry_delay(2, MS(100), MS(0), None), MS(200));
        assert_eq!(retry_delay(4, MS(100), MS(7), None), MS(807));
        assert_eq!(retry_delay(40, MS(100), MS(0), None), MAX_BACKOFF);
    }

    #[test]
    fn retry_after_wins_when_longer_and_is_capped() {
        assert_eq!(retry_delay(1, MS(100), MS(0), Some(Duration::from_secs(5))), Duration::from_secs(5));
        assert_eq!(retry_delay(3, MS(1000), MS(0), Some(MS(10))), MS(4000));
        assert_eq!(retry_delay(1, MS(1), MS(0), Some(Duration::from_secs(99_999))), MAX_RETRY_AFTER);
    }

    #[test]
    fn retry_after_parses_seconds_and_dates() {
        assert_eq!(parse_retry_after("7", 0), Some(Duration::from_secs(7)));
        let now = chrono::DateTime::parse_from_rfc2822("Wed, 21 Oct 2015 07:28:00 GMT").unwrap().timestamp_millis();
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn breaker_opens_after_threshold_and_closes_on_success() {
        let b = Breakers::default();
        assert_eq!(b.failure("u", 1000, 3, MS(500)), None);
        assert_eq!(b.failure("u", 1000, 3, MS(500)), None);
        assert_eq!(b.open_until("u", 1000), None);
        assert_eq!(b.failure("u", 1000, 3, MS(500)), Some(1500));
        assert_eq!(b.open_until("u", 1200), Some(1500));
        assert_eq!(b.open_until("u", 1600), None);
        assert_eq!(b.open_until("other", 1200), None);
        b.success("u");
        assert_eq!(b.failure("u", 2000, 3, MS(500)), None);
    }
}
