//! The counters `metrics_scrape` cannot move on a healthy run, moved through the sandbox's
//! faults: a receiver's actions (one runs, one is invalid), a dropped socket (a reconnect),
//! a send whose server ack never comes (failed, no retries left) and sends cleared from a
//! paused queue (failed records, counted as such), a temporary ban and an outdated client.

use crate::common;
use crate::e2e_send::{gateway, linked_session, wait_status};
use crate::metrics_scrape::{METRICS_TOKEN, Scrape, scrape};
use crate::webhooks_support::Receiver;

use std::time::Duration;

use common::{Kind, TestApp, eventually};
use serde_json::json;
use warest_sandbox::{Behaviour, Fault, Sandbox};

const WAIT: Duration = Duration::from_secs(60);
const PHONE: &str = "15550007101";
const SECOND: &str = "15550007102";
const CONTACT: &str = "15550007103";

/// Waits (bounded) until `name{labels}` has moved by at least `n` since `before`.
async fn moved(app: &TestApp, before: &Scrape, name: &str, labels: &[(&str, &str)], n: f64) -> Scrape {
    eventually(format!("{name}{labels:?} to move by {n}"), WAIT, async || {
        let now = scrape(app).await;
        let d = now.sum(name, labels) - before.sum(name, labels);
        if d >= n { Ok(now) } else { Err(d) }
    })
    .await
}

async fn send(app: &TestApp, key: &str, text: &str) -> String {
    let body = json!({ "sessionId": "main", "to": format!("+{CONTACT}"), "message": text });
    let (status, body) = app.post("/api/v1/messages/send/text", Some(key), body).await;
    assert_eq!(status, 200, "{body}");
    body["results"][0]["messageId"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn reconnects_bans_outdated_clients_failed_sends_and_action_runs_are_counted() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.create_contact(CONTACT, Behaviour::Silent).await.unwrap();
    let rx = Receiver::start().await;
    let env = [
        ("WAREST_METRICS_TOKEN", METRICS_TOKEN),
        ("WAREST_QUEUE_TIMEOUT_MS", "1000"),
        ("WAREST_QUEUE_MAX_RETRIES", "0"),
        ("RATE_LIMIT_MAX", "100000"),
    ];
    let app = gateway(Kind::Sqlite, &sandbox, &env).await;
    let (_, key) = app.create_user("counted").await;
    linked_session(&app, &sandbox, &key, "main", PHONE).await;
    linked_session(&app, &sandbox, &key, "second", SECOND).await;
    let (status, body) =
        app.post("/api/v1/session/main/config", Some(&key), json!({ "webhookUrl": rx.url("/hook") })).await;
    assert_eq!(status, 200, "{body}");
    let before = scrape(&app).await;

    // Actions: the receiver answers the contact's text with one good and one invalid action.
    rx.answer_containing(
        "act for metrics",
        json!({ "actions": [
            { "type": "text", "to": CONTACT, "text": "acted for metrics" },
            { "type": "no-such-action" },
        ] }),
    );
    sandbox.contact_send(CONTACT, PHONE, "act for metrics").await.unwrap();
    sandbox.wait_inbox(CONTACT, WAIT, |e| e.text.as_deref() == Some("acted for metrics")).await.unwrap();
    moved(&app, &before, "warest_action_runs_total", &[("outcome", "ok")], 1.0).await;
    moved(&app, &before, "warest_action_runs_total", &[("outcome", "error")], 1.0).await;

    // A dropped socket: the session reconnects on its own and is WORKING again.
    for d in sandbox.devices(PHONE) {
        sandbox.inject(PHONE, d, Fault::Drop).unwrap();
    }
    moved(&app, &before, "warest_session_reconnects_total", &[], 1.0).await;
    eventually("both sessions WORKING again", WAIT, async || {
        let n = scrape(&app).await.sum("warest_sessions", &[("status", "WORKING")]);
        if n == 2.0 { Ok(()) } else { Err(n) }
    })
    .await;

    // A send whose ack never comes: the contact is away (no receipt stands in for the ack)
    // and the server swallows the gateway's acks; one attempt, no retries, failed.
    for d in sandbox.devices(CONTACT) {
        sandbox.inject(CONTACT, d, Fault::RefuseLogins(Duration::from_secs(120))).unwrap();
    }
    for d in sandbox.devices(PHONE) {
        sandbox.inject(PHONE, d, Fault::DropAcks).unwrap();
    }
    let id = send(&app, &key, "never acked").await;
    wait_status(&app, &key, &id, |s| s == "failed").await;
    let failed = moved(&app, &before, "warest_sends_total", &[("stage", "failed")], 1.0).await;
    for d in sandbox.devices(PHONE) {
        sandbox.clear_faults(PHONE, d);
    }

    // Cleared from a paused queue: the records say failed, and so does the counter.
    let (status, _) = app.post("/api/v1/session/main/queue/pause", Some(&key), json!({})).await;
    assert_eq!(status, 200);
    send(&app, &key, "cleared 1").await;
    send(&app, &key, "cleared 2").await;
    let (status, body) = app.post("/api/v1/session/main/queue/clear", Some(&key), json!({})).await;
    assert_eq!((status, body["results"][0]["cleared"].as_u64()), (200, Some(2)), "{body}");
    let after_clear = scrape(&app).await;
    let d = after_clear.sum("warest_sends_total", &[("stage", "failed")])
        - failed.sum("warest_sends_total", &[("stage", "failed")]);
    assert_eq!(d, 2.0, "the cleared sends count as failed");

    // WhatsApp stops the sessions: a temporary ban for one, an outdated client for the other.
    for d in sandbox.devices(PHONE) {
        sandbox.inject(PHONE, d, Fault::TempBan(Duration::from_secs(600))).unwrap();
    }
    for d in sandbox.devices(SECOND) {
        sandbox.inject(SECOND, d, Fault::ClientOutdated).unwrap();
    }
    moved(&app, &before, "warest_session_failures_total", &[("kind", "temporary_ban")], 1.0).await;
    moved(&app, &before, "warest_session_failures_total", &[("kind", "outdated")], 1.0).await;
    app.stop().await;
}
