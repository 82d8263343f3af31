//! Sending end to end: the HTTP send API → the durable queue → the session's real
//! whatsapp-rust client → the sandbox → a virtual contact that decrypts the message.
//! On SQLite and on Postgres.

use crate::common;

use std::time::Duration;

use common::{Kind, TestApp, envelope_code, eventually, kinds};
use serde_json::{Value, json};
use tokio::sync::broadcast;
use warest::sessions::events::SessionEvent;
use warest_sandbox::{Behaviour, CLIENT_VERSION, Sandbox};

const TIMEOUT: Duration = Duration::from_secs(60);
const CONTACT: &str = "15550001001";

pub async fn gateway(kind: Kind, sandbox: &Sandbox, env: &[(&str, &str)]) -> TestApp {
    let url = sandbox.ws_url();
    TestApp::spawn_configured(kind, env, move |c| {
        c.wa_url = Some(url);
        c.wa_version = Some(CLIENT_VERSION);
    })
    .await
}

async fn wait_open(rx: &mut broadcast::Receiver<SessionEvent>, session: &str) {
    tokio::time::timeout(TIMEOUT, async {
        loop {
            match rx.recv().await {
                Ok(ev) if ev.session_id == session && ev.tag() == Some("open") => return,
                Ok(ev) if ev.session_id == session && ev.tag() == Some("failed") => {
                    panic!("session failed: {:?}", ev.data)
                }
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(e) => panic!("event bus closed: {e}"),
            }
        }
    })
    .await
    .expect("the session opened");
}

/// Creates session `id` and links it with the sandbox phone `phone`.
pub async fn linked_session(app: &TestApp, sandbox: &Sandbox, key: &str, id: &str, phone: &str) {
    let mut events = app.state.events.subscribe();
    let (status, body) = app.get(&format!("/api/v1/session/create?sessionId={id}"), Some(key)).await;
    assert_eq!((status, envelope_code(&body)), (200, 1107), "{body}");
    sandbox.link(body["results"][0]["qrString"].as_str().unwrap(), phone).expect("link");
    wait_open(&mut events, id).await;
}

/// Polls the message's status until `pred` holds (bounded).
pub async fn wait_status(app: &TestApp, key: &str, id: &str, pred: impl Fn(&str) -> bool) -> Value {
    eventually(format!("message {id} to reach the status"), TIMEOUT, async || {
        let (status, body) = app.get(&format!("/api/v1/messages/{id}"), Some(key)).await;
        assert_eq!(status, 200, "{body}");
        let r = body["results"][0].clone();
        if pred(r["status"].as_str().unwrap_or_default()) { Ok(r) } else { Err(r) }
    })
    .await
}

