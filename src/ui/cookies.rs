//! Reading and writing the dashboard's cookies. All are `HttpOnly; SameSite=Strict;
//! Path=/`: scripts never read them, and other sites' requests never carry them. And
//! `Secure` when the browser came over HTTPS ([`secure_when_https`]): then a network
//! attacker cannot read them off a plain-HTTP request the browser is tricked into making.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::app::AppState;

/// The longest cookie value read; anything longer is not one of ours.
const MAX_VALUE: usize = 4096;

/// The value of cookie `name`, if present and sane.
pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty() && v.len() <= MAX_VALUE)
}

/// A `Set-Cookie` value; `max_age` 0 deletes the cookie.
pub fn set(name: &str, value: &str, max_age_secs: u64) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}")).ok()
}

/// Marks every cookie the dashboard sets `Secure` when a trusted proxy
/// (`WAREST_TRUSTED_PROXIES`) says the browser used HTTPS. Not otherwise: the gateway
/// itself serves plain HTTP, and a browser never sends a `Secure` cookie back over it.
pub async fn secure_when_https(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
    next: Next,
) -> Response {
    let https = state.config.trusted_proxies.https(peer.ip(), req.headers());
    let mut res = next.run(req).await;
    if https {
        let all: Vec<HeaderValue> = res.headers().get_all(header::SET_COOKIE).iter().cloned().collect();
        res.headers_mut().remove(header::SET_COOKIE);
        for v in all {
            let text = v.to_str().unwrap_or_default();
            let marked = if text.to_ascii_lowercase().contains("; secure") {
                Some(v.clone())
            } else {
                HeaderValue::from_str(&format!("{text}; Secure")).ok()
            };
            if let Some(m) = marked {
                res.headers_mut().append(header::SET_COOKIE, m);
            }
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_cookie_among_others() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; WAREST_UI_FLASH=xyz; b=2"));
        assert_eq!(get(&h, "WAREST_UI_FLASH").as_deref(), Some("xyz"));
        assert_eq!(get(&h, "c"), None);
        assert!(set("n", "v", 0).unwrap().to_str().unwrap().contains("Max-Age=0"));
    }
}
