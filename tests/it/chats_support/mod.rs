//! Shared setup of the chat tests: a gateway pointed at a sandbox, a session linked to a
//! virtual phone, and bounded polling of the API until the message store has caught up.

#![allow(dead_code)]

use std::time::Duration;

use serde_json::Value;
use warest_sandbox::Sandbox;

use crate::common::{Kind, TestApp, envelope_code, eventually};

pub const TIMEOUT: Duration = Duration::from_secs(60);

pub async fn gateway(kind: Kind, sandbox: &Sandbox) -> TestApp {
    crate::common::wa::sandbox_gateway(kind, sandbox, &[]).await
}

/// Creates session `session` and links it to `phone` from its QR; waits until it is open.
pub async fn link(app: &TestApp, sandbox: &Sandbox, key: &str, session: &str, phone: &str) {
    crate::common::wa::link_session(app, sandbox, key, session, phone).await
}

/// GETs `path` until `done` holds for the answer (the store is written by a background
/// task); panics with the last answer after `TIMEOUT`.
pub async fn get_until(app: &TestApp, key: &str, path: &str, mut done: impl FnMut(&Value) -> bool) -> Value {
    eventually(format!("{path} to reach the expected state"), TIMEOUT, async || {
        let (status, body) = app.get(path, Some(key)).await;
        if status == 200 && done(&body) { Ok(body) } else { Err(format!("{status} {body}")) }
    })
    .await
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
