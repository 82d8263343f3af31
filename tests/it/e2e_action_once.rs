//! Actions run at most once per (event, target, action): the receiver answers an event
//! with a reaction and a text; the event is then delivered again twice — the same delivery
//! put back in the queue (as after a crash, or when marking it delivered failed) and a
//! replay through the API (a new delivery) — and the receiver answers the same each time.
//! The contact still gets ONE reaction and ONE text, and the reruns' logs say why.
//! Also: a `raw` send action (a message proto as JSON) reaches the contact.

use crate::common;

use std::time::Duration;

use common::{Kind, TestApp, envelope_code, eventually, kinds};
use serde_json::{Value, json};
use tokio::sync::broadcast;
use warest::sessions::events::SessionEvent;
use warest_sandbox::{Behaviour, CLIENT_VERSION, Sandbox};

const WAIT: Duration = Duration::from_secs(60);
const PHONE: &str = "15551230201";
const CONTACT: &str = "15559990201";

async fn respond(body: axum::body::Bytes) -> axum::Json<Value> {
    let ev: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let data = &ev["data"];
    let answer = match (ev["event"].as_str(), data["message"]["text"].as_str()) {
        (Some("message_received"), Some("once")) => {
            let key = json!({ "id": data["messageId"], "remoteJid": data["chatId"], "fromMe": false });
            json!({ "actions": [
                { "act": "react", "key": key, "emoji": "👍" },
                { "type": "text", "to": CONTACT, "text": "once-text" }
            ]})
        }
        // A raw message proto, as JSON of waproto's `Message`.
        (Some("message_received"), Some("raw")) => json!({ "actions": [
            { "type": "raw", "to": CONTACT, "message": { "conversation": "raw-hello" } },
            { "type": "raw", "to": CONTACT, "message": { "conversaton": "typo" } }
        ]}),
        (Some("message_received"), Some("ping")) => {
            json!({ "actions": [{ "type": "text", "to": CONTACT, "text": "pong" }] })
        }
        _ => json!({}),
    };
    axum::Json(answer)
}

