//! The REST API, called in process: the same router as `/api/*` without the key
//! middleware, with the dashboard's signed-in principal put where the middleware would put
//! it. Answers come back as the API's envelope, so pages show the API's codes and fields.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use axum::response::Response;
use serde_json::Value;
use tower::ServiceExt;

use crate::app::AppState;
use crate::auth::Principal;

/// The largest API answer a page reads (lists are paged well below this).
const MAX_ANSWER: usize = 8 * 1024 * 1024;

pub struct Api {
    router: Router,
}

/// One API answer: its HTTP status and envelope.
#[derive(Debug, Clone)]
pub struct Answer {
    pub http: StatusCode,
    pub body: Value,
    pub headers: HeaderMap,
}

impl Answer {
    pub fn ok(&self) -> bool {
        self.http.is_success() && self.body["status"] == true
    }

    pub fn code(&self) -> u64 {
        self.body["code"].as_u64().unwrap_or(0)
    }

    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or("")
    }

    /// The first result (the object of a single-object answer, the page of a list).
    pub fn result(&self) -> Value {
        if self.ok() { self.body["results"][0].clone() } else { Value::Null }
    }

    /// A page's items, or an empty list.
    pub fn items(&self) -> Value {
        match self.result().get("items") {
            Some(v @ Value::Array(_)) => v.clone(),
            _ => Value::Array(vec![]),
        }
    }

    /// The field a validation error names.
    pub fn field(&self) -> Option<&str> {
        if self.ok() { None } else { self.body["results"][0]["field"].as_str() }
    }
}

/// Percent-encodes one path segment or query value (everything but letters, digits, `-`,
/// `_` and `~`; dots too, so `..` stays a value), so a value never changes which route is
/// called.
pub fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A query string from pairs; absent or empty values are left out.
pub fn query(pairs: &[(&str, Option<&str>)]) -> String {
    let parts: Vec<String> =
        pairs.iter().filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| format!("{k}={}", enc(v)))).collect();
    if parts.is_empty() { String::new() } else { format!("?{}", parts.join("&")) }
}

impl Api {
    pub fn new(state: AppState) -> Api {
        let (routes, _) = crate::http::api_router(true).split_for_parts();
        Api { router: routes.with_state(state) }
    }

    /// Dispatches `method uri` (path and query, already encoded) with an optional JSON body
    /// on behalf of `who`.
    pub async fn call(&self, who: &Principal, method: Method, uri: &str, body: Option<&Value>) -> Answer {
        let mut req = Request::builder().method(method).uri(uri);
        if body.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
        let Ok(mut req) = req.body(body) else { return internal() };
        req.extensions_mut().insert(who.clone());
        answer(self.raw(req).await).await
    }

    pub async fn get(&self, who: &Principal, uri: &str) -> Answer {
        self.call(who, Method::GET, uri, None).await
    }

    pub async fn post(&self, who: &Principal, uri: &str, body: &Value) -> Answer {
        self.call(who, Method::POST, uri, Some(body)).await
    }

    /// An unauthenticated call with the caller's address (sign-in).
    pub async fn anonymous(
        &self,
        peer: Option<SocketAddr>,
        headers: &[(&str, &str)],
        method: Method,
        uri: &str,
        body: Option<&Value>,
    ) -> Answer {
        let mut req = Request::builder().method(method).uri(uri).header(header::CONTENT_TYPE, "application/json");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(p) = peer {
            req = req.extension(ConnectInfo(p));
        }
        let Ok(req) = req.body(body.map_or_else(Body::empty, |b| Body::from(b.to_string()))) else {
            return internal();
        };
        answer(self.raw(req).await).await
    }

    /// Any prepared request; the answer is returned as it is (streams, images).
    pub async fn raw(&self, req: Request<Body>) -> Response {
        match self.router.clone().oneshot(req).await {
            Ok(res) => res,
            Err(never) => match never {},
        }
    }

    /// A prepared request on behalf of `who`, answer returned as it is.
    pub async fn raw_as(&self, who: &Principal, method: Method, uri: &str, headers: &[(&str, &str)]) -> Response {
        let mut req = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            if let Ok(v) = HeaderValue::from_str(v) {
                req = req.header(*k, v);
            }
        }
        match req.body(Body::empty()) {
            Ok(mut req) => {
                req.extensions_mut().insert(who.clone());
                self.raw(req).await
            }
            Err(_) => {
                Response::builder().status(StatusCode::INTERNAL_SERVER_ERROR).body(Body::empty()).unwrap_or_default()
            }
        }
    }
}

async fn answer(res: Response) -> Answer {
    let http = res.status();
    let headers = res.headers().clone();
    let body = match axum::body::to_bytes(res.into_body(), MAX_ANSWER).await {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        Err(_) => Value::Null,
    };
    Answer { http, body, headers }
}

fn internal() -> Answer {
    Answer {
        http: StatusCode::INTERNAL_SERVER_ERROR,
        body: serde_json::json!({ "status": false, "code": 8000, "message": "Internal server error", "results": null }),
        headers: HeaderMap::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_cannot_escape_their_segment() {
        assert_eq!(enc("main"), "main");
        assert_eq!(enc("../keys?x=1&y"), "%2E%2E%2Fkeys%3Fx%3D1%26y");
        assert_eq!(enc("é /"), "%C3%A9%20%2F");
        assert_eq!(query(&[("sessionId", Some("a b")), ("phone", None), ("label", Some(""))]), "?sessionId=a%20b");
        assert_eq!(query(&[("x", None)]), "");
    }
}
