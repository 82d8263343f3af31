//! Shared setup of the chat tests: a gateway pointed at a sandbox, a session linked to a
//! virtual phone, and bounded polling of the API until the message store has caught up.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::broadcast;
use warest::sessions::events::SessionEvent;
use warest_sandbox::{CLIENT_VERSION, Sandbox};

use crate::common::{Kind, TestApp, envelope_code};

pub const TIMEOUT: Duration = Duration::from_secs(60);

pub async fn gateway(kind: Kind, sandbox: &Sandbox) -> TestApp {
    let url = sandbox.ws_url();
    let http = Arc::new(sandbox.http_client());
    TestApp::spawn_full(
        kind,
        &[],
        move |c| {
            c.wa_url = Some(url);
            c.wa_version = Some(CLIENT_VERSION);
        },
        move |state| {
            let mut wa = state.sessions.deps().wa.clone();
            wa.http = Some(http);
            state.sessions.set_wa_options(wa);
        },
    )
    .await
}

/// Creates session `session` and links it to `phone` from its QR; waits until it is open.
pub async fn link(app: &TestApp, sandbox: &Sandbox, key: &str, session: &str, phone: &str) {
    let mut events: broadcast::Receiver<SessionEvent> = app.state.events.subscribe();
    let (status, body) = app.get(&format!("/api/v1/session/create?sessionId={session}"), Some(key)).await;
    assert_eq!((status, envelope_code(&body)), (200, 1107), "{body}");
    sandbox.link(body["results"][0]["qrString"].as_str().unwrap(), phone).unwrap();
    tokio::time::timeout(TIMEOUT, async {
        loop {
            match events.recv().await {
                Ok(ev) if ev.session_id == session && ev.tag() == Some("open") => return,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(e) => panic!("event bus closed: {e}"),
            }
        }
    })
    .await
    .expect("session open");
}

/// GETs `path` until `done` holds for the answer (the store is written by a background
/// task); panics with the last answer after `TIMEOUT`.
pub async fn get_until(app: &TestApp, key: &str, path: &str, mut done: impl FnMut(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let (status, body) = app.get(path, Some(key)).await;
        if status == 200 && done(&body) {
            return body;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("{path} never reached the expected state: {status} {body}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `results[0]` of an envelope.
pub fn result(body: &Value) -> &Value {
    &body["results"][0]
}

/// The field a 400 names.
pub fn bad_field(status: u16, body: &Value) -> String {
    assert_eq!((status, envelope_code(body)), (400, 2001), "{body}");
    body["results"][0]["field"].as_str().unwrap_or_default().to_string()
}
