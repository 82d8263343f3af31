//! Which HTTP client a delivery leaves through, and where it may go.
//!
//! **Where**: a tenant's webhook URL is one more way to make the gateway open connections.
//! Left open, any tenant could point it at the host's own services or the private network
//! (and preflight would time each port for them). `WAREST_WEBHOOK_ALLOW_PRIVATE` decides:
//! `admins` (the default — an admin already controls the host, and an operator's own
//! receivers often sit on the private network), `all`, or `none`. A guarded delivery to an
//! IP literal is checked before sending; to a name, through [`PublicOnly`], the resolver of
//! the guarded client: it drops private and local answers, and the connection uses only the
//! addresses it returned, so a second DNS answer cannot lead elsewhere. No client follows
//! redirects or honours `HTTP(S)_PROXY` from the environment (a proxy resolves again).
//!
//! **Which**: directly, by default: a receiver is the operator's own service, and a
//! session's proxy is there for WhatsApp. With `WAREST_WEBHOOK_VIA_SESSION_PROXY=true` a
//! session's deliveries go through the proxy the session uses — its own, or the one the
//! pool lends it now — so receivers see the same egress address as WhatsApp does and the
//! gateway needs no direct route out. The proxy resolves names itself there; a guarded
//! delivery through it is checked against a local resolution first.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::config::PrivateTargets;
use crate::media::fetch::is_internal;
use crate::sessions::proxy::{ProxyPool, ProxySpec};
use crate::store::{Db, StoreError};

/// Why a guarded target is refused; found again in reqwest's error chain.
#[derive(Debug)]
pub struct PrivateTarget;

impl std::fmt::Display for PrivateTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(PRIVATE_TARGET)
    }
}

impl std::error::Error for PrivateTarget {}

pub const PRIVATE_TARGET: &str =
    "the target is a private or local address, which WAREST_WEBHOOK_ALLOW_PRIVATE does not allow for this tenant";

/// The guarded client's resolver: public addresses only.
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = found.into_iter().filter(|a| !is_internal(a.ip())).collect();
            if public.is_empty() {
                return Err(Box::new(PrivateTarget) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

pub struct Egress {
    db: Db,
    timeout: Duration,
    via_session_proxy: bool,
    allow_private: PrivateTargets,
    open: reqwest::Client,
    guarded: reqwest::Client,
    pool: OnceLock<Arc<ProxyPool>>,
    /// One client per proxy (its connection pool is reused), keyed by the full URL.
    proxied: Mutex<HashMap<String, reqwest::Client>>,
}

impl Egress {
    pub fn new(db: Db, timeout: Duration, via_session_proxy: bool, allow_private: PrivateTargets) -> Self {
        let open = builder(timeout).build().expect("reqwest client with static settings");
        let guarded =
            builder(timeout).dns_resolver(Arc::new(PublicOnly)).build().expect("reqwest client with static settings");
        Egress {
            db,
            timeout,
            via_session_proxy,
            allow_private,
            open,
            guarded,
            pool: OnceLock::new(),
            proxied: Mutex::default(),
        }
    }

    /// The pool the sessions borrow from (once; later calls are ignored).
    pub fn set_pool(&self, pool: Arc<ProxyPool>) {
        let _ = self.pool.set(pool);
    }

    /// Whether `registry`'s targets must be public addresses.
    pub async fn guarded_for(&self, registry: &str) -> bool {
        match self.allow_private {
            PrivateTargets::All => false,
            PrivateTargets::None => true,
            // An unknown owner is guarded: nobody vouches for it.
            PrivateTargets::Admins => !self.db.get_user(registry).await.is_ok_and(|u| u.is_admin),
        }
    }

    /// The direct client for a tenant (`guarded`: see [`Egress::guarded_for`]), after the
    /// check of an IP-literal `url`. Preflight uses it; so do deliveries without a proxy.
    pub fn direct(&self, url: &str, guarded: bool) -> Result<reqwest::Client, String> {
        if !guarded {
            return Ok(self.open.clone());
        }
        if literal_ip(url).is_some_and(is_internal) {
            return Err(PRIVATE_TARGET.into());
        }
        Ok(self.guarded.clone())
    }

    /// The client for one of `session`'s deliveries to `url`. An error is a refusal (a
    /// guarded private target), or means the session should go through a proxy and none is
    /// usable now: the delivery is retried later, never sent directly instead (that would
    /// reveal the address the proxy hides).
    /// `registry` is the event's tenant (the session may be gone by now).
    pub async fn for_delivery(&self, session: &str, registry: &str, url: &str) -> Result<reqwest::Client, String> {
        let guarded = self.guarded_for(registry).await;
        if !self.via_session_proxy {
            return self.direct(url, guarded);
        }
        // The session's row only when its proxy matters: it is one more read per delivery.
        let own = match self.db.session(session).await {
            Ok(row) => row.proxy,
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(format!("cannot read the session: {e}")),
        };
        let spec = match own {
            // Stored only after validation.
            Some(url) => ProxySpec::parse_url(&url).map_err(|_| "the session's stored proxy is invalid".to_string())?,
            None => match self.pool.get() {
                None => return self.direct(url, guarded),
                // Only a proxy the session holds now: asking the pool to assign one would take
                // a place a running session may need.
                Some(pool) => pool.held(session).ok_or("the session holds no proxy from the pool now")?,
            },
        };
        if guarded && resolves_internal(url).await {
            return Err(PRIVATE_TARGET.into());
        }
        self.client_through(&spec)
    }

    fn client_through(&self, spec: &ProxySpec) -> Result<reqwest::Client, String> {
        let mut clients = self.proxied.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = clients.get(&spec.key()) {
            return Ok(c.clone());
        }
        // Neither error carries the URL: it holds the proxy's password.
        let proxy = reqwest::Proxy::all(spec.url_with_credentials())
            .map_err(|_| format!("proxy {} is not usable for webhooks", spec.masked()))?;
        let client = builder(self.timeout)
            .proxy(proxy)
            .build()
            .map_err(|_| format!("cannot build a webhook client for proxy {}", spec.masked()))?;
        clients.insert(spec.key(), client.clone());
        Ok(client)
    }
}

/// Whether a reqwest error is [`PrivateTarget`] (the guarded resolver refused the name).
pub fn is_private_target(e: &reqwest::Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.is::<PrivateTarget>() {
            return true;
        }
        cur = err.source();
    }
    false
}

fn literal_ip(url: &str) -> Option<IpAddr> {
    let u = reqwest::Url::parse(url).ok()?;
    // The URL parser has normalised `0x7f.1`, `2130706433` and the like to dotted form.
    u.host_str()?.trim_start_matches('[').trim_end_matches(']').parse().ok()
}

/// Any address of `url`'s host is private or local (an unresolvable host is not: the
/// proxy may know names we do not).
async fn resolves_internal(url: &str) -> bool {
    if let Some(ip) = literal_ip(url) {
        return is_internal(ip);
    }
    let Some(host) = reqwest::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_string)) else {
        return false;
    };
    match tokio::time::timeout(Duration::from_secs(5), tokio::net::lookup_host((host.as_str(), 0))).await {
        Ok(Ok(mut addrs)) => addrs.any(|a| is_internal(a.ip())),
        _ => false,
    }
}

fn builder(timeout: Duration) -> reqwest::ClientBuilder {
    // A receiver that redirects is misconfigured; following it could leak the body, or
    // lead past the address check.
    reqwest::Client::builder().timeout(timeout).redirect(reqwest::redirect::Policy::none()).no_proxy()
}
