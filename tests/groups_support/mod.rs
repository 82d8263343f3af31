//! Shared set-up of the group end-to-end tests: a gateway linked to the sandbox, one or
//! more linked sessions, and small request helpers.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::broadcast;
use warest::sessions::events::SessionEvent;
use warest_sandbox::{CLIENT_VERSION, Sandbox};

use crate::common::{Kind, TestApp, call, envelope_code};

pub const TIMEOUT: Duration = Duration::from_secs(60);

/// A gateway whose sessions connect to `sandbox`.
pub async fn gateway(sandbox: &Sandbox, kind: Kind) -> TestApp {
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

/// Creates session `session` and links it to `phone`; waits until it is open.
pub async fn link(app: &TestApp, sandbox: &Sandbox, key: &str, session: &str, phone: &str) {
    let mut events: broadcast::Receiver<SessionEvent> = app.state.events.subscribe();
    let (status, body) = app.get(&format!("/api/v1/session/create?sessionId={session}"), Some(key)).await;
    assert_eq!((status, envelope_code(&body)), (200, 1107), "{body}");
    sandbox.link(body["results"][0]["qrString"].as_str().unwrap(), phone).unwrap();
    tokio::time::timeout(TIMEOUT, async {
        loop {
            if let Ok(ev) = events.recv().await
                && ev.session_id == session
                && ev.tag() == Some("open")
            {
                return;
            }
        }
    })
    .await
    .expect("session open");
}

/// A DELETE with a JSON body (the spec's delete routes take one).
pub async fn delete_json(app: &TestApp, path: &str, key: &str, body: Value) -> (u16, Value) {
    call(app.req(Method::DELETE, path, Some(key)).json(&body)).await
}

/// POST that must answer 200/1000; returns `results[0]`.
pub async fn post_ok(app: &TestApp, path: &str, key: &str, body: Value) -> Value {
    let (status, answer) = app.post(path, Some(key), body).await;
    assert_eq!((status, envelope_code(&answer)), (200, 1000), "{path}: {answer}");
    answer["results"][0].clone()
}

/// GET that must answer 200/1000; returns `results[0]`.
pub async fn get_ok(app: &TestApp, path: &str, key: &str) -> Value {
    let (status, answer) = app.get(path, Some(key)).await;
    assert_eq!((status, envelope_code(&answer)), (200, 1000), "{path}: {answer}");
    answer["results"][0].clone()
}

/// Creates a group through the API; returns its id.
pub async fn create_group(app: &TestApp, key: &str, session: &str, name: &str, members: &[&str]) -> String {
    let r = post_ok(
        app,
        "/api/v1/group/create",
        key,
        json!({ "sessionId": session, "groupName": name, "participants": members }),
    )
    .await;
    let id = r["groupId"].as_str().unwrap().to_string();
    assert!(id.ends_with("@g.us"), "{r}");
    id
}

/// The group's participants as the gateway lists them: phone → (isAdmin, isSuperAdmin).
pub async fn participants(app: &TestApp, key: &str, session: &str, group: &str) -> Vec<(String, bool, bool)> {
    let r = get_ok(app, &format!("/api/v1/group/participants?sessionId={session}&groupId={group}"), key).await;
    let mut out: Vec<(String, bool, bool)> = r["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["phone"].as_str().unwrap().to_string(),
                p["isAdmin"].as_bool().unwrap(),
                p["isSuperAdmin"].as_bool().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

/// The group JID as the sandbox harness takes it.
pub fn jid(group: &str) -> whatsapp_rust::Jid {
    whatsapp_rust::Jid::group(group.trim_end_matches("@g.us"))
}
