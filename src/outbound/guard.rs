//! Anti-spam guards applied when a send is accepted: a per-session quota per window
//! (`QUOTA_MAX` per `QUOTA_WINDOW_MS`) and a cooldown that refuses the same content to
//! the same recipient again within `SPAM_COOLDOWN_MS`. Rejections say why and when to
//! retry. State is in memory: a restart forgets it, which errs on the side of sending.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GuardConfig {
    /// 0 turns the cooldown off.
    pub cooldown: Duration,
    pub quota_window: Duration,
    /// 0 turns the quota off.
    pub quota_max: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// The same content went to this recipient `retry_after_ms` too recently.
    Cooldown { recipient: String, retry_after_ms: i64 },
    /// The session used its quota for the window.
    Quota { max: usize, retry_after_ms: i64 },
}

#[derive(Default)]
pub struct Guard {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Accepted send times per session, oldest first.
    sends: HashMap<String, VecDeque<i64>>,
    /// (session, recipient, content hash) → when it was last accepted, and under which
    /// idempotency key.
    recent: HashMap<(String, String, String), (i64, Option<String>)>,
}

impl Guard {
    /// Admits `recipients` sends of `content` for `session` at `now` (ms), recording them,
    /// or says why not. All or nothing. A repeat under the same idempotency key is not a
    /// repeat send (the store answers it with the first result), so it passes the cooldown.
    pub fn admit(
        &self,
        cfg: &GuardConfig,
        now: i64,
        session: &str,
        recipients: &[String],
        content: &str,
        idem: Option<&str>,
    ) -> Result<(), Rejection> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let cooldown = cfg.cooldown.as_millis() as i64;
        if cooldown > 0 {
            for r in recipients {
                if let Some((last, key)) = st.recent.get(&(session.to_string(), r.clone(), content.to_string()))
                    && now - last < cooldown
                    && (idem.is_none() || key.as_deref() != idem)
                {
                    return Err(Rejection::Cooldown { recipient: r.clone(), retry_after_ms: cooldown - (now - last) });
                }
            }
        }
        let window = cfg.quota_window.as_millis() as i64;
        if cfg.quota_max > 0 {
            let log = st.sends.entry(session.to_string()).or_default();
            while log.front().is_some_and(|t| now - t >= window) {
                log.pop_front();
            }
            if log.len() + recipients.len() > cfg.quota_max {
                // Room frees up when enough of the oldest sends leave the window.
                let need = (log.len() + recipients.len()).saturating_sub(cfg.quota_max);
                let retry_after_ms = log.get(need.saturating_sub(1)).map_or(window, |t| window - (now - t));
                return Err(Rejection::Quota { max: cfg.quota_max, retry_after_ms });
            }
            log.extend(std::iter::repeat_n(now, recipients.len()));
        }
        if cooldown > 0 {
            if st.recent.len() > 100_000 {
                st.recent.retain(|_, (t, _)| now - *t < cooldown);
            }
            for r in recipients {
                st.recent
                    .insert((session.to_string(), r.clone(), content.to_string()), (now, idem.map(str::to_string)));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(cooldown_ms: u64, window_ms: u64, max: usize) -> GuardConfig {
        GuardConfig {
            cooldown: Duration::from_millis(cooldown_ms),
            quota_window: Duration::from_millis(window_ms),
            quota_max: max,
        }
    }

    #[test]
    fn the_same_content_to_the_same_recipient_waits_for_the_cooldown() {
        let g = Guard::default();
        let c = cfg(3000, 60_000, 0);
        let a = ["a".to_string()];
        assert!(g.admit(&c, 1000, "s", &a, "h1", None).is_ok());
        assert_eq!(
            g.admit(&c, 2000, "s", &a, "h1", None),
            Err(Rejection::Cooldown { recipient: "a".into(), retry_after_ms: 2000 })
        );
        assert!(g.admit(&c, 2000, "s", &a, "h2", None).is_ok(), "other content");
        assert!(g.admit(&c, 2000, "s", &["b".to_string()], "h1", None).is_ok(), "other recipient");
        assert!(g.admit(&c, 2000, "t", &a, "h1", None).is_ok(), "other session");
        assert!(g.admit(&c, 4000, "s", &a, "h1", None).is_ok(), "after the cooldown");
        assert!(g.admit(&c, 4500, "s", &a, "h1", Some("k")).is_err(), "a new key is a new send");
        assert!(g.admit(&c, 8000, "s", &a, "h1", Some("k")).is_ok());
        assert!(g.admit(&c, 8100, "s", &a, "h1", Some("k")).is_ok(), "the same key again is a retry, not spam");
    }

    #[test]
    fn the_quota_counts_recipients_in_a_sliding_window() {
        let g = Guard::default();
        let c = cfg(0, 10_000, 3);
        let two = ["a".to_string(), "b".to_string()];
        assert!(g.admit(&c, 0, "s", &two, "x", None).is_ok());
        assert!(g.admit(&c, 4000, "s", &["c".to_string()], "y", None).is_ok());
        assert_eq!(
            g.admit(&c, 5000, "s", &["d".to_string()], "z", None),
            Err(Rejection::Quota { max: 3, retry_after_ms: 5000 })
        );
        assert!(g.admit(&c, 10_000, "s", &["d".to_string()], "z", None).is_ok(), "the first two left the window");
        assert!(g.admit(&c, 10_000, "t", &two, "x", None).is_ok(), "quotas are per session");
    }

    #[test]
    fn zero_turns_both_off() {
        let g = Guard::default();
        let c = cfg(0, 1000, 0);
        for i in 0..1000 {
            assert!(g.admit(&c, i, "s", &["a".to_string()], "same", None).is_ok());
        }
    }
}
