//! The webhook action runner end to end: a virtual contact writes to a session linked to
//! the sandbox, the webhook receiver answers with `actions`, and the contact gets what
//! they sent (through the send queue), reactions and read receipts included, and buttons,
//! lists, stickers, forwards and audio built as the REST send routes build them. Bad answers — unknown type,
//! nesting too deep, too many actions, another tenant's session, malformed JSON — are
//! recorded in the delivery log, and the valid actions of the same list still run. A
//! slow run does not hold up the deliveries after it.

use crate::common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use base64::Engine;
use common::{Kind, TestApp, envelope_code, eventually, kinds};
use serde_json::{Value, json};
use sqlx::Row;
use tokio::sync::broadcast;
use warest::sessions::events::SessionEvent;
use warest_sandbox::{Behaviour, CLIENT_VERSION, Sandbox, SandboxEvent};

const WAIT: Duration = Duration::from_secs(60);
const PHONE: &str = "15551230101";
const CONTACT: &str = "15559990101";

/// What the receiver answers to a `message_received` with this text.
fn answer_for(text: &str, data: &Value) -> Value {
    let key = json!({ "id": data["messageId"], "remoteJid": data["chatId"], "fromMe": false });
    match text {
        "ping" => json!({ "actions": [{ "type": "text", "to": CONTACT, "text": "pong" }] }),
        "ping again" => json!({ "actions": [{ "type": "text", "to": CONTACT, "text": "pong again" }] }),
        // A run that waits far longer than the rest of the test takes.
        "slow" => json!({ "actions": [
            { "type": "delay", "ms": 50_000 },
            { "type": "text", "to": CONTACT, "text": "slow-done" }
        ]}),
        "react to me" => json!({ "delayMs": 10, "actions": [
            { "type": "delay", "ms": 20 },
            { "act": "react", "key": key, "emoji": "👍" },
            { "type": "when", "cond": "{{data.message.text}}",
              "then": [{ "type": "text", "to": CONTACT, "text": "when-then" }],
              "else": [{ "type": "text", "to": CONTACT, "text": "never-else" }] },
            { "type": "when", "cond": false,
              "then": [{ "type": "text", "to": CONTACT, "text": "never-then" }],
              "else": [{ "type": "text", "to": CONTACT, "text": "when-else" }] },
            { "type": "typing", "to": CONTACT, "ms": 10 },
            { "act": "read", "keys": [key] },
            { "type": "presence", "state": "available" }
        ]}),
        "bad list" => {
            let deep = (0..5).fold(json!({ "type": "noop" }), |inner, _| json!({ "type": "queue", "items": [inner] }));
            let mut actions = vec![
                json!({ "type": "bogus", "to": CONTACT }),
                deep,
                json!({ "type": "text", "sessionId": "foreign1", "to": CONTACT, "text": "foreign" }),
                json!({ "type": "hologram", "to": CONTACT }),
                json!({ "type": "text", "to": CONTACT, "text": "after-bad" }),
            ];
            actions.extend((0..4).map(|_| json!({ "type": "noop" })));
            json!({ "actions": actions })
        }
        t if t.starts_with("forward ") => rich_answer(&t["forward ".len()..]),
        _ => json!({}),
    }
}

/// Buttons, a list, a sticker (from a PNG) and a forward of the gateway's message `id`.
fn rich_answer(id: &str) -> Value {
    let img = image::RgbaImage::from_fn(40, 20, |x, y| image::Rgba([(x * 6) as u8, (y * 9) as u8, 90, 255]));
    let mut png = Vec::new();
    image::DynamicImage::ImageRgba8(img)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let png = base64::engine::general_purpose::STANDARD.encode(png);
    json!({ "actions": [
        { "type": "button", "to": CONTACT, "text": "Pick a desk", "footer": "Action footer",
          "buttons": [ { "type": "reply", "displayText": "Sales desk", "id": "sales" },
                       { "type": "url", "displayText": "Our site", "url": "https://example.com/" } ] },
        { "type": "list", "to": CONTACT, "text": "Pick a fruit", "buttonText": "Fruits",
          "sections": [ { "title": "Red", "rows": [ { "id": "cherry", "title": "Cherry", "description": "Small" } ] },
                        { "title": "Green", "rows": [ { "id": "lime", "title": "Lime" } ] } ] },
        { "type": "sticker", "to": CONTACT, "sticker": format!("data:image/png;base64,{png}") },
        { "type": "forward", "to": CONTACT, "messageId": id },
        { "type": "media", "mediaType": "audio", "to": CONTACT,
          "url": base64::engine::general_purpose::STANDARD.encode(wav()) }
    ]})
}

