//! Shared set-up of the group end-to-end tests: a gateway linked to the sandbox, one or
//! more linked sessions, and small request helpers.

#![allow(dead_code)]

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use warest_sandbox::Sandbox;

use crate::common::{Kind, TestApp, call, envelope_code};

pub const TIMEOUT: Duration = Duration::from_secs(60);

/// A gateway whose sessions connect to `sandbox`.
pub async fn gateway(sandbox: &Sandbox, kind: Kind) -> TestApp {
    crate::common::wa::sandbox_gateway(kind, sandbox, &[]).await
}

/// Creates session `session` and links it to `phone`; waits until it is open.
pub async fn link(app: &TestApp, sandbox: &Sandbox, key: &str, session: &str, phone: &str) {
    crate::common::wa::link_session(app, sandbox, key, session, phone).await
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
