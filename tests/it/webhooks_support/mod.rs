//! A small webhook receiver on 127.0.0.1 for the webhook tests: records every request's
//! peer, headers and body, and answers with scripted statuses (then a default); a request
//! whose body contains a given text gets the body set for it (a receiver's `actions`).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use warest::sessions::events::StatusDetail;
use warest::sessions::status::{Status, Tag};
use warest::store::sessions::NewSession;

use crate::common::TestApp;
use tokio::sync::Notify;

#[derive(Debug, Clone)]
pub struct Hit {
    /// Who connected: the gateway, or the proxy it went through (the proxy tests).
    #[cfg_attr(not(feature = "sandbox"), allow(dead_code))]
    pub peer: SocketAddr,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub status: u16,
}

impl Hit {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
    pub fn header(&self, name: &str) -> String {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
    }
}

/// What the receiver answers: scripted (status, extra header) pairs, then `default`.
#[derive(Default)]
struct Plan {
    script: VecDeque<(u16, Option<(String, String)>)>,
    default: u16,
    /// The first rule whose needle the request body contains decides the answer.
    rules: Vec<Rule>,
}

#[derive(Clone, Default)]
struct Rule {
    needle: String,
    status: Option<u16>,
    body: Option<String>,
    /// Wait this long before answering (a hanging receiver).
    delay: Duration,
}

#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    hits: Arc<Mutex<Vec<Hit>>>,
    plan: Arc<Mutex<Plan>>,
    changed: Arc<Notify>,
}

#[derive(Clone)]
struct Shared {
    hits: Arc<Mutex<Vec<Hit>>>,
    plan: Arc<Mutex<Plan>>,
    changed: Arc<Notify>,
}

async fn handle(
    State(s): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (status, extra, rule) = {
        let mut plan = s.plan.lock().unwrap();
        let d = plan.default;
        let text = String::from_utf8_lossy(&body);
        let rule = plan.rules.iter().find(|r| text.contains(r.needle.as_str())).cloned().unwrap_or_default();
        let (status, extra) = plan.script.pop_front().unwrap_or((d, None));
        (rule.status.unwrap_or(status), extra, rule)
    };
    s.hits.lock().unwrap().push(Hit { peer, headers, body, status });
    s.changed.notify_waiters();
    tokio::time::sleep(rule.delay).await;
    let answer = rule.body.unwrap_or_else(|| "{}".into());
    let mut res =
        (StatusCode::from_u16(status).unwrap(), [("content-type", "application/json")], answer).into_response();
    if let Some((k, v)) = extra {
        res.headers_mut().insert(
            axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            axum::http::HeaderValue::from_str(&v).unwrap(),
        );
    }
    res
}

impl Receiver {
    pub async fn start() -> Receiver {
        let hits = Arc::new(Mutex::new(Vec::new()));
        let plan = Arc::new(Mutex::new(Plan { default: 200, ..Plan::default() }));
        let changed = Arc::new(Notify::new());
        let shared = Shared { hits: hits.clone(), plan: plan.clone(), changed: changed.clone() };
        let app = axum::Router::new().fallback(handle).with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = app.into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { addr, hits, plan, changed }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn set_default(&self, status: u16) {
        self.plan.lock().unwrap().default = status;
    }

    pub fn script(&self, status: u16, header: Option<(&str, &str)>) {
        self.plan.lock().unwrap().script.push_back((status, header.map(|(k, v)| (k.into(), v.into()))));
    }

    /// Requests whose body contains `needle` are answered with `body`.
    pub fn answer_containing(&self, needle: &str, body: serde_json::Value) {
        let rule = Rule { needle: needle.into(), body: Some(body.to_string()), ..Rule::default() };
        self.plan.lock().unwrap().rules.push(rule);
    }

    /// Requests whose body contains `needle` are answered with `status`.
    pub fn status_containing(&self, needle: &str, status: u16) {
        let rule = Rule { needle: needle.into(), status: Some(status), ..Rule::default() };
        self.plan.lock().unwrap().rules.push(rule);
    }

    /// Requests whose body contains `needle` are answered only after `delay`.
    pub fn hang_containing(&self, needle: &str, delay: Duration) {
        let rule = Rule { needle: needle.into(), delay, ..Rule::default() };
        self.plan.lock().unwrap().rules.push(rule);
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    /// Successful deliveries (2xx answers) so far.
    pub fn delivered(&self) -> Vec<Hit> {
        self.hits().into_iter().filter(|h| (200..300).contains(&h.status)).collect()
    }

    /// Waits (bounded) until `pred` holds for the recorded hits.
    pub async fn wait_until(&self, what: &str, timeout: Duration, pred: impl Fn(&[Hit]) -> bool) -> Vec<Hit> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let hits = self.hits();
            if pred(&hits) {
                return hits;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let hits = self.hits();
                if pred(&hits) {
                    return hits;
                }
                panic!("receiver: timed out waiting for {what}; got {} requests", hits.len());
            }
        }
    }
}

/// A stopped session of `registry` in the database, its webhook set to `url` through the API.
pub async fn stored_session(app: &TestApp, id: &str, registry: &str, key: &str, url: &str) {
    let new = NewSession { id, registry, label: None, status: "STOPPED", auto_start: false, metadata: &json!({}) };
    app.state.db.create_session(new).await.unwrap();
    let (status, body) =
        app.post(&format!("/api/v1/session/{id}/config"), Some(key), json!({ "webhookUrl": url })).await;
    assert_eq!(status, 200, "{body}");
}

/// Publishes a `session_status` for `id`, as its actor would: one event to deliver.
pub fn emit_status(app: &TestApp, id: &str, registry: &str) {
    app.state.events.session_status(id, registry, Tag::Connecting, Status::Starting, StatusDetail::default());
}
