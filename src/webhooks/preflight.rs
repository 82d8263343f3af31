//! Preflight: one signed test delivery (`X-WAREST-Preflight: 1`) to check a receiver's
//! reachability and signature handling before its URL is saved. Never stored, never retried.

use std::time::Instant;

use reqwest::header::{HeaderName, HeaderValue};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::Webhooks;
use super::dispatcher::{SignInput, signed_headers, transport_error};
use crate::store::now_ms;

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreflightResult {
    pub target: String,
    pub ok: bool,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<u16>,
    pub error: Option<String>,
    pub round_trip_ms: u64,
}

pub struct PreflightTarget<'a> {
    pub url: &'a str,
    pub secret: Option<&'a str>,
    pub session_id: &'a str,
    pub registry: &'a str,
    pub username: &'a str,
    pub label: Option<&'a str>,
    /// The caller is an admin: exact errors and timings. Others learn only whether it
    /// worked, so preflight cannot map which ports answer how fast.
    pub detailed: bool,
}

pub async fn run(hooks: &Webhooks, t: PreflightTarget<'_>) -> PreflightResult {
    let event_id = super::outbox::new_event_id();
    let body = json!({
        "event": "preflight",
        "data": { "sessionId": t.session_id, "eventId": event_id, "preflight": true },
        "ts": now_ms(),
        "session": { "id": t.session_id, "label": t.label, "registry": t.registry, "username": t.username },
    })
    .to_string();
    let mut headers = signed_headers(&SignInput {
        cfg: &hooks.cfg,
        body: &body,
        secret: t.secret,
        username: t.username,
        event: "preflight",
        event_id: &event_id,
        session_id: t.session_id,
        registry: t.registry,
        label: t.label,
        attempt: 1,
        custom: None,
    });
    headers.insert(HeaderName::from_static("x-warest-preflight"), HeaderValue::from_static("1"));
    let guarded = hooks.egress.guarded_for(t.registry).await;
    let started = Instant::now();
    let res = match hooks.egress.direct(t.url, guarded) {
        Ok(client) => client.post(t.url).headers(headers).body(body).send().await.map_err(|e| transport_error(&e)),
        Err(refused) => Err(refused),
    };
    let mut round_trip_ms = started.elapsed().as_millis() as u64;
    let (status, mut error) = match res {
        Ok(r) if r.status().is_success() => (Some(r.status().as_u16()), None),
        Ok(r) => (Some(r.status().as_u16()), Some(format!("receiver answered HTTP {}", r.status().as_u16()))),
        Err(e) => (None, Some(e)),
    };
    if !t.detailed && status.is_none() {
        error = Some("the receiver could not be reached".to_string());
        round_trip_ms = 0;
    }
    PreflightResult { target: t.url.to_string(), ok: error.is_none(), status, error, round_trip_ms }
}
