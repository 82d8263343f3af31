//! A gateway whose sessions connect to an in-process sandbox, and linking a session to a
//! virtual phone: the set-up every WhatsApp-facing end-to-end test starts with.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;
use warest::sessions::events::SessionEvent;
use warest_sandbox::{CLIENT_VERSION, Sandbox};

use super::{Kind, TestApp, envelope_code};

/// How long a session may take to open after its QR is scanned.
pub const LINK_TIMEOUT: Duration = Duration::from_secs(60);

/// A gateway on `kind` whose sessions dial `sandbox` (WebSocket and media HTTP), with `env`.
pub async fn sandbox_gateway(kind: Kind, sandbox: &Sandbox, env: &[(&str, &str)]) -> TestApp {
    let url = sandbox.ws_url();
    let http = Arc::new(sandbox.http_client());
    TestApp::spawn_full(
        kind,
        env,
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

/// Creates session `session` through the API, scans its QR as `phone` and waits until the
/// session is open.
pub async fn link_session(app: &TestApp, sandbox: &Sandbox, key: &str, session: &str, phone: &str) {
    // Subscribed before the create, so the `open` cannot slip past.
    let mut events: broadcast::Receiver<SessionEvent> = app.state.events.subscribe();
    let (status, body) = app.get(&format!("/api/v1/session/create?sessionId={session}"), Some(key)).await;
    assert_eq!((status, envelope_code(&body)), (200, 1107), "{body}");
    sandbox.link(body["results"][0]["qrString"].as_str().unwrap(), phone).unwrap();
    wait_open(&mut events, session).await;
}

/// Waits (bounded) for `session`'s `open` event; subscribe before the create, so it cannot
/// slip past.
pub async fn wait_open(events: &mut broadcast::Receiver<SessionEvent>, session: &str) {
    tokio::time::timeout(LINK_TIMEOUT, async {
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
