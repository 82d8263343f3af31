//! `/api/v1/messages/{id}/action/*` end to end against the sandbox, the contact observing:
//! reaction and unreaction, edit and revoke of a sent message, a read receipt for a
//! received one. Star, unstar and delete-for-me are app-state mutations: an observer (a
//! second plain client linked to the same phone) gets each as its event, and without the
//! phone's app-state keys they answer 3102. Plus the refusals: unknown
//! message, someone else's message, the edit window, bad input.

use crate::common;

use std::time::Duration;

use common::{Kind, TestApp, envelope_code, eventually, kinds};
use serde_json::{Value, json};
use sqlx::Row;
use tokio::sync::broadcast;
use warest::sessions::events::SessionEvent;
use warest_sandbox::{Behaviour, CLIENT_VERSION, Sandbox, SandboxEvent};
use whatsapp_rust::types::events::Event;

const WAIT: Duration = Duration::from_secs(60);
const PHONE: &str = "15551230201";
const CONTACT: &str = "15559990201";

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

/// Waits (bounded) until the message store holds `id`.
async fn wait_stored(app: &TestApp, id: &str) {
    eventually(format!("message {id} to be stored"), WAIT, async || {
        let n: i64 = sqlx::query(app.state.db.sql("SELECT COUNT(*) AS n FROM messages WHERE id = $1"))
            .bind(id)
            .fetch_one(app.state.db.pool())
            .await
            .unwrap()
            .get("n");
        n > 0
    })
    .await;
}

/// Waits (bounded) until a sent message left the queue.
async fn wait_sent(app: &TestApp, key: &str, id: &str) {
    eventually(format!("message {id} to leave the queue"), WAIT, async || {
        let (_, body) = app.get(&format!("/api/v1/messages/{id}"), Some(key)).await;
        let status = body["results"][0]["status"].as_str().unwrap_or("").to_string();
        if matches!(status.as_str(), "" | "queued" | "sending") {
            return Err(body);
        }
        assert_ne!(status, "failed", "{body}");
        Ok(())
    })
    .await;
}

fn action(id: &str, name: &str) -> String {
    format!("/api/v1/messages/{id}/action/{name}")
}

/// The protocol message (edit/revoke) inside a decrypted message's JSON, wherever it is.
fn protocol(json: &str) -> Option<Value> {
    fn find(v: &Value) -> Option<Value> {
        match v {
            Value::Object(m) => m
                .iter()
                .find(|(k, v)| (*k == "protocolMessage" || *k == "protocol_message") && v.is_object())
                .map(|(_, v)| v.clone())
                .or_else(|| m.values().find_map(find)),
            Value::Array(a) => a.iter().find_map(find),
            _ => None,
        }
    }
    find(&serde_json::from_str(json).ok()?)
}

#[tokio::test]
async fn message_actions_reach_the_contact_and_refusals_have_codes() {
    for kind in kinds() {
        run(kind).await;
    }
}

