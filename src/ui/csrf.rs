//! CSRF tokens. A signed-in browser's token is derived from its session cookie (an HMAC
//! of a fixed label keyed by the cookie's secret), so it needs no storage, changes with
//! every sign-in, and cannot be computed by a page that cannot read the HttpOnly cookie.
//! Before sign-in, the login form uses a random token kept in a cookie of its own (the
//! double-submit pattern), so another site cannot sign a browser in to its own account.
//!
//! Every state-changing dashboard request must carry the token (form field `_csrf` or
//! header `X-CSRF-Token`), and an `Origin`, when the browser sends one, must be this host.

use axum::http::{HeaderMap, header};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub const FIELD: &str = "_csrf";
pub const HEADER: &str = "x-csrf-token";

/// The token for the session whose cookie secret is `session_token`.
pub fn token_for(session_token: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(session_token.as_bytes()).expect("HMAC takes any key length");
    mac.update(b"warest-dashboard-csrf-v1");
    hex::encode(mac.finalize().into_bytes())
}

/// Constant-time comparison of a presented token with the expected one.
pub fn matches(expected: &str, presented: Option<&str>) -> bool {
    match presented {
        Some(p) if !expected.is_empty() && p.len() == expected.len() => p.as_bytes().ct_eq(expected.as_bytes()).into(),
        _ => false,
    }
}

/// The token in the `X-CSRF-Token` header, if any.
pub fn from_header(headers: &HeaderMap) -> Option<&str> {
    headers.get(HEADER).and_then(|v| v.to_str().ok())
}

/// False when the browser says the request comes from another origin. Only the host is
/// compared: behind a TLS-terminating proxy the scheme the gateway sees differs.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return true };
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else { return false };
    let origin_host = origin.split_once("://").map_or("", |(_, rest)| rest).trim_end_matches('/');
    !origin_host.is_empty() && origin_host.eq_ignore_ascii_case(host)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn tokens_are_per_session_and_checked_exactly() {
        let a = token_for("cookie-a");
        assert_eq!(a, token_for("cookie-a"));
        assert_ne!(a, token_for("cookie-b"));
        assert_eq!(a.len(), 64);
        assert!(matches(&a, Some(&a)));
        assert!(!matches(&a, Some(&token_for("cookie-b"))));
        assert!(!matches(&a, Some("")));
        assert!(!matches(&a, None));
        assert!(!matches("", Some("")));
    }

    #[test]
    fn another_origin_is_refused() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:7308"));
        assert!(same_origin(&h), "no Origin: same-origin navigation or a non-browser client");
        h.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:7308"));
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(!same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&h));
    }
}
