//! Text extras end to end: human-like pacing (the contact sees "typing…" from the gateway
//! before the message), link previews (the contact sees the page's title; a dead link
//! still sends the text), and `sent` only after the server's ack.

use crate::common;

use std::time::Duration;

use common::{Kind, TestApp, envelope_code, eventually, kinds};
use serde_json::{Value, json};
use warest_sandbox::{Behaviour, Fault, Sandbox};
use whatsapp_rust::types::events::Event;
use whatsapp_rust::types::presence::{ChatPresence, ReceiptType};

const TIMEOUT: Duration = Duration::from_secs(60);
const CONTACT: &str = "15550007001";
const PHONE: &str = "15550007002";

async fn gateway(sandbox: &Sandbox, env: &[(&str, &str)]) -> TestApp {
    gateway_on(Kind::Sqlite, sandbox, env).await
}

async fn gateway_on(kind: Kind, sandbox: &Sandbox, env: &[(&str, &str)]) -> TestApp {
    common::wa::sandbox_gateway(kind, sandbox, env).await
}

async fn link(app: &TestApp, sandbox: &Sandbox, key: &str) {
    common::wa::link_session(app, sandbox, key, "main", PHONE).await
}

async fn send_text(app: &TestApp, key: &str, body: Value) -> (String, Value) {
    let (status, answer) = app.post("/api/v1/messages/send/text", Some(key), body).await;
    assert_eq!((status, envelope_code(&answer)), (200, 1000), "{answer}");
    (answer["results"][0]["messageId"].as_str().unwrap().to_string(), answer)
}

/// Where in the contact's event log the first event matching `pred` is.
fn position(events: &[std::sync::Arc<Event>], pred: impl Fn(&Event) -> bool) -> Option<usize> {
    events.iter().position(|e| pred(e))
}

fn message_with_id(e: &Event, id: &str) -> bool {
    matches!(e, Event::Messages(batch) if batch.messages.iter().any(|m| m.info.id.as_str() == id))
}

fn typing_from(e: &Event, phone: &str, state: ChatPresence) -> bool {
    matches!(e, Event::ChatPresence(p) if p.source.chat.user.as_str() == phone && p.state == state)
}

#[tokio::test]
async fn with_pacing_the_contact_sees_typing_before_the_message() {
    for kind in kinds() {
        pacing_case(kind).await;
    }
}

async fn pacing_case(kind: Kind) {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.create_contact(CONTACT, Behaviour::Silent).await.unwrap();
    let app = gateway_on(kind, &sandbox, &[]).await;
    let (_, key) = app.create_user("ops").await;
    link(&app, &sandbox, &key).await;

    // Unpaced (the default): no typing cue at all.
    let (plain, _) = send_text(&app, &key, json!({ "sessionId": "main", "to": CONTACT, "message": "no cues" })).await;
    sandbox.wait_inbox(CONTACT, TIMEOUT, |e| e.id == plain).await.unwrap();
    let events = sandbox.contact_events(CONTACT).unwrap();
    assert_eq!(position(&events, |e| typing_from(e, PHONE, ChatPresence::Composing)), None, "no typing unpaced");

    // The contact writes first, so the chat has something unread to mark read.
    let incoming = sandbox.contact_send(CONTACT, PHONE, "are you there?").await.unwrap();
    let chat = format!("{CONTACT}@s.whatsapp.net");
    eventually("the incoming message to be stored unread", TIMEOUT, async || {
        !app.state.db.unread_in_chat("main", &chat).await.unwrap().is_empty()
    })
    .await;

    // Paced by the session flag: read, composing, then paused, then the message.
    let (status, body) =
        app.post("/api/v1/session/main/config", Some(&key), json!({ "flags": { "humanPacing": true } })).await;
    assert_eq!(status, 200, "{body}");
    let (paced, _) =
        send_text(&app, &key, json!({ "sessionId": "main", "to": CONTACT, "message": "typed by a human" })).await;
    sandbox.wait_inbox(CONTACT, TIMEOUT, |e| e.id == paced).await.unwrap();
    let events = sandbox.contact_events(CONTACT).unwrap();
    let msg = position(&events, |e| message_with_id(e, &paced)).expect("the message event");
    let typing = position(&events, |e| typing_from(e, PHONE, ChatPresence::Composing)).expect("a typing cue");
    let paused = position(&events, |e| typing_from(e, PHONE, ChatPresence::Paused)).expect("a paused cue");
    assert!(typing < paused && paused < msg, "typing {typing} < paused {paused} < message {msg}");
    let read = position(&events, |e| {
        matches!(e, Event::Receipt(r) if r.r#type == ReceiptType::Read && r.message_ids.iter().any(|m| m.as_str() == incoming))
    })
    .expect("the chat was marked read");
    assert!(read < typing, "read {read} before typing {typing}");
    assert!(app.state.db.unread_in_chat("main", &chat).await.unwrap().is_empty(), "nothing unread left");

    // The request's `presence: false` overrides the flag.
    let before = events.len();
    let (quiet, _) = send_text(
        &app,
        &key,
        json!({ "sessionId": "main", "to": CONTACT, "message": "no cues again", "presence": false }),
    )
    .await;
    sandbox.wait_inbox(CONTACT, TIMEOUT, |e| e.id == quiet).await.unwrap();
    let events = sandbox.contact_events(CONTACT).unwrap();
    assert!(
        !events[before..].iter().any(|e| typing_from(e, PHONE, ChatPresence::Composing)),
        "presence:false sends without cues"
    );
    app.stop().await;
}

/// A page with Open Graph tags and a JPEG og:image, on loopback.
pub(crate) async fn page_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let html = format!(
        r#"<html><head><title>fallback</title><meta property="og:title" content="The Sandbox Gazette">
           <meta property="og:description" content="All the news that fits"><meta property="og:image" content="http://{addr}/thumb.jpg">
           </head><body>hello</body></html>"#
    );
    let jpeg: Vec<u8> = [&[0xFF, 0xD8, 0xFF, 0xE0][..], &[9u8; 600]].concat();
    let app = axum::Router::new()
        .route(
            "/thumb.jpg",
            axum::routing::get(move || async move { ([(axum::http::header::CONTENT_TYPE, "image/jpeg")], jpeg) }),
        )
        .fallback(move || async move { axum::response::Html(html) });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/article")
}

