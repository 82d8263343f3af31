//! Fixed-window request counting per key (an API key id, or a client address for failed
//! authentications and sign-in attempts). In memory: a node limits what it serves, which is what protects it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The outcome of one check, with what the `RateLimit-*` headers report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the window resets (at least 1).
    pub reset_secs: u64,
}

pub struct RateLimiter {
    window: Duration,
    max: u32,
    buckets: Mutex<HashMap<String, (Instant, u32)>>,
}

/// Above this many tracked keys, expired windows are swept on insert, so the map stays
/// bounded by the number of keys active within one window.
const SWEEP_ABOVE: usize = 10_000;

impl RateLimiter {
    pub fn new(window: Duration, max: u32) -> Self {
        RateLimiter { window, max, buckets: Mutex::new(HashMap::new()) }
    }

    /// Counts one request for `key` at `now` and says whether it may proceed.
    pub fn check_at(&self, key: &str, now: Instant) -> Decision {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > SWEEP_ABOVE && !buckets.contains_key(key) {
            let window = self.window;
            buckets.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = buckets.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        let allowed = entry.1 < self.max;
        if allowed {
            entry.1 += 1;
        }
        let elapsed = now.duration_since(entry.0);
        let reset = self.window.saturating_sub(elapsed);
        Decision {
            allowed,
            limit: self.max,
            remaining: self.max - entry.1,
            reset_secs: reset.as_millis().div_ceil(1000).max(1) as u64,
        }
    }

    pub fn check(&self, key: &str) -> Decision {
        self.check_at(key, Instant::now())
    }

    /// Gives back one request counted for `key` in the current window (one that turned out
    /// not to be what the bucket counts, e.g. a sign-in that succeeded).
    pub fn refund(&self, key: &str) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, n)) = buckets.get_mut(key) {
            *n = n.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_max_then_blocks_until_the_window_resets() {
        let rl = RateLimiter::new(Duration::from_secs(10), 3);
        let t0 = Instant::now();
        let seen: Vec<(bool, u32)> = (0..4).map(|_| rl.check_at("k", t0)).map(|d| (d.allowed, d.remaining)).collect();
        assert_eq!(seen, vec![(true, 2), (true, 1), (true, 0), (false, 0)]);
        let blocked = rl.check_at("k", t0 + Duration::from_millis(2500));
        assert_eq!(blocked.reset_secs, 8, "7.5s left rounds up");
        assert!(rl.check_at("other", t0).allowed, "keys are independent");
        assert!(rl.check_at("k", t0 + Duration::from_secs(10)).allowed, "new window");
    }

    #[test]
    fn a_refund_gives_one_request_back() {
        let rl = RateLimiter::new(Duration::from_secs(10), 1);
        let t0 = Instant::now();
        assert!(rl.check_at("k", t0).allowed);
        rl.refund("k");
        assert!(rl.check_at("k", t0).allowed);
        assert!(!rl.check_at("k", t0).allowed);
        rl.refund("absent");
    }

    #[test]
    fn expired_windows_are_swept_when_the_map_grows() {
        let rl = RateLimiter::new(Duration::from_secs(1), 5);
        let t0 = Instant::now();
        for i in 0..=SWEEP_ABOVE {
            rl.check_at(&format!("k{i}"), t0);
        }
        rl.check_at("fresh", t0 + Duration::from_secs(2));
        assert_eq!(rl.buckets.lock().unwrap().len(), 1);
    }
}
