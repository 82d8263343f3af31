//! Inbound end to end: a session linked to the sandbox, a virtual contact sends text, a
//! command, an image, a reaction, an edit and a revoke; the webhook receiver gets each
//! as its catalog event exactly once, signed with the documented scheme, and the message
//! store holds the messages, the chat and the contact. SQLite and Postgres.

use crate::common;
use crate::webhooks_support;

use std::time::Duration;

use common::{Kind, TestApp, envelope_code, kinds};
use serde_json::{Value, json};
use sqlx::Row;
use tokio::sync::broadcast;
use warest::sessions::events::SessionEvent;
use warest::store::RowText;
use warest_sandbox::{Behaviour, CLIENT_VERSION, Sandbox};
use webhooks_support::{Hit, Receiver};

const WAIT: Duration = Duration::from_secs(60);
const SECRET: &str = "e2e-secret";
const PHONE: &str = "15551230001";
const CONTACT: &str = "15559990001";

async fn wait_tag(rx: &mut broadcast::Receiver<SessionEvent>, session: &str, tag: &str) {
    tokio::time::timeout(WAIT, async {
        loop {
            match rx.recv().await {
                Ok(ev) if ev.session_id == session && ev.tag() == Some(tag) => return,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(e) => panic!("event bus closed: {e}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {tag} for {session}"))
}

fn events_of<'a>(hits: &'a [Hit], event: &str) -> Vec<&'a Hit> {
    hits.iter().filter(|h| h.json()["event"] == event).collect()
}

#[tokio::test]
async fn a_contacts_messages_arrive_once_each_signed_and_stored() {
    for kind in kinds() {
        run(kind).await;
    }
}

async fn run(kind: Kind) {
    let sandbox = Sandbox::start().await.unwrap();
    let url = sandbox.ws_url();
    let rx = Receiver::start().await;
    let app = TestApp::spawn_configured(kind, &[("WAREST_WEBHOOK_BACKOFF_MS", "50")], move |c| {
        c.wa_url = Some(url);
        c.wa_version = Some(CLIENT_VERSION);
    })
    .await;
    let (_, key) = app.create_user("inbound").await;

    let mut events = app.state.events.subscribe();
    let (status, body) = app.get("/api/v1/session/create?sessionId=in1", Some(&key)).await;
    assert_eq!((status, envelope_code(&body)), (200, 1107), "{body}");
    sandbox.link(body["results"][0]["qrString"].as_str().unwrap(), PHONE).unwrap();
    wait_tag(&mut events, "in1", "open").await;
    let (status, body) = app
        .post("/api/v1/session/in1/config", Some(&key), json!({ "webhookUrl": rx.url("/in"), "webhookSecret": SECRET }))
        .await;
    assert_eq!(status, 200, "{body}");

    sandbox.create_contact(CONTACT, Behaviour::Silent).await.unwrap();
    let text_id = sandbox.contact_send(CONTACT, PHONE, "hello gateway").await.unwrap();
    rx.wait_until("the text", WAIT, |h| h.iter().any(|x| x.json()["data"]["messageId"] == text_id.as_str())).await;
    sandbox.contact_send(CONTACT, PHONE, "!ping a b").await.unwrap();
    let picture: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
    let image_id = sandbox.contact_send_image(CONTACT, PHONE, picture, "image/png", Some("a picture")).await.unwrap();
    rx.wait_until("the image", WAIT, |h| h.iter().any(|x| x.json()["data"]["messageId"] == image_id.as_str())).await;
    sandbox.contact_react(CONTACT, PHONE, &text_id, "👍").await.unwrap();
    sandbox.contact_edit(CONTACT, PHONE, &text_id, "hello edited").await.unwrap();
    sandbox.contact_revoke(CONTACT, PHONE, &image_id).await.unwrap();

    let msg_events = ["message_received", "message_command", "message_reaction", "message_edited", "message_revoked"];
    let hits = rx
        .wait_until("every message event", WAIT, |h| {
            events_of(h, "message_revoked").len() == 1
                && events_of(h, "message_edited").len() == 1
                && events_of(h, "message_reaction").len() == 1
        })
        .await;
    let hits: Vec<Hit> =
        hits.into_iter().filter(|h| msg_events.contains(&h.json()["event"].as_str().unwrap_or(""))).collect();

    // Each event once (at-least-once delivery, but nothing failed here), each signed.
    let mut ids: Vec<String> = hits.iter().map(|h| h.header("x-warest-event-id")).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), hits.len(), "{kind:?}: duplicate deliveries");
    for h in &hits {
        assert!(warest::webhooks::sign::verify_warest(&h.header("x-warest-signature"), SECRET, "inbound", &h.body));
        let d = h.json()["data"].clone();
        assert_eq!(d["sessionId"], "in1");
        assert!(d["chatId"].is_string(), "{d}");
        assert!(d["senderJid"].is_string() || d["senderLid"].is_string(), "{d}");
        assert_eq!(d["fromOffline"], false);
    }
    let received = events_of(&hits, "message_received");
    assert_eq!(received.len(), 3, "text, command text, image");
    let text = received[0].json()["data"].clone();
    assert_eq!((text["contentType"].as_str(), text["message"]["text"].as_str()), (Some("text"), Some("hello gateway")));
    let image = received.iter().map(|h| h.json()["data"].clone()).find(|d| d["contentType"] == "image").unwrap();
    assert_eq!(image["message"]["caption"], "a picture");
    assert_eq!(image["media"]["mimetype"], "image/png");
    assert_eq!(image["media"]["fileLength"], 20_000);
    let cmd = events_of(&hits, "message_command")[0].json()["data"].clone();
    assert_eq!((cmd["command"].as_str(), cmd["args"].clone()), (Some("ping"), json!(["a", "b"])));
    let reaction = events_of(&hits, "message_reaction")[0].json()["data"].clone();
    assert_eq!(
        (reaction["reaction"]["text"].as_str(), reaction["key"]["id"].as_str()),
        (Some("👍"), Some(text_id.as_str()))
    );
    let edited = events_of(&hits, "message_edited")[0].json()["data"].clone();
    assert_eq!(
        (edited["editedMessageId"].as_str(), edited["message"]["text"].as_str()),
        (Some(text_id.as_str()), Some("hello edited"))
    );
    let revoked = events_of(&hits, "message_revoked")[0].json()["data"].clone();
    assert_eq!(revoked["revokedMessageId"], image_id.as_str());

    // The message store, written in the same transactions.
    let pool = app.state.db.pool();
    let rows = sqlx::query(
        app.state
            .db
            .sql("SELECT id, content, edited_at, revoked_at FROM messages WHERE session_id = 'in1' ORDER BY ts, id"),
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 3, "{kind:?}");
    let by_id = |id: &str| rows.iter().find(|r| r.text("id").unwrap() == id).unwrap();
    let content: Value = serde_json::from_str(&by_id(&text_id).text("content").unwrap()).unwrap();
    assert_eq!(content["message"]["text"], "hello edited");
    assert!(by_id(&text_id).get::<Option<i64>, _>("edited_at").is_some());
    assert!(by_id(&image_id).get::<Option<i64>, _>("revoked_at").is_some());
    let chat =
        sqlx::query(app.state.db.sql("SELECT unread_count, last_message_id FROM chats WHERE session_id = 'in1'"))
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(chat.get::<i64, _>("unread_count"), 3);
    assert_eq!(chat.text("last_message_id").unwrap(), image_id);
    let contacts: i64 = sqlx::query(app.state.db.sql("SELECT COUNT(*) AS n FROM contacts WHERE session_id = 'in1'"))
        .fetch_one(pool)
        .await
        .unwrap()
        .get("n");
    assert_eq!(contacts, 1);
    app.stop().await;
}
