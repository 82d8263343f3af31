//! The managed proxy pool (`WAREST_PROXY_*`): sessions without a proxy of their own get
//! one at start, by strategy (failover: the first usable in order; round robin; random),
//! at most `capacity` sessions per proxy. Consecutive dial failures through a proxy
//! (`rotate_after_failures` of them) cool it off for `cooloff · multiplier^(n-1)` (the
//! n-th cool-off in a row, capped at an hour) and move the failing session to the next
//! usable proxy; a successful dial makes it healthy again. Pure bookkeeping under one
//! mutex: no I/O, so every decision is testable without sockets.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use rand::Rng;
use serde::Serialize;
use utoipa::ToSchema;

use super::spec::ProxySpec;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    Failover,
    RoundRobin,
    Random,
}

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Failover => "failover",
            Strategy::RoundRobin => "round_robin",
            Strategy::Random => "random",
        }
    }
}

impl std::str::FromStr for Strategy {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "failover" => Ok(Strategy::Failover),
            "round_robin" | "roundrobin" => Ok(Strategy::RoundRobin),
            "random" => Ok(Strategy::Random),
            _ => Err(()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub proxies: Vec<ProxySpec>,
    pub strategy: Strategy,
    /// Keep a session on the proxy it had (stored) across restarts while that proxy is usable.
    pub sticky: bool,
    pub rotate_after_failures: u32,
    pub cooloff: Duration,
    pub backoff_multiplier: f64,
    /// Most sessions on one proxy; 0: no limit.
    pub capacity: usize,
}

/// A session moved from one proxy to another (or to none, when every proxy is unusable).
#[derive(Debug, Clone, PartialEq)]
pub struct Switch {
    pub from: String,
    pub to: Option<String>,
    pub reason: String,
}

/// Failures kept per proxy for `/server/proxies`.
const RECENT: usize = 10;
const MAX_COOLOFF: Duration = Duration::from_secs(3600);

#[derive(Debug, Default)]
struct Entry {
    consecutive: u32,
    /// Cool-offs in a row without a success between them (drives the multiplier).
    cooloffs: u32,
    cooling_until_ms: Option<i64>,
    recent: VecDeque<FailureView>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FailureView {
    /// Unix milliseconds.
    pub at: i64,
    pub session_id: String,
    pub error: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProxyStatusView {
    /// The proxy URL with its password masked.
    pub url: String,
    /// `healthy` or `cooling_off`.
    pub state: &'static str,
    /// Unix milliseconds at which a cooling-off proxy is used again.
    pub cooling_off_until: Option<i64>,
    pub consecutive_failures: u32,
    pub sessions: Vec<String>,
    pub recent_failures: Vec<FailureView>,
}

pub struct ProxyPool {
    settings: PoolSettings,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: Vec<Entry>,
    assigned: HashMap<String, usize>,
    next: usize,
}

impl ProxyPool {
    pub fn new(settings: PoolSettings) -> Self {
        let entries = settings.proxies.iter().map(|_| Entry::default()).collect();
        ProxyPool { settings, inner: Mutex::new(Inner { entries, ..Default::default() }) }
    }

    pub fn settings(&self) -> &PoolSettings {
        &self.settings
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The session's proxy, assigning one when it has none. `stored` is the masked URL it
    /// had before (sticky pools prefer it while it is usable).
    pub fn assign(&self, session: &str, stored: Option<&str>) -> Option<ProxySpec> {
        let mut g = self.lock();
        let now = crate::store::now_ms();
        if let Some(&i) = g.assigned.get(session) {
            return Some(self.settings.proxies[i].clone());
        }
        let sticky = stored.filter(|_| self.settings.sticky).and_then(|s| {
            self.settings.proxies.iter().position(|p| p.masked() == s).filter(|&i| self.usable(&g, i, now))
        });
        let pick = sticky.or_else(|| self.pick(&mut g, now, None))?;
        g.assigned.insert(session.to_string(), pick);
        Some(self.settings.proxies[pick].clone())
    }

    /// The proxy a session uses right now (assigning one if needed).
    pub fn current(&self, session: &str) -> Option<ProxySpec> {
        self.assign(session, None)
    }

    /// The proxy the session holds now, without assigning one.
    pub fn held(&self, session: &str) -> Option<ProxySpec> {
        self.lock().assigned.get(session).map(|&i| self.settings.proxies[i].clone())
    }

    /// The session no longer runs: its place on the proxy is free.
    pub fn release(&self, session: &str) {
        self.lock().assigned.remove(session);
    }

    fn usable(&self, g: &Inner, i: usize, now: i64) -> bool {
        let cool = g.entries[i].cooling_until_ms.is_some_and(|t| t > now);
        let load = g.assigned.values().filter(|&&a| a == i).count();
        !cool && (self.settings.capacity == 0 || load < self.settings.capacity)
    }

    fn pick(&self, g: &mut Inner, now: i64, avoid: Option<usize>) -> Option<usize> {
        let n = self.settings.proxies.len();
        let ok: Vec<usize> = (0..n).filter(|&i| Some(i) != avoid && self.usable(g, i, now)).collect();
        match self.settings.strategy {
            Strategy::Failover => ok.first().copied(),
            Strategy::RoundRobin => {
                let start = g.next;
                let found = (0..n).map(|k| (start + k) % n).find(|i| ok.contains(i));
                if let Some(i) = found {
                    g.next = (i + 1) % n;
                }
                found
            }
            Strategy::Random if ok.is_empty() => None,
            Strategy::Random => Some(ok[rand::thread_rng().gen_range(0..ok.len())]),
        }
    }

    /// A dial by `session` through `proxy` failed with `error`. Returns the move when this
    /// failure cooled the proxy off.
    pub fn failed(&self, session: &str, proxy: &ProxySpec, error: &str) -> Option<Switch> {
        let mut g = self.lock();
        let i = self.settings.proxies.iter().position(|p| p == proxy)?;
        let now = crate::store::now_ms();
        let e = &mut g.entries[i];
        e.consecutive += 1;
        e.recent.push_front(FailureView { at: now, session_id: session.to_string(), error: error.to_string() });
        e.recent.truncate(RECENT);
        if e.consecutive < self.settings.rotate_after_failures.max(1) {
            return None;
        }
        let factor = self.settings.backoff_multiplier.max(1.0).powi(e.cooloffs as i32);
        let wait = self.settings.cooloff.mul_f64(factor).min(MAX_COOLOFF);
        e.cooling_until_ms = Some(now + wait.as_millis() as i64);
        e.cooloffs += 1;
        e.consecutive = 0;
        if g.assigned.get(session) != Some(&i) {
            return None;
        }
        g.assigned.remove(session);
        let to = self.pick(&mut g, now, Some(i));
        if let Some(t) = to {
            g.assigned.insert(session.to_string(), t);
        }
        Some(Switch {
            from: proxy.masked(),
            to: to.map(|t| self.settings.proxies[t].masked()),
            reason: format!(
                "{} failed {} time(s) in a row ({error}); cooling off for {}ms",
                proxy.masked(),
                self.settings.rotate_after_failures.max(1),
                wait.as_millis()
            ),
        })
    }

    /// A dial through `proxy` worked: it is healthy again.
    pub fn succeeded(&self, proxy: &ProxySpec) {
        let mut g = self.lock();
        if let Some(i) = self.settings.proxies.iter().position(|p| p == proxy) {
            let e = &mut g.entries[i];
            e.consecutive = 0;
            e.cooloffs = 0;
            e.cooling_until_ms = None;
        }
    }

    pub fn view(&self) -> Vec<ProxyStatusView> {
        let g = self.lock();
        let now = crate::store::now_ms();
        self.settings
            .proxies
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let e = &g.entries[i];
                let until = e.cooling_until_ms.filter(|&t| t > now);
                let mut sessions: Vec<String> =
                    g.assigned.iter().filter(|(_, a)| **a == i).map(|(s, _)| s.clone()).collect();
                sessions.sort();
                ProxyStatusView {
                    url: p.masked(),
                    state: if until.is_some() { "cooling_off" } else { "healthy" },
                    cooling_off_until: until,
                    consecutive_failures: e.consecutive,
                    sessions,
                    recent_failures: e.recent.iter().cloned().collect(),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(strategy: Strategy, n: usize, capacity: usize) -> ProxyPool {
        let proxies =
            (0..n).map(|i| ProxySpec::parse_url(&format!("socks5://u:pw@10.0.0.{i}:1080")).unwrap()).collect();
        ProxyPool::new(PoolSettings {
            proxies,
            strategy,
            sticky: true,
            rotate_after_failures: 2,
            cooloff: Duration::from_secs(10),
            backoff_multiplier: 3.0,
            capacity,
        })
    }

    fn host(p: Option<ProxySpec>) -> String {
        p.map(|p| p.host).unwrap_or_default()
    }

    #[test]
    fn strategies_pick_as_named_and_capacity_is_respected() {
        let p = pool(Strategy::Failover, 3, 1);
        assert_eq!(host(p.assign("a", None)), "10.0.0.0");
        assert_eq!(host(p.assign("b", None)), "10.0.0.1", "the first is full");
        assert_eq!(host(p.assign("a", None)), "10.0.0.0", "an assignment stays");
        let r = pool(Strategy::RoundRobin, 2, 0);
        let got: Vec<String> = ["a", "b", "c"].iter().map(|s| host(r.assign(s, None))).collect();
        assert_eq!(got, ["10.0.0.0", "10.0.0.1", "10.0.0.0"]);
        let s = pool(Strategy::Failover, 2, 0);
        assert_eq!(host(s.assign("a", Some("socks5://u:***@10.0.0.1:1080"))), "10.0.0.1", "sticky");
        let full = pool(Strategy::Random, 1, 1);
        assert!(full.assign("a", None).is_some() && full.assign("b", None).is_none());
    }

    #[test]
    fn repeated_failures_cool_a_proxy_off_with_growing_backoff_and_move_the_session() {
        let p = pool(Strategy::Failover, 2, 0);
        let first = p.assign("a", None).unwrap();
        assert_eq!(p.failed("a", &first, "refused"), None, "one failure is not enough");
        let sw = p.failed("a", &first, "refused").expect("moved");
        assert_eq!(sw.to.as_deref(), Some("socks5://u:***@10.0.0.1:1080"));
        assert!(sw.reason.contains("10000ms"), "{}", sw.reason);
        let v = p.view();
        assert_eq!((v[0].state, v[1].sessions.clone()), ("cooling_off", vec!["a".to_string()]));
        assert_eq!(v[0].recent_failures.len(), 2);
        // The second cool-off in a row lasts cooloff · multiplier.
        p.failed("x", &first, "refused");
        p.failed("x", &first, "refused");
        let until = p.view()[0].cooling_off_until.unwrap();
        assert!(until - crate::store::now_ms() > 25_000, "backoff multiplied");
        p.succeeded(&first);
        assert_eq!(p.view()[0].state, "healthy");
    }
}