#[tokio::test]
async fn text_reaches_the_contact_and_its_status_is_tracked() {
    for kind in kinds() {
        let sandbox = Sandbox::start().await.unwrap();
        sandbox.create_contact(CONTACT, Behaviour::Silent).await.unwrap();
        let app = gateway(kind, &sandbox, &[]).await;
        let (_, key) = app.create_user("ops").await;
        let (_, other) = app.create_user("other").await;
        linked_session(&app, &sandbox, &key, "main", "15550002001").await;

        let (status, body) = app
            .post(
                "/api/v1/messages/send/text",
                Some(&key),
                json!({ "sessionId": "main", "to": format!("+{CONTACT}"), "message": "hello from the queue" }),
            )
            .await;
        assert_eq!((status, envelope_code(&body)), (200, 1000), "{kind:?}: {body}");
        let r = &body["results"][0];
        assert_eq!(
            (r["toJid"].as_str(), r["status"].as_str()),
            (Some("15550001001@s.whatsapp.net"), Some("text success"))
        );
        assert_eq!(r["phone"], "15550002001");
        let id = r["messageId"].as_str().unwrap().to_string();

        let got =
            sandbox.wait_inbox(CONTACT, TIMEOUT, |e| e.text.as_deref() == Some("hello from the queue")).await.unwrap();
        assert_eq!(got.id, id, "the contact sees the id the API answered with");
        assert_eq!(got.from, "15550002001");
        // The contact's client acknowledges delivery; then it reads the message.
        let mut events = app.state.events.subscribe();
        let rec = wait_status(&app, &key, &id, |s| s == "delivered").await;
        assert_eq!(rec["type"], "text");
        assert!(rec["sentAt"].is_i64() && rec["deliveredAt"].is_i64(), "{rec}");
        sandbox.contact_read(CONTACT, "15550002001", &[&id]).await.unwrap();
        let rec = wait_status(&app, &key, &id, |s| s == "read").await;
        assert!(rec["readAt"].is_i64(), "{rec}");
        let ack = tokio::time::timeout(TIMEOUT, async {
            loop {
                if let Ok(ev) = events.recv().await
                    && ev.event == "message_ack"
                    && ev.data["messageId"] == id.as_str()
                    && ev.data["ack"] == "read"
                {
                    return ev;
                }
            }
        })
        .await
        .expect("a message_ack event for the read receipt");
        assert_eq!(ack.session_id, "main");

        // Another tenant cannot see it; an unknown id is 404 with the message code.
        let (status, body) = app.get(&format!("/api/v1/messages/{id}"), Some(&other)).await;
        assert_eq!((status, envelope_code(&body)), (404, 3003));

        // Several recipients in one call, FIFO per session: the texts arrive in order.
        let (status, body) = app
            .post(
                "/api/v1/messages/send/text",
                Some(&key),
                json!({ "sessionId": "main", "to": [CONTACT], "message": "one" }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        for text in ["two", "three"] {
            let (status, _) = app
                .post(
                    "/api/v1/messages/send/text",
                    Some(&key),
                    json!({ "sessionId": "main", "to": CONTACT, "message": text }),
                )
                .await;
            assert_eq!(status, 200);
        }
        sandbox.wait_inbox(CONTACT, TIMEOUT, |e| e.text.as_deref() == Some("three")).await.unwrap();
        let texts: Vec<String> = sandbox.inbox(CONTACT).unwrap().into_iter().filter_map(|e| e.text).collect();
        assert_eq!(texts, ["hello from the queue", "one", "two", "three"]);
        app.stop().await;
    }
}

async fn send_text(app: &TestApp, key: &str, body: Value, idem: Option<&str>) -> (u16, Value) {
    let mut req = app.req(reqwest::Method::POST, "/api/v1/messages/send/text", Some(key)).json(&body);
    if let Some(k) = idem {
        req = req.header("Idempotency-Key", k);
    }
    common::call(req).await
}

#[tokio::test]
async fn an_idempotency_key_returns_the_first_answer_and_sends_once() {
    for kind in kinds() {
        let sandbox = Sandbox::start().await.unwrap();
        sandbox.create_contact(CONTACT, Behaviour::Silent).await.unwrap();
        let app = gateway(kind, &sandbox, &[]).await;
        let (_, key) = app.create_user("ops").await;
        linked_session(&app, &sandbox, &key, "main", "15550002002").await;
        let body = json!({ "sessionId": "main", "to": CONTACT, "message": "exactly once" });

        // Two concurrent calls with one key (the first still in flight), then a late retry.
        let (a, b) = tokio::join!(
            send_text(&app, &key, body.clone(), Some("k-1")),
            send_text(&app, &key, body.clone(), Some("k-1"))
        );
        assert_eq!((a.0, b.0), (200, 200), "{a:?} {b:?}");
        let id = a.1["results"][0]["messageId"].as_str().unwrap().to_string();
        assert_eq!(b.1["results"][0]["messageId"], id.as_str(), "{kind:?}: same answer");
        let replays = [&a.1, &b.1].iter().filter(|r| r["results"][0]["replayed"] == true).count();
        assert_eq!(replays, 1, "exactly one of them was the first");
        let (status, late) = send_text(
            &app,
            &key,
            json!({ "sessionId": "main", "to": CONTACT, "message": "exactly once", "idempotencyKey": "k-1" }),
            None,
        )
        .await;
        assert_eq!(
            (status, late["results"][0]["messageId"].as_str()),
            (200, Some(id.as_str())),
            "the body field works too"
        );

        // The same key for another request is refused, not silently answered.
        let (status, body2) =
            send_text(&app, &key, json!({ "sessionId": "main", "to": CONTACT, "message": "other" }), Some("k-1")).await;
        assert_eq!((status, envelope_code(&body2)), (409, 3001), "{body2}");

        // A marker sent after: once it arrived, the keyed text can no longer be in flight.
        let (status, _) =
            send_text(&app, &key, json!({ "sessionId": "main", "to": CONTACT, "message": "marker" }), None).await;
        assert_eq!(status, 200);
        sandbox.wait_inbox(CONTACT, TIMEOUT, |e| e.text.as_deref() == Some("marker")).await.unwrap();
        let copies =
            sandbox.inbox(CONTACT).unwrap().iter().filter(|e| e.text.as_deref() == Some("exactly once")).count();
        assert_eq!(copies, 1, "{kind:?}");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_full_queue_is_refused_with_429_and_nothing_is_stored() {
    for kind in kinds() {
        let sandbox = Sandbox::start().await.unwrap();
        let app = gateway(kind, &sandbox, &[("WAREST_QUEUE_MAX_SIZE", "3")]).await;
        let (_, key) = app.create_user("ops").await;
        linked_session(&app, &sandbox, &key, "main", "15550002003").await;
        // Stopped (credentials kept): sends are accepted and wait for the next start.
        let (status, _) = app.post("/api/v1/session/main/stop", Some(&key), json!({})).await;
        assert_eq!(status, 200);

        let (status, body) =
            send_text(&app, &key, json!({ "sessionId": "main", "to": [CONTACT, "15550001002"], "message": "a" }), None)
                .await;
        assert_eq!(status, 200, "{body}");
        let waiting = body["results"][0]["messageId"].as_str().unwrap().to_string();
        let (status, body) =
            send_text(&app, &key, json!({ "sessionId": "main", "to": [CONTACT, "15550001002"], "message": "b" }), None)
                .await;
        assert_eq!((status, envelope_code(&body)), (429, 3000), "{kind:?}: {body}");
        assert!(body["message"].as_str().unwrap().contains("full"));
        let (status, body) =
            send_text(&app, &key, json!({ "sessionId": "main", "to": CONTACT, "message": "c" }), None).await;
        assert_eq!(status, 200, "one more still fits: {body}");
        let (status, body) =
            send_text(&app, &key, json!({ "sessionId": "main", "to": CONTACT, "message": "d" }), None).await;
        assert_eq!(status, 429, "{body}");
        let rec = wait_status(&app, &key, &waiting, |s| s == "queued").await;
        assert_eq!(rec["attempts"], 0, "nothing is attempted while the session is stopped");
        app.stop().await;
    }
}

#[tokio::test]
async fn bad_send_requests_are_4xx_naming_the_problem() {
    let sandbox = Sandbox::start().await.unwrap();
    let app = gateway(Kind::Sqlite, &sandbox, &[]).await;
    let (_, key) = app.create_user("ops").await;
    let (_, other) = app.create_user("other").await;
    linked_session(&app, &sandbox, &key, "main", "15550002004").await;
    let (status, _) = app.get("/api/v1/session/create?sessionId=fresh", Some(&key)).await;
    assert_eq!(status, 200);

    let field = |b: &Value| b["results"][0]["field"].as_str().map(str::to_string);
    let cases = [
        (json!({ "sessionId": "nope", "to": CONTACT, "message": "x" }), 404, 1101, None),
        (json!({ "sessionId": "main", "to": "12ab", "message": "x" }), 400, 2001, Some("to")),
        (json!({ "sessionId": "main", "to": [CONTACT, "0"], "message": "x" }), 400, 2001, Some("to[1]")),
        (json!({ "sessionId": "main", "to": "1@newsletter", "message": "x" }), 400, 2001, Some("to")),
        (json!({ "sessionId": "main", "to": CONTACT, "message": "  " }), 400, 2001, Some("message")),
        (json!({ "sessionId": "main", "to": CONTACT }), 400, 2001, Some("message")),
        (json!({ "to": CONTACT, "message": "x" }), 400, 2001, Some("sessionId")),
        (
            json!({ "sessionId": "main", "to": CONTACT, "message": "x", "mentions": ["zz"] }),
            400,
            2001,
            Some("mentions[0]"),
        ),
        (json!({ "sessionId": "main", "to": CONTACT, "message": "x".repeat(65_537) }), 400, 2001, Some("message")),
        (json!({ "sessionId": "fresh", "to": CONTACT, "message": "x" }), 409, 3002, None),
    ];
    for (body, status, code, f) in cases {
        let (got, answer) = send_text(&app, &key, body.clone(), None).await;
        assert_eq!((got, envelope_code(&answer)), (status, code), "{body}: {answer}");
        if let Some(f) = f {
            assert_eq!(field(&answer).as_deref(), Some(f), "{answer}");
        }
    }
    let (status, body) =
        send_text(&app, &key, json!({ "sessionId": "main", "to": CONTACT, "message": "x" }), Some("")).await;
    assert_eq!((status, field(&body).as_deref()), (400, Some("Idempotency-Key")));
    let (status, body) =
        send_text(&app, &other, json!({ "sessionId": "main", "to": CONTACT, "message": "x" }), None).await;
    assert_eq!((status, envelope_code(&body)), (404, 1101), "another tenant's session");
    let (status, body) = app.get("/api/v1/messages/3EB0NOPE", Some(&key)).await;
    assert_eq!((status, envelope_code(&body)), (404, 3003));
    app.stop().await;
}

#[tokio::test]
async fn cooldown_and_quota_refuse_with_the_reason_and_when_to_retry() {
    let sandbox = Sandbox::start().await.unwrap();
    let app = gateway(
        Kind::Sqlite,
        &sandbox,
        &[("QUOTA_MAX", "3"), ("QUOTA_WINDOW_MS", "60000"), ("SPAM_COOLDOWN_MS", "60000")],
    )
    .await;
    let (_, key) = app.create_user("ops").await;
    linked_session(&app, &sandbox, &key, "main", "15550002005").await;
    let post = |body: Value| {
        let req = app.req(reqwest::Method::POST, "/api/v1/messages/send/text", Some(&key)).json(&body);
        async move {
            let res = req.send().await.unwrap();
            let retry =
                res.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
            let (status, body) = common::split(res).await;
            (status, body, retry)
        }
    };
    let (status, _, _) = post(json!({ "sessionId": "main", "to": CONTACT, "message": "same" })).await;
    assert_eq!(status, 200);
    let (status, body, retry) = post(json!({ "sessionId": "main", "to": CONTACT, "message": "same" })).await;
    assert_eq!((status, envelope_code(&body)), (429, 3004), "{body}");
    assert!(body["message"].as_str().unwrap().contains("15550001001@s.whatsapp.net"), "{body}");
    assert!(retry.is_some_and(|s| (1..=60).contains(&s)), "Retry-After {retry:?}");
    // Other content, or the same content to someone else, is not spam.
    let (status, _, _) = post(json!({ "sessionId": "main", "to": CONTACT, "message": "different" })).await;
    assert_eq!(status, 200);
    let (status, _, _) = post(json!({ "sessionId": "main", "to": "15550001002", "message": "same" })).await;
    assert_eq!(status, 200);
    // Three sends used the quota of three.
    let (status, body, retry) = post(json!({ "sessionId": "main", "to": "15550001003", "message": "fourth" })).await;
    assert_eq!((status, envelope_code(&body)), (429, 3005), "{body}");
    assert!(body["message"].as_str().unwrap().contains("quota"), "{body}");
    assert!(retry.is_some_and(|s| (1..=60).contains(&s)), "Retry-After {retry:?}");
    app.stop().await;
}

#[tokio::test]
async fn a_paused_queue_holds_sends_until_resumed_and_clear_drops_them() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.create_contact(CONTACT, Behaviour::Silent).await.unwrap();
    let app = gateway(Kind::Sqlite, &sandbox, &[]).await;
    let (_, key) = app.create_user("ops").await;
    let (_, other) = app.create_user("other").await;
    linked_session(&app, &sandbox, &key, "main", "15550002006").await;

    let (status, body) = app.post("/api/v1/session/main/queue/pause", Some(&key), json!({})).await;
    assert_eq!((status, body["results"][0]["paused"].as_bool()), (200, Some(true)), "{body}");
    let mut ids = Vec::new();
    for text in ["held 1", "held 2"] {
        let (status, body) =
            send_text(&app, &key, json!({ "sessionId": "main", "to": CONTACT, "message": text }), None).await;
        assert_eq!(status, 200);
        ids.push(body["results"][0]["messageId"].as_str().unwrap().to_string());
    }
    let (_, body) = app.get("/api/v1/server/queue", Some(&key)).await;
    let q = &body["results"][0]["items"][0];
    assert_eq!(
        (q["sessionId"].as_str(), q["depth"].as_i64(), q["paused"].as_bool()),
        (Some("main"), Some(2), Some(true)),
        "{body}"
    );
    let (_, body) = app.get("/api/v1/server/queue", Some(&other)).await;
    assert_eq!(body["results"][0]["total"], 0, "another tenant sees nothing: {body}");

    let (status, _) = app.post("/api/v1/session/main/queue/resume", Some(&key), json!({})).await;
    assert_eq!(status, 200);
    sandbox.wait_inbox(CONTACT, TIMEOUT, |e| e.text.as_deref() == Some("held 2")).await.unwrap();
    let first = sandbox.inbox(CONTACT).unwrap();
    assert_eq!(first[0].text.as_deref(), Some("held 1"), "FIFO after resume");

    // Clear drops what waits; the record says why.
    app.post("/api/v1/session/main/queue/pause", Some(&key), json!({})).await;
    let (_, body) =
        send_text(&app, &key, json!({ "sessionId": "main", "to": CONTACT, "message": "dropped" }), None).await;
    let dropped = body["results"][0]["messageId"].as_str().unwrap().to_string();
    let (status, body) = app.post("/api/v1/session/main/queue/clear", Some(&key), json!({})).await;
    assert_eq!((status, body["results"][0]["cleared"].as_u64()), (200, Some(1)), "{body}");
    let rec = wait_status(&app, &key, &dropped, |s| s == "failed").await;
    assert_eq!(rec["error"], "cleared from the queue");
    let (_, body) = app.get("/api/v1/server/queue", Some(&key)).await;
    assert_eq!(body["results"][0]["items"][0]["failures"], 1, "{body}");
    assert_eq!(app.post("/api/v1/session/main/queue/pause", Some(&other), json!({})).await.0, 404);
    app.stop().await;
}