/// A short 8 kHz mono PCM WAV.
fn wav() -> Vec<u8> {
    let data: Vec<u8> = (0..1600u32).map(|i| ((i * 37) % 256) as u8).collect();
    let mut w = b"RIFF".to_vec();
    w.extend((36 + data.len() as u32).to_le_bytes());
    w.extend(b"WAVEfmt ");
    w.extend(16u32.to_le_bytes());
    w.extend(1u16.to_le_bytes()); // PCM
    w.extend(1u16.to_le_bytes()); // mono
    w.extend(8000u32.to_le_bytes());
    w.extend(8000u32.to_le_bytes()); // byte rate
    w.extend(1u16.to_le_bytes()); // block align
    w.extend(8u16.to_le_bytes()); // bits per sample
    w.extend(b"data");
    w.extend((data.len() as u32).to_le_bytes());
    w.extend(data);
    w
}

fn forwarded(json: &str) -> bool {
    json.contains("\"is_forwarded\":true") || json.contains("\"isForwarded\":true")
}

#[derive(Clone, Default)]
struct Responder {
    /// Texts of the messages answered with a raw (malformed) body.
    raw: Arc<Mutex<Vec<(String, String)>>>,
}

async fn respond(State(r): State<Responder>, body: axum::body::Bytes) -> axum::response::Response {
    use axum::response::IntoResponse;
    let ev: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if ev["event"] != "message_received" {
        return axum::Json(json!({})).into_response();
    }
    let text = ev["data"]["message"]["text"].as_str().unwrap_or("").to_string();
    if let Some((_, raw)) = r.raw.lock().unwrap().iter().find(|(t, _)| *t == text) {
        return ([(axum::http::header::CONTENT_TYPE, "application/json")], raw.clone()).into_response();
    }
    axum::Json(answer_for(&text, &ev["data"])).into_response()
}

async fn responder() -> (String, Responder) {
    let r = Responder::default();
    r.raw.lock().unwrap().push(("malformed".into(), "{\"actions\": [".into()));
    let app = axum::Router::new().fallback(respond).with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), r)
}

async fn wait_open(rx: &mut broadcast::Receiver<SessionEvent>, session: &str) {
    tokio::time::timeout(WAIT, async {
        loop {
            match rx.recv().await {
                Ok(ev) if ev.session_id == session && ev.tag() == Some("open") => return,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(e) => panic!("event bus closed: {e}"),
            }
        }
    })
    .await
    .expect("session open")
}

/// Waits (bounded) until an attempt of `session` has action results matching `pred`.
async fn wait_results(app: &TestApp, key: &str, session: &str, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    eventually(format!("action results of {session} to match"), Duration::from_secs(60), async || {
        let (status, body) = app.get(&format!("/api/v1/webhook/deliveries?sessionId={session}"), Some(key)).await;
        assert_eq!(status, 200, "{body}");
        let items = body["results"][0]["items"].as_array().cloned().unwrap_or_default();
        items.iter().find_map(|item| item["actions"].as_array().filter(|list| pred(list)).cloned()).ok_or(body)
    })
    .await
}

fn entry<'a>(list: &'a [Value], path: &str) -> &'a Value {
    list.iter().find(|e| e["path"] == path).unwrap_or_else(|| panic!("no entry {path} in {list:?}"))
}

#[tokio::test]
async fn a_receivers_actions_reach_the_contact_and_bad_ones_are_logged() {
    for kind in kinds() {
        run(kind).await;
    }
}

