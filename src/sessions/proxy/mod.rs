//! Proxies for a session's WhatsApp traffic: the WebSocket (a `TransportFactory` that
//! tunnels through SOCKS5 or HTTP CONNECT) and its media upload/download (reqwest with
//! the same proxy). A session's [`Route`] is its own proxy (session config), one lent by
//! the managed [`pool::ProxyPool`] (`WAREST_PROXY_*`), or none. Webhooks go through them
//! only with `WAREST_WEBHOOK_VIA_SESSION_PROXY` (`webhooks::egress`).

pub mod dial;
pub mod http;
pub mod pool;
pub mod spec;
pub mod transport;

use std::sync::Arc;

pub use pool::{ProxyPool, Switch};
pub use spec::{ProxySpec, Scheme, SpecError};

/// How one session reaches WhatsApp.
#[derive(Clone)]
pub enum Route {
    Direct,
    /// The session's own proxy.
    Fixed(ProxySpec),
    /// One lent by the pool; asked again on every dial, so it can change.
    Pool {
        pool: Arc<ProxyPool>,
        session: String,
    },
}

impl Route {
    /// The proxy to use now (`None` when direct, or when the pool has none usable).
    pub fn current(&self) -> Option<ProxySpec> {
        match self {
            Route::Direct => None,
            Route::Fixed(p) => Some(p.clone()),
            Route::Pool { pool, session } => pool.current(session),
        }
    }

    pub fn is_direct(&self) -> bool {
        matches!(self, Route::Direct)
    }

    /// `own` for a session-configured proxy, `pool` for a lent one.
    pub fn source(&self) -> Option<&'static str> {
        match self {
            Route::Direct => None,
            Route::Fixed(_) => Some("session"),
            Route::Pool { .. } => Some("pool"),
        }
    }

    /// A dial through `proxy` failed; a pool may move the session (returned).
    pub fn failed(&self, proxy: &ProxySpec, error: &str) -> Option<Switch> {
        match self {
            Route::Pool { pool, session } => pool.failed(session, proxy, error),
            _ => None,
        }
    }

    pub fn succeeded(&self, proxy: &ProxySpec) {
        if let Route::Pool { pool, .. } = self {
            pool.succeeded(proxy);
        }
    }
}

/// Where the transport's notes go: the session's actor, tagged with the client
/// generation they belong to (notes of a stopped client are ignored).
#[derive(Clone)]
pub struct Notes {
    pub generation: u64,
    pub tx: tokio::sync::mpsc::UnboundedSender<(u64, ProxyNote)>,
}

impl Notes {
    pub fn send(&self, note: ProxyNote) {
        let _ = self.tx.send((self.generation, note));
    }
}

/// What the transport tells the session's actor about its proxy.
#[derive(Debug, Clone, PartialEq)]
pub enum ProxyNote {
    /// The WebSocket is up through this proxy (masked URL).
    Connected(String),
    /// A dial failed; the text says which proxy and whether it refused or was unreachable.
    Failed(String),
    /// The pool moved the session to another proxy.
    Switched(Switch),
}
