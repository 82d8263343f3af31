//! Chat actions end to end: the gateway's session mutes, archives, pins and clears a chat
//! through app-state; an observer (a second plain client linked to the same phone) gets
//! each change as its event, and the chats row follows. The other direction: what the
//! observer changes reaches the gateway's store. A session whose phone never shared its
//! app-state keys gets 3102, not a 500. Bad input names the field.

use crate::chats_support;
use crate::common;

use chats_support::{TIMEOUT, bad_field, gateway, get_until, link, result};
use common::{Kind, envelope_code};
use reqwest::Method;
use serde_json::json;
use warest_sandbox::{Behaviour, Sandbox};
use whatsapp_rust::Jid;
use whatsapp_rust::types::events::Event;

const PHONE: &str = "15550008001";
const CONTACT: &str = "15550008002";
const LONELY: &str = "15550008003";

fn chat_of<'a>(body: &'a serde_json::Value, jid: &str) -> Option<&'a serde_json::Value> {
    result(body)["data"].as_array()?.iter().find(|c| c["jid"] == jid)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_actions_reach_the_observer_and_the_store() {
    let sandbox = Sandbox::start().await.unwrap();
    let app = gateway(Kind::Sqlite, &sandbox).await;
    let (_, key) = app.create_user("chatter").await;
    link(&app, &sandbox, &key, "main", PHONE).await;
    let observer = sandbox.observer(PHONE, TIMEOUT).await.unwrap();
    sandbox.create_contact(CONTACT, Behaviour::Silent).await.unwrap();
    let contact_jid = format!("{CONTACT}@s.whatsapp.net");

    // A message from the contact, so the chat has history to clear.
    sandbox.contact_send(CONTACT, PHONE, "hello there").await.unwrap();
    let list = "/api/v1/chats?sessionId=main".to_string();
    get_until(&app, &key, &list, |b| chat_of(b, &contact_jid).is_some()).await;

    // Mute.
    let (status, body) = app
        .post("/api/v1/messages/action/mute", Some(&key), json!({"sessionId": "main", "to": CONTACT, "duration": 90}))
        .await;
    assert_eq!((status, envelope_code(&body)), (200, 1000), "{body}");
    assert_eq!(result(&body)["status"], "chat muted success");
    assert_eq!(result(&body)["toJid"], contact_jid.as_str());
    let ev = observer.wait_for(TIMEOUT, |e| matches!(e, Event::MuteUpdate(m) if m.jid.user == CONTACT)).await.unwrap();
    let Event::MuteUpdate(m) = &*ev else { unreachable!() };
    assert_eq!(m.action.muted, Some(true));
    let end = m.action.mute_end_timestamp.unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    assert!(end > now + 80 * 60_000 && end <= now + 90 * 60_000, "mute ends in ~90 min: {end} vs {now}");
    get_until(&app, &key, &list, |b| chat_of(b, &contact_jid).is_some_and(|c| c["muted"] == true)).await;

    // Read: the receipts go to the contact, and the phone's other devices see the chat read.
    let (status, body) =
        app.post(&format!("/api/v1/chats/{CONTACT}/read"), Some(&key), json!({"sessionId": "main"})).await;
    assert_eq!((status, result(&body)["totalMarked"].as_u64()), (200, Some(1)), "{body}");
    assert_eq!(result(&body)["appStateSynced"], true, "{body}");
    let ev = observer
        .wait_for(TIMEOUT, |e| matches!(e, Event::MarkChatAsReadUpdate(r) if r.jid.user == CONTACT))
        .await
        .unwrap();
    let Event::MarkChatAsReadUpdate(r) = &*ev else { unreachable!() };
    assert_eq!(r.action.read, Some(true));

    // Archive, and the list's archived filter.
    let (status, body) =
        app.post("/api/v1/messages/action/archive", Some(&key), json!({"sessionId": "main", "to": [CONTACT]})).await;
    assert_eq!(status, 200, "{body}");
    observer
        .wait_for(
            TIMEOUT,
            |e| matches!(e, Event::ArchiveUpdate(a) if a.jid.user == CONTACT && a.action.archived == Some(true)),
        )
        .await
        .unwrap();
    get_until(&app, &key, "/api/v1/chats?sessionId=main&archived=true", |b| chat_of(b, &contact_jid).is_some()).await;
    let (_, body) = app.get("/api/v1/chats?sessionId=main&archived=false", Some(&key)).await;
    assert!(chat_of(&body, &contact_jid).is_none(), "{body}");

    // Pin the chat.
    let (status, body) =
        app.post(&format!("/api/v1/chats/{CONTACT}/pin"), Some(&key), json!({"sessionId": "main", "pin": true})).await;
    assert_eq!((status, result(&body)["pinned"].as_bool()), (200, Some(true)), "{body}");
    observer
        .wait_for(
            TIMEOUT,
            |e| matches!(e, Event::PinUpdate(p) if p.jid.user == CONTACT && p.action.pinned == Some(true)),
        )
        .await
        .unwrap();

    // Unmute and unarchive.
    let (status, _) =
        app.post("/api/v1/messages/action/unmute", Some(&key), json!({"sessionId": "main", "to": CONTACT})).await;
    assert_eq!(status, 200);
    observer
        .wait_for(
            TIMEOUT,
            |e| matches!(e, Event::MuteUpdate(m) if m.jid.user == CONTACT && m.action.muted == Some(false)),
        )
        .await
        .unwrap();
    let (status, _) =
        app.post("/api/v1/messages/action/unarchive", Some(&key), json!({"sessionId": "main", "to": CONTACT})).await;
    assert_eq!(status, 200);
    observer
        .wait_for(
            TIMEOUT,
            |e| matches!(e, Event::ArchiveUpdate(a) if a.jid.user == CONTACT && a.action.archived == Some(false)),
        )
        .await
        .unwrap();
    // The echoes of our own pushes come back through app-state too; the row settles on
    // the last change.
    get_until(&app, &key, &list, |b| {
        chat_of(b, &contact_jid).is_some_and(|row| {
            (row["muted"].as_bool(), row["archived"].as_bool(), row["pinned"].as_bool())
                == (Some(false), Some(false), Some(true))
        })
    })
    .await;

    // The other direction: the observer archives, the gateway's store follows.
    // Boxed: inline, the app-state future overflows rustc's layout query depth.
    Box::pin(observer.client.chat_actions().archive_chat(&Jid::pn(CONTACT), None)).await.unwrap();
    get_until(&app, &key, "/api/v1/chats?sessionId=main&archived=true", |b| chat_of(b, &contact_jid).is_some()).await;

    // Clear all: the observer gets the clear, the store drops the chat's messages.
    let (status, body) = common::call(
        app.req(Method::DELETE, "/api/v1/messages/action/clear-all", Some(&key))
            .json(&json!({"sessionId": "main", "to": CONTACT})),
    )
    .await;
    assert_eq!((status, result(&body)["status"].as_str()), (200, Some("chat cleared success")), "{body}");
    observer.wait_for(TIMEOUT, |e| matches!(e, Event::ClearChatUpdate(c) if c.jid.user == CONTACT)).await.unwrap();
    let (_, body) = app.get(&format!("/api/v1/chats/{CONTACT}/messages?sessionId=main"), Some(&key)).await;
    assert_eq!(result(&body)["pagination"]["total"], 0, "{body}");
    assert_eq!(result(&body)["data"].as_array().unwrap().len(), 0);

    // Every verb went through the server's app-state store.
    assert!(sandbox.app_state(PHONE, "regular_high").0 >= 3);
    assert!(sandbox.app_state(PHONE, "regular_low").0 >= 4);

    observer.shutdown().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_app_state_keys_actions_answer_409_3102() {
    let sandbox = Sandbox::start().await.unwrap();
    let app = gateway(Kind::Sqlite, &sandbox).await;
    let (_, key) = app.create_user("lonely").await;
    sandbox.withhold_app_state_key(LONELY);
    link(&app, &sandbox, &key, "nokeys", LONELY).await;

    for (path, body) in [
        ("/api/v1/messages/action/mute", json!({"sessionId": "nokeys", "to": CONTACT})),
        ("/api/v1/messages/action/archive", json!({"sessionId": "nokeys", "to": CONTACT})),
        (&format!("/api/v1/chats/{CONTACT}/pin") as &str, json!({"sessionId": "nokeys", "pin": true})),
    ] {
        let (status, answer) = app.post(path, Some(&key), body).await;
        assert_eq!((status, envelope_code(&answer)), (409, 3102), "{path}: {answer}");
    }
    // Reading a chat still works (receipts need no app-state key); it says what it could not sync.
    let (status, answer) =
        app.post(&format!("/api/v1/chats/{CONTACT}/read"), Some(&key), json!({"sessionId": "nokeys"})).await;
    assert_eq!((status, result(&answer)["appStateSynced"].as_bool()), (200, Some(false)), "{answer}");
    assert_eq!(sandbox.app_state(LONELY, "regular_low").0, 0);
    assert_eq!(sandbox.app_state(LONELY, "regular_high").0, 0);
    app.stop().await;
}

#[tokio::test]
async fn bad_chat_action_input_names_the_field() {
    let sandbox = Sandbox::start().await.unwrap();
    let app = gateway(Kind::Sqlite, &sandbox).await;
    let (_, key) = app.create_user("careless").await;
    let mute = "/api/v1/messages/action/mute";
    let cases = [
        (mute, json!({"sessionId": "main", "to": CONTACT, "duration": 0}), "duration"),
        (mute, json!({"sessionId": "main", "to": CONTACT, "duration": 43_201}), "duration"),
        (mute, json!({"sessionId": "main"}), "to"),
        (mute, json!({"sessionId": "main", "to": "not a number"}), "to"),
        (mute, json!({"to": CONTACT}), "sessionId"),
        ("/api/v1/messages/action/archive", json!({"sessionId": "main", "to": ["15550008002", "x@y"]}), "to[1]"),
        ("/api/v1/chats/abc/pin", json!({"sessionId": "main", "pin": true}), "chatId"),
        ("/api/v1/chats/15550008002/pin", json!({"sessionId": "main"}), "pin"),
        ("/api/v1/chats/15550008002/pin", json!({"sessionId": "main", "pin": "yes"}), "pin"),
        ("/api/v1/chats/15550008002/read", json!({"sessionId": "main", "messages": -1}), "messages"),
        ("/api/v1/chats/15550008002/read", json!({"sessionId": "main", "days": 9999}), "days"),
        ("/api/v1/chats/15550008002/messages/bad%20id/pin", json!({"sessionId": "main", "pin": true}), "messageId"),
    ];
    for (path, body, field) in cases {
        let (status, answer) = app.post(path, Some(&key), body.clone()).await;
        assert_eq!(bad_field(status, &answer), field, "{path} {body}: {answer}");
    }
    // An unknown session is a 404 (1101), not a 500.
    let (status, answer) = app.post(mute, Some(&key), json!({"sessionId": "nope", "to": CONTACT})).await;
    assert_eq!((status, envelope_code(&answer)), (404, 1101), "{answer}");
    app.stop().await;
}