async fn receiver() -> String {
    let app = axum::Router::new().fallback(respond);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/hook")
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

/// The action logs of the session's attempts that ran (or skipped) a react action.
async fn react_runs(app: &TestApp, key: &str, session: &str) -> Vec<Vec<Value>> {
    let (status, body) = app.get(&format!("/api/v1/webhook/deliveries?sessionId={session}"), Some(key)).await;
    assert_eq!(status, 200, "{body}");
    body["results"][0]["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|i| i["actions"].as_array().cloned())
        .filter(|l| l.iter().any(|e| e["type"] == "react"))
        .collect()
}

/// Waits (bounded) until `n` runs of the answer are logged.
async fn wait_runs(app: &TestApp, key: &str, session: &str, n: usize) -> Vec<Vec<Value>> {
    eventually(format!("{n} runs logged for {session}"), Duration::from_secs(60), async || {
        let runs = react_runs(app, key, session).await;
        if runs.len() >= n { Ok(runs) } else { Err(runs) }
    })
    .await
}

#[tokio::test]
async fn a_redelivered_or_replayed_event_does_not_repeat_its_actions() {
    for kind in kinds() {
        run(kind).await;
    }
}

async fn run(kind: Kind) {
    let sandbox = Sandbox::start().await.unwrap();
    let url = sandbox.ws_url();
    let hook = receiver().await;
    let app = TestApp::spawn_configured(kind, &[], move |c| {
        c.wa_url = Some(url);
        c.wa_version = Some(CLIENT_VERSION);
    })
    .await;
    let (_, key) = app.create_user("once").await;
    let mut events = app.state.events.subscribe();
    let (status, body) = app.get("/api/v1/session/create?sessionId=once1", Some(&key)).await;
    assert_eq!((status, envelope_code(&body)), (200, 1107), "{body}");
    sandbox.link(body["results"][0]["qrString"].as_str().unwrap(), PHONE).unwrap();
    wait_open(&mut events, "once1").await;
    let (status, body) = app.post("/api/v1/session/once1/config", Some(&key), json!({ "webhookUrl": hook })).await;
    assert_eq!(status, 200, "{body}");
    sandbox.create_contact(CONTACT, Behaviour::Silent).await.unwrap();

    let target = sandbox.contact_send(CONTACT, PHONE, "once").await.unwrap();
    sandbox.wait_inbox(CONTACT, WAIT, |e| e.reaction.is_some()).await.unwrap();
    sandbox.wait_inbox(CONTACT, WAIT, |e| e.text.as_deref() == Some("once-text")).await.unwrap();
    let first = wait_runs(&app, &key, "once1", 1).await;
    assert!(first[0].iter().all(|e| e["ok"] == true && e.get("skipped").is_none()), "{kind:?}: {first:?}");

    // Redelivery of the same delivery, as the dispatcher does after a crash.
    let put_back = sqlx::query(
        "UPDATE webhook_deliveries SET state = 'pending', next_at = 0, locked_until = NULL
         WHERE session_id = 'once1' AND event_seq IN
           (SELECT seq FROM webhook_events WHERE session_id = 'once1' AND event = 'message_received')",
    )
    .execute(app.state.db.pool())
    .await
    .unwrap()
    .rows_affected();
    assert!(put_back >= 1, "{kind:?}");
    wait_runs(&app, &key, "once1", 2).await;

    // A replay: a new delivery of the same event to the same target.
    let (status, body) = app
        .post("/api/v1/webhook/replay", Some(&key), json!({ "sessionId": "once1", "event": "message_received" }))
        .await;
    assert_eq!(status, 200, "{body}");
    let runs = wait_runs(&app, &key, "once1", 3).await;
    let reruns: Vec<&Vec<Value>> = runs.iter().filter(|l| l.iter().any(|e| e.get("skipped").is_some())).collect();
    assert_eq!(reruns.len(), 2, "{kind:?}: {runs:?}");
    for list in &reruns {
        for e in list.iter() {
            assert_eq!(e["skipped"], "already run for this event and target", "{kind:?}: {list:?}");
            assert_eq!(e["ok"], true, "{kind:?}: {list:?}");
        }
    }

    // The send queue is FIFO per session: once "pong" is in, any repeat would be too.
    sandbox.contact_send(CONTACT, PHONE, "ping").await.unwrap();
    sandbox.wait_inbox(CONTACT, WAIT, |e| e.text.as_deref() == Some("pong")).await.unwrap();
    let inbox = sandbox.inbox(CONTACT).unwrap();
    let reactions: Vec<_> = inbox.iter().filter_map(|e| e.reaction.clone()).collect();
    assert_eq!(reactions, vec![(target.clone(), "👍".to_string())], "{kind:?}");
    let texts = inbox.iter().filter(|e| e.text.as_deref() == Some("once-text")).count();
    assert_eq!(texts, 1, "{kind:?}: {inbox:?}");

    // A raw send: a conversation message built from JSON arrives; a malformed one is logged.
    sandbox.contact_send(CONTACT, PHONE, "raw").await.unwrap();
    let raw = sandbox.wait_inbox(CONTACT, WAIT, |e| e.text.as_deref() == Some("raw-hello")).await.unwrap();
    assert_eq!(raw.from, PHONE, "{kind:?}");
    let list = eventually("the raw run to be logged", Duration::from_secs(60), async || {
        let (_, body) = app.get("/api/v1/webhook/deliveries?sessionId=once1", Some(&key)).await;
        body["results"][0]["items"].as_array().and_then(|items| {
            items.iter().find_map(|i| i["actions"].as_array().filter(|l| l.iter().any(|e| e["type"] == "raw")).cloned())
        })
    })
    .await;
    assert_eq!(list[0]["ok"], true, "{kind:?}: {list:?}");
    assert!(list[1]["error"].as_str().is_some_and(|e| e.contains("no message field")), "{kind:?}: {list:?}");
    app.stop().await;
}