async fn run(kind: Kind) {
    let sandbox = Sandbox::start().await.unwrap();
    let url = sandbox.ws_url();
    let (hook, responder) = responder().await;
    let app = TestApp::spawn_configured(kind, &[("WAREST_ACTIONS_MAX", "12")], move |c| {
        c.wa_url = Some(url);
        c.wa_version = Some(CLIENT_VERSION);
    })
    .await;
    let (_, key) = app.create_user("acts").await;
    let (_, other_key) = app.create_user("other").await;
    // Another tenant's session, which the answer below must not be able to use.
    let (status, body) = app.get("/api/v1/session/create?sessionId=foreign1", Some(&other_key)).await;
    assert_eq!(status, 200, "{body}");

    let mut events = app.state.events.subscribe();
    let (status, body) = app.get("/api/v1/session/create?sessionId=act1", Some(&key)).await;
    assert_eq!((status, envelope_code(&body)), (200, 1107), "{body}");
    sandbox.link(body["results"][0]["qrString"].as_str().unwrap(), PHONE).unwrap();
    wait_open(&mut events, "act1").await;
    let (status, body) = app.post("/api/v1/session/act1/config", Some(&key), json!({ "webhookUrl": hook })).await;
    assert_eq!(status, 200, "{body}");
    sandbox.create_contact(CONTACT, Behaviour::Silent).await.unwrap();

    // A text action: the contact gets "pong" from the session.
    sandbox.contact_send(CONTACT, PHONE, "ping").await.unwrap();
    let pong = sandbox.wait_inbox(CONTACT, WAIT, |e| e.text.as_deref() == Some("pong")).await.unwrap();
    assert_eq!(pong.from, PHONE, "{kind:?}");
    let list = wait_results(&app, &key, "act1", |l| l.iter().any(|e| e["type"] == "text")).await;
    assert_eq!(entry(&list, "0")["ok"], true, "{list:?}");

    // Button, list, sticker and forward actions: the contact decrypts each.
    sandbox.contact_send(CONTACT, PHONE, &format!("forward {}", pong.id)).await.unwrap();
    let has = |needles: &'static [&'static str]| {
        move |e: &warest_sandbox::InboxEntry| {
            e.message_json.as_deref().is_some_and(|j| needles.iter().all(|n| j.contains(n)))
        }
    };
    sandbox
        .wait_inbox(
            CONTACT,
            WAIT,
            has(&["Pick a desk", "Action footer", "Sales desk", "quick_reply", "Our site", "cta_url"]),
        )
        .await
        .unwrap();
    sandbox
        .wait_inbox(CONTACT, WAIT, has(&["Pick a fruit", "Fruits", "single_select", "Cherry", "Small", "lime"]))
        .await
        .unwrap();
    let sticker =
        sandbox.wait_inbox(CONTACT, WAIT, |e| e.media.as_ref().is_some_and(|m| m.kind == "sticker")).await.unwrap();
    let m = sticker.media.unwrap();
    assert_eq!(m.mimetype.as_deref(), Some("image/webp"), "{kind:?}");
    let webp = image::load_from_memory_with_format(&m.bytes, image::ImageFormat::WebP).unwrap();
    assert_eq!((webp.width(), webp.height()), (512, 512), "{kind:?}");
    let fwd = sandbox
        .wait_inbox(CONTACT, WAIT, |e| {
            e.text.as_deref() == Some("pong") && e.message_json.as_deref().is_some_and(forwarded)
        })
        .await
        .unwrap();
    assert_ne!(fwd.id, pong.id, "{kind:?}: a new message");
    let audio =
        sandbox.wait_inbox(CONTACT, WAIT, |e| e.media.as_ref().is_some_and(|m| m.kind == "audio")).await.unwrap();
    let m = audio.media.unwrap();
    assert_eq!((m.mimetype.as_deref(), m.bytes == wav()), (Some("audio/wav"), true), "{kind:?}");
    let list = wait_results(&app, &key, "act1", |l| l.iter().any(|e| e["type"] == "forward")).await;
    for path in ["0", "1", "2", "3", "4"] {
        assert_eq!(entry(&list, path)["ok"], true, "{list:?}");
    }

    // Control actions: delay, react, and `when` taking each branch.
    let mut server = sandbox.subscribe();
    let target = sandbox.contact_send(CONTACT, PHONE, "react to me").await.unwrap();
    let reaction = sandbox.wait_inbox(CONTACT, WAIT, |e| e.reaction.is_some()).await.unwrap();
    assert_eq!(reaction.reaction, Some((target.clone(), "👍".to_string())), "{kind:?}");
    sandbox.wait_inbox(CONTACT, WAIT, |e| e.text.as_deref() == Some("when-then")).await.unwrap();
    // The queue is FIFO per session: once "when-else" is in, the untaken branches would be too.
    sandbox.wait_inbox(CONTACT, WAIT, |e| e.text.as_deref() == Some("when-else")).await.unwrap();
    let texts: Vec<String> = sandbox.inbox(CONTACT).unwrap().into_iter().filter_map(|e| e.text).collect();
    assert!(!texts.iter().any(|t| t.starts_with("never")), "{texts:?}");
    let list = wait_results(&app, &key, "act1", |l| l.iter().any(|e| e["type"] == "react")).await;
    let read = target.clone();
    Sandbox::wait_for_event(
        &mut server,
        WAIT,
        |e| matches!(e, SandboxEvent::ReceiptRelayed { id, kind, .. } if *id == read && kind == "read"),
    )
    .await
    .expect("the read action sent a read receipt");
    for path in ["0", "1", "2", "3", "4", "5"] {
        assert_eq!(entry(&list, path)["ok"], true, "{list:?}");
    }
    assert_eq!(entry(&list, "2")["result"]["branch"], "then");
    assert_eq!(entry(&list, "3")["result"]["branch"], "else");
    // whatsapp-rust refuses global presence without a push name, which sandbox accounts
    // lack: a failed control action is recorded like any other.
    assert!(entry(&list, "6")["error"].as_str().is_some_and(|e| e.contains("push name")), "{list:?}");

    // A list with bad actions: each is logged, the good ones still run.
    sandbox.contact_send(CONTACT, PHONE, "bad list").await.unwrap();
    sandbox.wait_inbox(CONTACT, WAIT, |e| e.text.as_deref() == Some("after-bad")).await.unwrap();
    let list = wait_results(&app, &key, "act1", |l| l.iter().any(|e| e["type"] == "bogus")).await;
    let err = |path: &str| entry(&list, path)["error"].as_str().unwrap_or_default().to_string();
    assert!(err("0").contains("unknown action type"), "{list:?}");
    assert!(err("1.items.0.items.0.items.0.items.0").contains("nested too deep"), "{list:?}");
    assert!(err("2").contains("refused"), "{list:?}");
    assert!(err("3").contains("unknown action type \"hologram\""), "{list:?}");
    assert_eq!(entry(&list, "4")["ok"], true, "{list:?}");
    // 12 allowed: 1 + 5 (the chain) + 3 + 3 noops; the fourth noop is one too many.
    assert_eq!(entry(&list, "7")["ok"], true, "{list:?}");
    assert!(err("8").contains("too many actions"), "{list:?}");
    let foreign: i64 = sqlx::query("SELECT COUNT(*) AS n FROM outbound_messages WHERE session_id = 'foreign1'")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap()
        .get("n");
    assert_eq!(foreign, 0, "{kind:?}: an action sent from another tenant's session");

    // A slow run does not hold up deliveries: the next event is delivered and its actions
    // run while the first run still waits.
    sandbox.contact_send(CONTACT, PHONE, "slow").await.unwrap();
    sandbox.contact_send(CONTACT, PHONE, "ping again").await.unwrap();
    sandbox.wait_inbox(CONTACT, WAIT, |e| e.text.as_deref() == Some("pong again")).await.unwrap();
    let texts: Vec<String> = sandbox.inbox(CONTACT).unwrap().into_iter().filter_map(|e| e.text).collect();
    assert!(!texts.iter().any(|t| t == "slow-done"), "{texts:?}");

    // Malformed JSON: recorded, nothing run, delivery still counted as delivered.
    sandbox.contact_send(CONTACT, PHONE, "malformed").await.unwrap();
    let list = wait_results(&app, &key, "act1", |l| {
        l.iter().any(|e| e["error"].as_str().is_some_and(|s| s.contains("not valid JSON")))
    })
    .await;
    assert_eq!(list.len(), 1, "{list:?}");
    drop(responder);
    app.stop().await;
}