#[tokio::test]
async fn a_link_preview_carries_the_page_title_and_a_dead_link_still_sends() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.create_contact(CONTACT, Behaviour::Silent).await.unwrap();
    let app = gateway(&sandbox, &[("WAREST_ALLOW_PRIVATE_MEDIA_URLS", "true")]).await;
    let (_, key) = app.create_user("ops").await;
    link(&app, &sandbox, &key).await;
    let url = page_server().await;

    let text = format!("read this: {url} !");
    let (id, answer) =
        send_text(&app, &key, json!({ "sessionId": "main", "to": CONTACT, "message": text, "linkPreview": true }))
            .await;
    assert_eq!(answer["results"][0]["advancedInfo"]["linkPreview"]["title"], "The Sandbox Gazette", "{answer}");
    let e = sandbox.wait_inbox(CONTACT, TIMEOUT, |e| e.id == id).await.unwrap();
    assert_eq!(e.text.as_deref(), Some(text.as_str()));
    let json = e.message_json.unwrap();
    for needle in ["The Sandbox Gazette", "All the news that fits", url.as_str()] {
        assert!(json.contains(needle), "{needle} in {json}");
    }
    assert!(json.contains("jpeg_thumbnail") || json.contains("jpegThumbnail"), "thumbnail: {json}");

    // Without the flag: no fetch, no preview.
    let (id, _) = send_text(&app, &key, json!({ "sessionId": "main", "to": CONTACT, "message": text })).await;
    let json = sandbox.wait_inbox(CONTACT, TIMEOUT, |e| e.id == id).await.unwrap().message_json.unwrap();
    assert!(!json.contains("The Sandbox Gazette"), "{json}");

    // A link nobody answers: the text goes out without a preview.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let a = l.local_addr().unwrap();
        drop(l);
        format!("see http://{a}/gone")
    };
    let (id, answer) =
        send_text(&app, &key, json!({ "sessionId": "main", "to": CONTACT, "message": dead, "linkPreview": true }))
            .await;
    assert!(answer["results"][0]["advancedInfo"]["linkPreview"].is_null(), "{answer}");
    let e = sandbox.wait_inbox(CONTACT, TIMEOUT, |e| e.id == id).await.unwrap();
    assert_eq!(e.text.as_deref(), Some(dead.as_str()));
    app.stop().await;
}

async fn status_of(app: &TestApp, key: &str, id: &str) -> Value {
    let (status, body) = app.get(&format!("/api/v1/messages/{id}"), Some(key)).await;
    assert_eq!(status, 200, "{body}");
    body["results"][0].clone()
}

#[tokio::test]
async fn a_message_is_sent_only_once_the_server_acked_it() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.create_contact(CONTACT, Behaviour::Silent).await.unwrap();
    let app = gateway(
        &sandbox,
        &[
            ("WAREST_QUEUE_TIMEOUT_MS", "1500"),
            ("WAREST_QUEUE_RETRY_DELAY_MS", "200"),
            ("WAREST_QUEUE_MAX_RETRIES", "20"),
            // The test polls the status; the API key's rate limit is not under test.
            ("RATE_LIMIT_MAX", "100000"),
        ],
    )
    .await;
    let (_, key) = app.create_user("ops").await;
    link(&app, &sandbox, &key).await;
    // The contact is away (no delivery receipt can stand in for the ack) and the server
    // swallows its acks to the gateway.
    for d in sandbox.devices(CONTACT) {
        sandbox.inject(CONTACT, d, Fault::RefuseLogins(Duration::from_secs(120))).unwrap();
    }
    let gateway_devices = sandbox.devices(PHONE);
    for &d in &gateway_devices {
        sandbox.inject(PHONE, d, Fault::DropAcks).unwrap();
    }
    let (id, _) = send_text(&app, &key, json!({ "sessionId": "main", "to": CONTACT, "message": "ack me" })).await;

    // The stanza left, the ack never came: the attempt fails and is retried, never `sent`.
    let r = eventually("a retried attempt", TIMEOUT, async || {
        let r = status_of(&app, &key, &id).await;
        if r["attempts"].as_i64().unwrap_or(0) >= 2 { Ok(r) } else { Err(r) }
    })
    .await;
    assert!(r["sentAt"].is_null(), "not sent without an ack: {r}");
    assert_ne!(r["status"], "sent", "{r}");
    assert!(r["error"].as_str().unwrap_or_default().contains("timed out"), "{r}");

    // Acks flow again: the next attempt (same id) is acked and the message is `sent`.
    for &d in &gateway_devices {
        sandbox.clear_faults(PHONE, d);
    }
    let r = eventually("sent after the ack", TIMEOUT, async || {
        let r = status_of(&app, &key, &id).await;
        if r["status"] == "sent" { Ok(r) } else { Err(r) }
    })
    .await;
    assert!(r["sentAt"].is_i64(), "{r}");
    for d in sandbox.devices(CONTACT) {
        sandbox.clear_faults(CONTACT, d);
    }
    // The contact, back online, has the message once.
    sandbox.wait_inbox(CONTACT, TIMEOUT, |e| e.id == id).await.unwrap();
    app.stop().await;
}
