//! Sessions end to end: the gateway's real whatsapp-rust client against the sandbox, driven
//! through the HTTP API. On SQLite and on Postgres.

use crate::common;

use std::time::Duration;

use common::{Kind, TestApp, envelope_code, kinds};
use serde_json::Value;
use tokio::sync::broadcast;
use warest::sessions::events::SessionEvent;
use warest_sandbox::{CLIENT_VERSION, Sandbox};

/// Generous: pairing takes well under a second on the sandbox, but CI machines get loaded.
const LINK_TIMEOUT: Duration = Duration::from_secs(60);

async fn gateway(kind: Kind, sandbox: &Sandbox) -> TestApp {
    let url = sandbox.ws_url();
    TestApp::spawn_configured(kind, &[], move |c| {
        c.wa_url = Some(url);
        c.wa_version = Some(CLIENT_VERSION);
    })
    .await
}

/// Waits for a `session_status` event of `session` with one of `tags`; returns its tag.
async fn wait_tag(rx: &mut broadcast::Receiver<SessionEvent>, session: &str, tags: &[&str]) -> String {
    tokio::time::timeout(LINK_TIMEOUT, async {
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
    .unwrap_or_else(|_| panic!("no {tags:?} event for {session} within {LINK_TIMEOUT:?}"))
}

/// Creates a session over HTTP and links it with the sandbox phone `phone` from its QR.
async fn create_and_link(app: &TestApp, sandbox: &Sandbox, key: &str, id: &str, phone: &str) {
    let mut events = app.state.events.subscribe();
    let (status, body) = app.get(&format!("/api/v1/session/create?sessionId={id}"), Some(key)).await;
    assert_eq!((status, envelope_code(&body)), (200, 1107), "{body}");
    let r = &body["results"][0];
    assert_eq!(r["status"], "SCAN_QR_CODE");
    assert!(r["qr"].as_str().unwrap().starts_with("data:image/png;base64,"));
    assert!(r["qrDuration"].as_u64().unwrap() > 0);
    let qr = r["qrString"].as_str().unwrap();
    sandbox.link(qr, phone).expect("the virtual phone scans the QR");
    assert_eq!(wait_tag(&mut events, id, &["open", "failed"]).await, "open");
}

async fn session(app: &TestApp, key: &str, id: &str) -> Value {
    let (status, body) = app.get(&format!("/api/v1/session/{id}"), Some(key)).await;
    assert_eq!(status, 200, "{body}");
    body["results"][0].clone()
}

#[tokio::test]
async fn a_session_links_by_qr_survives_a_restart_and_logs_out() {
    for kind in kinds() {
        let sandbox = Sandbox::start().await.unwrap();
        let app = gateway(kind, &sandbox).await;
        let (_, key) = app.create_user("ops").await;
        let (_, other) = app.create_user("other").await;
        let phone = "6281111111111";
        create_and_link(&app, &sandbox, &key, "main", phone).await;

        let s = session(&app, &key, "main").await;
        assert_eq!(s["status"], "WORKING", "{kind:?}: {s}");
        assert_eq!(s["me"]["id"], format!("{phone}@s.whatsapp.net"));
        assert!(s["me"]["lid"].as_str().unwrap().ends_with("@lid"));
        let (status, body) = app.get("/api/v1/session/create?sessionId=main", Some(&key)).await;
        assert_eq!((status, envelope_code(&body)), (200, 1104), "already open");
        let (_, body) = app.get("/api/v1/session/devices?sessionId=main", Some(&key)).await;
        assert_eq!(body["results"][0]["phone"], phone);
        assert_eq!(app.get("/api/v1/session/main", Some(&other)).await.0, 404, "another tenant");

        // A process restart brings it back from the stored credentials: no new QR.
        let app = app.restart().await;
        let mut events = app.state.events.subscribe();
        let snap = app.state.sessions.snapshot(&app.state.db.session("main").await.unwrap());
        if snap.status.as_str() != "WORKING" {
            assert_eq!(wait_tag(&mut events, "main", &["open", "qr", "failed"]).await, "open", "{kind:?}");
        }
        assert_eq!(session(&app, &key, "main").await["status"], "WORKING");
        assert_eq!(app.get("/api/v1/session/main/qr", Some(&key)).await.0, 404);

        // Logout unlinks the device from the phone and wipes every device-store row.
        assert!(app.state.db.count_session_device_rows("main").await.unwrap() > 0);
        let (status, body) = app.get("/api/v1/session/logout?sessionId=main", Some(&key)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(app.state.db.count_session_device_rows("main").await.unwrap(), 0);
        assert!(sandbox.devices(phone).is_empty(), "the phone no longer lists the companion");
        let s = session(&app, &key, "main").await;
        assert_eq!((s["status"].as_str(), s["me"].is_null()), (Some("STOPPED"), true));

        // Delete removes it for good.
        assert_eq!(app.delete("/api/v1/session/delete?sessionId=main", Some(&key)).await.0, 200);
        assert_eq!(app.get("/api/v1/session/main", Some(&key)).await.0, 404);
        app.stop().await;
    }
}

#[tokio::test]
async fn a_dropped_connection_reconnects_and_the_session_is_working_again() {
    let sandbox = Sandbox::start().await.unwrap();
    let app = gateway(Kind::Sqlite, &sandbox).await;
    let (_, key) = app.create_user("ops").await;
    let phone = "6282222222222";
    create_and_link(&app, &sandbox, &key, "flaky", phone).await;

    let mut events = app.state.events.subscribe();
    let device = *sandbox.devices(phone).first().expect("a linked device");
    assert!(sandbox.kick(phone, device), "the session was connected");
    assert_eq!(wait_tag(&mut events, "flaky", &["reconnecting"]).await, "reconnecting");
    assert_eq!(wait_tag(&mut events, "flaky", &["open", "failed"]).await, "open");
    assert_eq!(session(&app, &key, "flaky").await["status"], "WORKING");
    app.stop().await;
}

#[tokio::test]
async fn restarting_in_a_tight_loop_never_runs_two_clients_and_ends_working() {
    let sandbox = Sandbox::start().await.unwrap();
    let app = gateway(Kind::Sqlite, &sandbox).await;
    let (_, key) = app.create_user("ops").await;
    let phone = "6283333333333";
    create_and_link(&app, &sandbox, &key, "loop", phone).await;

    // Fire restarts without waiting for each other; the actor serializes them, and each
    // new client starts only after the previous one has fully stopped.
    let restarts = (0..8).map(|_| app.post("/api/v1/session/loop/restart", Some(&key), Value::Null));
    for (status, body) in futures_util::future::join_all(restarts).await {
        assert_eq!(status, 200, "{body}");
    }
    let mut events = app.state.events.subscribe();
    if session(&app, &key, "loop").await["status"] != "WORKING" {
        assert_eq!(wait_tag(&mut events, "loop", &["open", "failed"]).await, "open");
    }
    // Still one linked device, and its keys still work: a final restart reconnects.
    assert_eq!(sandbox.devices(phone).len(), 1);
    let mut events = app.state.events.subscribe();
    assert_eq!(app.post("/api/v1/session/loop/restart", Some(&key), Value::Null).await.0, 200);
    if session(&app, &key, "loop").await["status"] != "WORKING" {
        assert_eq!(wait_tag(&mut events, "loop", &["open", "failed"]).await, "open");
    }
    app.stop().await;
}

#[tokio::test]
async fn stop_and_start_reconnect_without_a_new_qr() {
    let sandbox = Sandbox::start().await.unwrap();
    let app = gateway(Kind::Sqlite, &sandbox).await;
    let (_, key) = app.create_user("ops").await;
    create_and_link(&app, &sandbox, &key, "pause", "6284444444444").await;

    let (status, body) = app.post("/api/v1/session/pause/stop", Some(&key), Value::Null).await;
    assert_eq!((status, body["results"][0]["status"].as_str()), (200, Some("STOPPED")));
    let (status, _) = app.post("/api/v1/session/pause/stop", Some(&key), Value::Null).await;
    assert_eq!(status, 200, "stop is idempotent");
    let mut events = app.state.events.subscribe();
    assert_eq!(app.post("/api/v1/session/pause/start", Some(&key), Value::Null).await.0, 200);
    assert_eq!(wait_tag(&mut events, "pause", &["open", "qr", "failed"]).await, "open");
    let (_, me) = app.get("/api/v1/session/pause/me", Some(&key)).await;
    assert_eq!(me["results"][0]["id"], "6284444444444@s.whatsapp.net");
    app.stop().await;
}

#[tokio::test]
async fn a_session_that_cannot_reconnect_goes_failed_and_says_why() {
    let sandbox = Sandbox::start().await.unwrap();
    let url = sandbox.ws_url();
    let app = TestApp::spawn_configured(Kind::Sqlite, &[("WAREST_SESSION_RECONNECT_TIMEOUT_SEC", "10")], move |c| {
        c.wa_url = Some(url);
        c.wa_version = Some(CLIENT_VERSION);
    })
    .await;
    let (_, key) = app.create_user("ops").await;
    create_and_link(&app, &sandbox, &key, "lost", "6285555555555").await;

    // The network disappears for good.
    let mut events = app.state.events.subscribe();
    drop(sandbox);
    assert_eq!(wait_tag(&mut events, "lost", &["reconnecting"]).await, "reconnecting");
    assert_eq!(wait_tag(&mut events, "lost", &["failed", "open"]).await, "failed");
    let s = session(&app, &key, "lost").await;
    assert_eq!(s["status"], "FAILED");
    assert!(s["lastError"].as_str().unwrap().contains("could not reconnect"), "{s}");
    app.stop().await;
}

#[tokio::test]
async fn removal_from_the_phone_fails_the_session_and_wipes_its_keys() {
    let sandbox = Sandbox::start().await.unwrap();
    let app = gateway(Kind::Sqlite, &sandbox).await;
    let (_, key) = app.create_user("ops").await;
    let phone = "6286666666666";
    create_and_link(&app, &sandbox, &key, "removed", phone).await;
    assert!(app.state.db.count_session_device_rows("removed").await.unwrap() > 0);

    let mut events = app.state.events.subscribe();
    let device = *sandbox.devices(phone).first().expect("a linked device");
    sandbox.unlink(phone, device);
    assert_eq!(wait_tag(&mut events, "removed", &["logged_out"]).await, "logged_out");
    let s = session(&app, &key, "removed").await;
    assert_eq!(s["status"], "FAILED", "{s}");
    assert!(s["lastError"].as_str().unwrap().contains("logged out from the phone"), "{s}");
    assert!(s["me"].is_null());
    assert_eq!(app.state.db.count_session_device_rows("removed").await.unwrap(), 0, "credentials wiped");

    // It is not restored at the next start (nothing to restore it with).
    let app = app.restart().await;
    assert_eq!(session(&app, &key, "removed").await["status"], "FAILED");
    app.stop().await;
}