async fn run(kind: Kind) {
    let sandbox = Sandbox::start().await.unwrap();
    let url = sandbox.ws_url();
    let app = TestApp::spawn_configured(kind, &[], move |c| {
        c.wa_url = Some(url);
        c.wa_version = Some(CLIENT_VERSION);
    })
    .await;
    let (_, key) = app.create_user("msgops").await;
    let mut events = app.state.events.subscribe();
    let (status, body) = app.get("/api/v1/session/create?sessionId=ops1", Some(&key)).await;
    assert_eq!((status, envelope_code(&body)), (200, 1107), "{body}");
    sandbox.link(body["results"][0]["qrString"].as_str().unwrap(), PHONE).unwrap();
    wait_open(&mut events, "ops1").await;
    // A second device of the same phone, to see the app-state mutations arrive.
    let observer = sandbox.observer(PHONE, WAIT).await.unwrap();
    sandbox.create_contact(CONTACT, Behaviour::Silent).await.unwrap();
    let target = json!({ "sessionId": "ops1", "to": CONTACT });

    // A received message: reaction, unreaction, read receipt.
    let theirs = sandbox.contact_send(CONTACT, PHONE, "react to this").await.unwrap();
    wait_stored(&app, &theirs).await;
    let (status, body) = app
        .post(&action(&theirs, "reaction"), Some(&key), json!({ "sessionId": "ops1", "to": CONTACT, "emoji": "🔥" }))
        .await;
    assert_eq!((status, envelope_code(&body)), (200, 1000), "{kind:?} {body}");
    assert_eq!(body["results"][0]["status"], "reaction applied success");
    assert_eq!(body["results"][0]["messageId"], theirs.as_str());
    let want = Some((theirs.clone(), "🔥".to_string()));
    sandbox.wait_inbox(CONTACT, WAIT, |e| e.reaction == want).await.unwrap();
    let (status, body) = app.post(&action(&theirs, "unreaction"), Some(&key), target.clone()).await;
    assert_eq!(status, 200, "{body}");
    let want = Some((theirs.clone(), String::new()));
    sandbox.wait_inbox(CONTACT, WAIT, |e| e.reaction == want).await.unwrap();

    let mut server = sandbox.subscribe();
    let (status, body) = app.post(&action(&theirs, "mark-as-read"), Some(&key), target.clone()).await;
    assert_eq!((status, envelope_code(&body)), (200, 1000), "{body}");
    let id = theirs.clone();
    Sandbox::wait_for_event(
        &mut server,
        WAIT,
        |e| matches!(e, SandboxEvent::ReceiptRelayed { id: rid, kind, .. } if *rid == id && kind == "read"),
    )
    .await
    .expect("the contact's message got a read receipt");

    // Someone else's message cannot be edited or revoked.
    let (status, body) = app
        .post(&action(&theirs, "edit"), Some(&key), json!({ "sessionId": "ops1", "to": CONTACT, "message": "x" }))
        .await;
    assert_eq!((status, envelope_code(&body)), (403, 3100), "{body}");
    let (status, body) = app.post(&action(&theirs, "revoke"), Some(&key), target.clone()).await;
    assert_eq!((status, envelope_code(&body)), (403, 3100), "{body}");

    // A sent message: edit, then revoke; the contact gets both.
    let (status, body) = app
        .post(
            "/api/v1/messages/send/text",
            Some(&key),
            json!({ "sessionId": "ops1", "to": CONTACT, "message": "first words" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let mine = body["results"][0]["messageId"].as_str().unwrap().to_string();
    sandbox.wait_inbox(CONTACT, WAIT, |e| e.id == mine).await.unwrap();
    wait_sent(&app, &key, &mine).await;
    let (status, body) = app
        .post(
            &action(&mine, "edit"),
            Some(&key),
            json!({ "sessionId": "ops1", "to": CONTACT, "message": "better words" }),
        )
        .await;
    assert_eq!((status, envelope_code(&body)), (200, 1000), "{kind:?} {body}");
    let edit = sandbox
        .wait_inbox(CONTACT, WAIT, |e| e.message_json.as_deref().is_some_and(|j| j.contains("better words")))
        .await
        .unwrap();
    let p = protocol(edit.message_json.as_deref().unwrap()).expect("an edit is a protocol message");
    assert_eq!(p["key"]["id"], mine.as_str(), "{p}");
    let (status, body) = app.post(&action(&mine, "revoke"), Some(&key), target.clone()).await;
    assert_eq!((status, envelope_code(&body)), (200, 1000), "{body}");
    let m = mine.clone();
    let revoke = sandbox
        .wait_inbox(CONTACT, WAIT, |e| {
            e.id != edit.id
                && e.message_json.as_deref().and_then(protocol).is_some_and(|p| p["key"]["id"] == m.as_str())
        })
        .await
        .unwrap();
    let p = protocol(revoke.message_json.as_deref().unwrap()).unwrap();
    assert!(!p.to_string().contains("better words"), "a revoke, not an edit: {p}");

    // App-state mutations: the phone shared its app-state key at linking, so these go
    // through, and the observer device gets each one.
    for (method, name, done) in [
        ("POST", "star", "message starred success"),
        ("POST", "unstar", "message unstarred success"),
        ("DELETE", "delete", "message deleted success"),
    ] {
        let req = app.req(method.parse().unwrap(), &action(&theirs, name), Some(&key)).json(&target);
        let (status, body) = common::call(req).await;
        assert_eq!((status, envelope_code(&body)), (200, 1000), "{name}: {body}");
        assert_eq!(body["results"][0]["status"], done, "{body}");
    }
    let starred = |want: bool| {
        let id = theirs.clone();
        move |e: &Event| matches!(e, Event::StarUpdate(s) if s.message_id == id && s.action.starred == Some(want))
    };
    observer.wait_for(WAIT, starred(true)).await.unwrap();
    observer.wait_for(WAIT, starred(false)).await.unwrap();
    let id = theirs.clone();
    observer
        .wait_for(WAIT, move |e| matches!(e, Event::DeleteMessageForMeUpdate(d) if d.message_id == id && !d.from_me))
        .await
        .unwrap();
    // Before the phone has shared its app-state keys (a fresh link), they are a clear 409.
    sqlx::query(app.state.db.sql("DELETE FROM wa_sync_keys WHERE session_id = 'ops1'"))
        .execute(app.state.db.pool())
        .await
        .unwrap();
    for (method, name) in [("POST", "star"), ("POST", "unstar"), ("DELETE", "delete")] {
        let req = app.req(method.parse().unwrap(), &action(&theirs, name), Some(&key)).json(&target);
        let (status, body) = common::call(req).await;
        assert_eq!((status, envelope_code(&body)), (409, 3102), "{name}: {body}");
    }

    // Refusals.
    let (status, body) = app
        .post(&action("NOPE0000", "reaction"), Some(&key), json!({ "sessionId": "ops1", "to": CONTACT, "emoji": "x" }))
        .await;
    assert_eq!((status, envelope_code(&body)), (404, 3003), "{body}");
    let (status, body) = app
        .post(&action(&theirs, "reaction"), Some(&key), json!({ "sessionId": "ops1", "to": CONTACT, "emoji": " " }))
        .await;
    assert_eq!((status, body["results"][0]["field"].as_str()), (400, Some("emoji")), "{body}");
    let (status, body) = app.post(&action(&theirs, "mark-as-read"), Some(&key), json!({ "sessionId": "ops1" })).await;
    assert_eq!(status, 400, "{body}");
    let (_, other) = app.create_user("stranger").await;
    let (status, body) = app.post(&action(&theirs, "mark-as-read"), Some(&other), target.clone()).await;
    assert_eq!((status, envelope_code(&body)), (404, 1101), "another tenant's session: {body}");
    // The edit window: a message sent 20 minutes ago.
    let old = (warest::store::now_ms()) - 20 * 60 * 1000;
    // Postgres types a bare parameter in a SELECT list as text; MySQL binds by position.
    sqlx::query(app.state.db.pick(
        "INSERT INTO outbound_messages (message_id, session_id, registry, to_jid, kind, payload, status, next_attempt_at,
                                        created_at, updated_at, sent_at)
         SELECT 'OLD0000001', id, registry, CAST($1 AS TEXT), 'text', '{}', 'sent', CAST($2 AS BIGINT), CAST($3 AS BIGINT),
                CAST($4 AS BIGINT), CAST($5 AS BIGINT) FROM sessions WHERE id = 'ops1'",
        "INSERT INTO outbound_messages (message_id, session_id, registry, to_jid, kind, payload, status, next_attempt_at,
                                        created_at, updated_at, sent_at)
         SELECT 'OLD0000001', id, registry, ?, 'text', '{}', 'sent', ?, ?, ?, ? FROM sessions WHERE id = 'ops1'",
    ))
    .bind(format!("{CONTACT}@s.whatsapp.net"))
    .bind(old)
    .bind(old)
    .bind(old)
    .bind(old)
    .execute(app.state.db.pool())
    .await
    .unwrap();
    let (status, body) = app
        .post(
            &action("OLD0000001", "edit"),
            Some(&key),
            json!({ "sessionId": "ops1", "to": CONTACT, "message": "late" }),
        )
        .await;
    assert_eq!((status, envelope_code(&body)), (422, 3101), "{body}");
    app.stop().await;
}
