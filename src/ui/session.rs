//! A session's page: status and `lastError`, the QR (as an image that follows WhatsApp's
//! rotation) and the pairing code, `me` and the device, config and webhooks, a test
//! message, recent chats and the send queue. Each block is one API read.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::api::{enc, query};
use super::viewer::Viewer;
use super::{Shared, render};

#[derive(Deserialize)]
pub struct PageQuery {
    /// A message just sent from this page, to follow until delivered.
    sent: Option<String>,
}

pub async fn page(
    State(ui): State<Shared>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Response {
    let who = &viewer.who;
    let session = ui.api.get(who, &format!("/api/v1/session/{}", enc(&id))).await;
    if !session.ok() {
        return render::answer_page(&ui, &session);
    }
    let sid = Some(id.as_str());
    let devices_uri = format!("/api/v1/session/devices{}", query(&[("sessionId", sid)]));
    let hooks_uri = format!("/api/v1/session/{}/webhooks", enc(&id));
    let chats_uri = format!("/api/v1/chats{}", query(&[("sessionId", sid), ("limit", Some("10"))]));
    let (devices, hooks, queue, chats) = tokio::join!(
        ui.api.get(who, &devices_uri),
        ui.api.get(who, &hooks_uri),
        ui.api.get(who, "/api/v1/server/queue"),
        ui.api.get(who, &chats_uri),
    );
    let queue = queue
        .items()
        .as_array()
        .and_then(|items| items.iter().find(|q| q["sessionId"] == id.as_str()).cloned())
        .unwrap_or_else(|| json!({ "depth": 0, "inFlight": 0, "retries": 0, "failures": 0, "paused": false }));
    let sent = match q.sent.as_deref().filter(|s| !s.is_empty() && s.len() <= 128) {
        Some(m) => ui.api.get(who, &format!("/api/v1/messages/{}", enc(m))).await.result(),
        None => Value::Null,
    };
    let s = session.result();
    let hooks = hooks.result();
    let primary = hooks["targets"].as_array().and_then(|t| t.iter().find(|t| t["kind"] == "primary")).cloned();
    let extra: Vec<Value> = hooks["targets"]
        .as_array()
        .map(|t| {
            t.iter()
                .filter(|t| t["kind"] == "extra")
                .map(|t| json!({ "url": t["url"], "events": t["events"], "headers": t["headers"] }))
                .collect()
        })
        .unwrap_or_default();
    let ctx = json!({
        "title": format!("Session {id}"),
        "session": s,
        "metadata_text": serde_json::to_string_pretty(&s["metadata"]).unwrap_or_default(),
        "devices": devices.result(),
        "hooks": hooks,
        "primary_events": primary.as_ref().map_or(json!([]), |p| p["events"].clone()),
        "primary_headers_text": primary.as_ref().map(|p| serde_json::to_string_pretty(&p["headers"]).unwrap_or_default())
            .filter(|t| t != "{}").unwrap_or_default(),
        "extra_targets_text": if extra.is_empty() { String::new() } else { serde_json::to_string_pretty(&extra).unwrap_or_default() },
        "events": crate::http::routes::webhooks::EVENTS,
        "flags": super::session_actions::flag_fields(&s["flags"]),
        "queue": queue,
        "chats": chats.result()["data"],
        "chats_error": if chats.ok() { Value::Null } else { json!(chats.message()) },
        "sent": sent,
    });
    render::page(&ui, &viewer, &headers, "session.html", "sessions", ctx)
}

/// The current QR as a PNG, from `GET /api/v1/session/{id}/qr?format=png` (its 404 when
/// there is none, which the page script hides).
pub async fn qr_png(State(ui): State<Shared>, viewer: Viewer, Path(id): Path<String>) -> Response {
    let uri = format!("/api/v1/session/{}/qr?format=png", enc(&id));
    let mut res = ui.api.raw_as(&viewer.who, Method::GET, &uri, &[]).await;
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// A sent message's status record (`GET /api/v1/messages/{id}`), for the page script to
/// catch up on receipts that came before its stream was open.
pub async fn message_status(State(ui): State<Shared>, viewer: Viewer, Path(id): Path<String>) -> Response {
    let ans = ui.api.get(&viewer.who, &format!("/api/v1/messages/{}", enc(&id))).await;
    (ans.http, axum::Json(ans.body)).into_response()
}

/// One chat's recent messages.
pub async fn chat(
    State(ui): State<Shared>,
    viewer: Viewer,
    headers: HeaderMap,
    Path((id, chat)): Path<(String, String)>,
) -> Response {
    let uri = format!(
        "/api/v1/chats/{}/messages{}",
        enc(&chat),
        query(&[("sessionId", Some(id.as_str())), ("limit", Some("50"))])
    );
    let ans = ui.api.get(&viewer.who, &uri).await;
    if !ans.ok() {
        return render::answer_page(&ui, &ans);
    }
    let r = ans.result();
    let ctx = json!({ "title": format!("Chat {chat}"), "session_id": id, "chat_id": chat,
                      "chat": r["chatInfo"], "messages": r["data"] });
    render::page(&ui, &viewer, &headers, "chat.html", "sessions", ctx)
}
