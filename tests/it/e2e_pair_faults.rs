//! Pairing by code and injected faults, end to end: the gateway's real whatsapp-rust
//! client against the sandbox, driven through the HTTP API (`/api/v1/session/*` and the
//! sandbox-only `/api/v1/sandbox/*`). Pairing by code also runs on Postgres.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::{Kind, TestApp, envelope_code, eventually, kinds};
use serde_json::{Value, json};
use tokio::sync::broadcast;
use warest::sandbox_api::SandboxHost;
use warest::sessions::events::SessionEvent;
use warest_sandbox::{CLIENT_VERSION, Sandbox};

/// Generous: pairing takes a few seconds on the sandbox (the code's PBKDF2 runs four
/// times in a debug build), but CI machines get loaded.
const WAIT: Duration = Duration::from_secs(90);

async fn gateway(kind: Kind) -> (TestApp, Arc<SandboxHost>) {
    let net = Sandbox::start().await.unwrap();
    let url = net.ws_url();
    let host = SandboxHost::new(net);
    let h = host.clone();
    let app = TestApp::spawn_full(
        kind,
        &[],
        move |c| {
            c.wa_url = Some(url);
            c.wa_version = Some(CLIENT_VERSION);
        },
        move |s| s.sandbox = Some(h),
    )
    .await;
    (app, host)
}

