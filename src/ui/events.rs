//! Events and deliveries: the live event monitor (the stored-event stream relayed for
//! `EventSource`), the delivery attempt log, the dead-letter list with replay, and the
//! webhook preflight.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::api::{enc, query};
use super::forms::{after, refused};
use super::viewer::{Posted, Viewer};
use super::{Shared, render};
use crate::http::error::ApiError;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Filters {
    session_id: Option<String>,
    event: Option<String>,
}

impl Filters {
    fn query(&self, extra: &[(&str, Option<&str>)]) -> String {
        let mut pairs = vec![("sessionId", self.session_id.as_deref()), ("event", self.event.as_deref())];
        pairs.extend_from_slice(extra);
        query(&pairs)
    }
}

pub async fn page(State(ui): State<Shared>, viewer: Viewer, headers: HeaderMap, Query(f): Query<Filters>) -> Response {
    let who = &viewer.who;
    let deliveries_uri = format!("/api/v1/webhook/deliveries{}", f.query(&[("limit", Some("50"))]));
    let dlq_uri = format!("/api/v1/webhook/dlq{}", f.query(&[("limit", Some("100"))]));
    let (sessions, deliveries, dlq) = tokio::join!(
        ui.api.get(who, "/api/v1/session/list"),
        ui.api.get(who, &deliveries_uri),
        ui.api.get(who, &dlq_uri),
    );
    // A bad filter is the API's 400; show it instead of empty tables.
    let problem =
        [&deliveries, &dlq].into_iter().find(|a| !a.ok()).map(|a| json!({ "code": a.code(), "message": a.message() }));
    let ctx = json!({
        "title": "Events", "filters": { "sessionId": f.session_id, "event": f.event },
        "sessions": sessions.items(), "events": crate::http::routes::webhooks::EVENTS,
        "deliveries": deliveries.items(), "deliveries_total": deliveries.result()["total"],
        "dlq": dlq.items(), "dlq_total": dlq.result()["total"], "problem": problem,
    });
    render::page(&ui, &viewer, &headers, "events.html", "events", ctx)
}

/// `GET /api/v1/events/stream` for the signed-in browser (`EventSource` sends no API
/// key). `Last-Event-ID` is passed on, so a reconnect resumes where it stopped.
pub async fn stream(
    State(ui): State<Shared>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(f): Query<Filters>,
) -> Response {
    let last = headers.get("last-event-id").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let mut pass: Vec<(&str, &str)> = vec![];
    if !last.is_empty() {
        pass.push(("last-event-id", &last));
    }
    let uri = format!("/api/v1/events/stream{}", f.query(&[]));
    let mut res = ui.api.raw_as(&viewer.who, Method::GET, &uri, &pass).await;
    // Proxies must not buffer the stream.
    res.headers_mut().insert(HeaderName::from_static("x-accel-buffering"), HeaderValue::from_static("no"));
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

pub async fn preflight(State(ui): State<Shared>, posted: Posted) -> Response {
    let f = &posted.form;
    let body = json!({ "url": f.text("url"), "secret": f.text("secret"), "sessionId": f.text("sessionId") });
    // Absent fields are left out, so the API's defaults (the session's URL and secret) apply.
    let body: Value = body
        .as_object()
        .map(|m| m.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let ans = ui.api.post(&posted.viewer.who, "/api/v1/webhook/preflight", &body).await;
    after(posted.json, &ans, "/ui/events", json!({ "preflight": ans.result() }))
}

pub async fn dlq(State(ui): State<Shared>, Path((id, action)): Path<(String, String)>, posted: Posted) -> Response {
    let who = &posted.viewer.who;
    let ans = match action.as_str() {
        "replay" => ui.api.call(who, Method::POST, &format!("/api/v1/webhook/dlq/{}/replay", enc(&id)), None).await,
        "delete" if posted.form.get("confirm") == Some("yes") => {
            ui.api.call(who, Method::DELETE, &format!("/api/v1/webhook/dlq/{}", enc(&id)), None).await
        }
        "delete" if posted.json => refused(ApiError::field("confirm", "must be \"yes\" to confirm")),
        "delete" => {
            let ctx = json!({ "title": "Confirm", "question": format!("Discard dead letter {id}? It cannot be replayed afterwards."),
                              "button": "Discard", "target": format!("/ui/dlq/{}/delete", enc(&id)), "back": "/ui/events" });
            return render::page(&ui, &posted.viewer, &HeaderMap::new(), "confirm.html", "events", ctx);
        }
        _ => return render::error_page(&ui, StatusCode::NOT_FOUND, &ApiError::not_found("action")),
    };
    after(posted.json, &ans, "/ui/events", Value::Null)
}