/// Waits for a `session_status` event of `session` with one of `tags`; returns its tag.
async fn wait_tag(rx: &mut broadcast::Receiver<SessionEvent>, session: &str, tags: &[&str]) -> String {
    tokio::time::timeout(WAIT, async {
        loop {
            match rx.recv().await {
                Ok(ev) if ev.session_id == session && ev.tag().is_some_and(|t| tags.contains(&t)) => {
                    return ev.tag().unwrap_or_default().to_string();
                }
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(e) => panic!("event bus closed: {e}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {tags:?} event for {session} within {WAIT:?}"))
}

async fn session(app: &TestApp, key: &str, id: &str) -> Value {
    let (status, body) = app.get(&format!("/api/v1/session/{id}"), Some(key)).await;
    assert_eq!(status, 200, "{body}");
    body["results"][0].clone()
}

/// Asks for a pairing code over HTTP, polling while the gateway reports it pending.
async fn request_code(app: &TestApp, key: &str, id: &str, phone: &str) -> String {
    let url = format!("/api/v1/session/create/pair-code?sessionId={id}&phone={phone}");
    eventually(format!("a pairing code for {id}"), Duration::from_secs(30), async || {
        let (status, body) = app.get(&url, Some(key)).await;
        match (status, envelope_code(&body)) {
            (200, 1000) => Ok(body["results"][0]["pairCode"].as_str().expect("a code").to_string()),
            (202, 1110) => Err(body),
            other => panic!("unexpected pair-code answer {other:?}: {body}"),
        }
    })
    .await
}

#[tokio::test]
async fn a_session_links_by_pair_code_over_http() {
    for kind in kinds() {
        let (app, host) = gateway(kind).await;
        let (_, key) = app.create_user("ops").await;

        // The code the API hands out is the one the phone must type.
        let phone = "6287000000001";
        let mut events = app.state.events.subscribe();
        let code = request_code(&app, &key, "bycode", phone).await;
        assert_eq!(code.len(), 8, "{code}");
        let wrong = if code == "ZZZZZZZZ" { "YYYYYYYY" } else { "ZZZZZZZZ" };
        assert!(host.sandbox.link_with_code(phone, wrong).await.is_err(), "a wrong code links nothing");
        host.sandbox.link_with_code(phone, &code).await.expect("the virtual phone enters the code");
        assert_eq!(wait_tag(&mut events, "bycode", &["open", "failed"]).await, "open", "{kind:?}");
        let s = session(&app, &key, "bycode").await;
        assert_eq!(s["status"], "WORKING", "{kind:?}: {s}");
        assert_eq!(s["me"]["id"], format!("{phone}@s.whatsapp.net"));
        assert!(s["me"]["lid"].as_str().unwrap().ends_with("@lid"));
        assert_eq!(host.sandbox.devices(phone).len(), 1);

        // The sandbox route does both steps for a session that showed a QR.
        let (status, body) = app.get("/api/v1/session/create?sessionId=viaroute", Some(&key)).await;
        assert_eq!((status, envelope_code(&body)), (200, 1107), "{body}");
        let (status, body) = app
            .post(
                "/api/v1/sandbox/sessions/viaroute/link",
                Some(&key),
                json!({ "phone": "6287000000002", "method": "code" }),
            )
            .await;
        assert_eq!(status, 200, "{kind:?}: {body}");
        assert_eq!(body["results"][0]["status"], "WORKING");
        assert_eq!(body["results"][0]["me"]["id"], "6287000000002@s.whatsapp.net");
        let (status, body) = app
            .post(
                "/api/v1/sandbox/sessions/viaroute/link",
                Some(&key),
                json!({ "phone": "6287000000002", "method": "sms" }),
            )
            .await;
        assert_eq!((status, body["results"][0]["field"].as_str()), (400, Some("method")));
        app.stop().await;
    }
}

/// Links a session by QR through the sandbox route.
async fn linked(app: &TestApp, key: &str, id: &str, phone: &str) {
    let (status, body) = app.get(&format!("/api/v1/session/create?sessionId={id}"), Some(key)).await;
    assert_eq!((status, envelope_code(&body)), (200, 1107), "{body}");
    let (status, body) =
        app.post(&format!("/api/v1/sandbox/sessions/{id}/link"), Some(key), json!({ "phone": phone })).await;
    assert_eq!(status, 200, "{body}");
}

async fn fault(app: &TestApp, key: &str, id: &str, body: Value) -> (u16, Value) {
    app.post(&format!("/api/v1/sandbox/faults/{id}"), Some(key), body).await
}

#[tokio::test]
async fn faults_over_http_reconnect_or_fail_the_session_with_the_reason() {
    let (app, host) = gateway(Kind::Sqlite).await;
    let (_, key) = app.create_user("ops").await;
    let (_, other) = app.create_user("other").await;
    linked(&app, &key, "flaky", "6287100000001").await;

    // Bad requests name the field; unknown and foreign sessions are 404.
    let (status, body) = fault(&app, &key, "flaky", json!({ "kind": "meteor" })).await;
    assert_eq!((status, body["results"][0]["field"].as_str()), (400, Some("kind")), "{body}");
    let (status, body) = fault(&app, &key, "flaky", json!({ "kind": "refuse_logins" })).await;
    assert_eq!((status, body["results"][0]["field"].as_str()), (400, Some("seconds")), "{body}");
    let (status, body) = fault(&app, &key, "flaky", json!({ "kind": "delay_acks", "ms": 0 })).await;
    assert_eq!((status, body["results"][0]["field"].as_str()), (400, Some("ms")), "{body}");
    assert_eq!(fault(&app, &key, "nosuch", json!({ "kind": "drop" })).await.0, 404);
    assert_eq!(fault(&app, &other, "flaky", json!({ "kind": "drop" })).await.0, 404, "another tenant");

    // A dropped connection: reconnecting, then open and WORKING again.
    let mut events = app.state.events.subscribe();
    let (status, body) = fault(&app, &key, "flaky", json!({ "kind": "drop" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"][0]["wasConnected"], true);
    assert_eq!(wait_tag(&mut events, "flaky", &["reconnecting"]).await, "reconnecting");
    assert_eq!(wait_tag(&mut events, "flaky", &["open", "failed"]).await, "open");
    assert_eq!(session(&app, &key, "flaky").await["status"], "WORKING");

    // Refused logins for a while: reconnecting, then open once they end.
    let mut events = app.state.events.subscribe();
    let (status, body) = fault(&app, &key, "flaky", json!({ "kind": "refuse_logins", "seconds": 2 })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(wait_tag(&mut events, "flaky", &["reconnecting"]).await, "reconnecting");
    assert_eq!(wait_tag(&mut events, "flaky", &["open", "failed"]).await, "open");

    // Terminal faults: FAILED, with the reason in lastError.
    for (i, (kind, reason)) in
        [("temp_ban", "temporarily banned"), ("client_outdated", "outdated"), ("conflict", "another client connected")]
            .into_iter()
            .enumerate()
    {
        let id = format!("term{i}");
        linked(&app, &key, &id, &format!("628720000000{i}")).await;
        let mut events = app.state.events.subscribe();
        let (status, body) = fault(&app, &key, &id, json!({ "kind": kind })).await;
        assert_eq!(status, 200, "{kind}: {body}");
        assert_eq!(wait_tag(&mut events, &id, &["failed"]).await, "failed", "{kind}");
        let s = session(&app, &key, &id).await;
        assert_eq!(s["status"], "FAILED", "{kind}: {s}");
        assert!(s["lastError"].as_str().unwrap_or_default().contains(reason), "{kind}: {s}");
    }

    // Logged out by the phone: FAILED and the device store wiped.
    linked(&app, &key, "gone", "6287300000001").await;
    assert!(app.state.db.count_session_device_rows("gone").await.unwrap() > 0);
    let mut events = app.state.events.subscribe();
    let (status, body) = fault(&app, &key, "gone", json!({ "kind": "logout" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(wait_tag(&mut events, "gone", &["logged_out"]).await, "logged_out");
    let s = session(&app, &key, "gone").await;
    assert_eq!(s["status"], "FAILED", "{s}");
    assert!(s["lastError"].as_str().unwrap().contains("logged out"), "{s}");
    assert_eq!(app.state.db.count_session_device_rows("gone").await.unwrap(), 0, "credentials wiped");
    assert!(host.sandbox.devices("6287300000001").is_empty());
    // Nothing left to hit.
    assert_eq!(fault(&app, &key, "gone", json!({ "kind": "drop" })).await.0, 409);
    app.stop().await;
}
