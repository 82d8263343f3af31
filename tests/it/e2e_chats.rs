//! Chats end to end: virtual contacts write to the gateway's session; the chat list
//! (filters, sorting, offset pagination) and a chat's messages (cursor pagination, newest
//! first, content type filter) come from the message store; reading a chat sends the
//! contact read receipts; pinning a message sends a pin the contact decrypts; typing and
//! recording states reach the contact live. SQLite and
//! Postgres (when configured). Bad input names the field.

use crate::chats_support;
use crate::common;

use std::collections::HashSet;

use chats_support::{TIMEOUT, bad_field, gateway, get_until, link, result};
use common::{Kind, envelope_code, kinds};
use serde_json::{Value, json};
use warest_sandbox::{Behaviour, Sandbox};
use whatsapp_rust::types::events::Event;
use whatsapp_rust::types::presence::{ChatPresence, ChatPresenceMedia, ReceiptType};

const PHONE: &str = "15550009001";
const ANN: &str = "15550009002";
const BEN: &str = "15550009003";
const CAL: &str = "15550009004";

fn jids(body: &Value) -> Vec<String> {
    result(body)["data"].as_array().unwrap().iter().map(|c| c["jid"].as_str().unwrap().to_string()).collect()
}

fn jid(phone: &str) -> String {
    format!("{phone}@s.whatsapp.net")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chats_and_messages_are_listed_read_and_pinned() {
    for kind in kinds() {
        run(kind).await;
    }
}

async fn run(kind: Kind) {
    let sandbox = Sandbox::start().await.unwrap();
    let app = gateway(kind, &sandbox).await;
    let (_, key) = app.create_user("reader").await;
    link(&app, &sandbox, &key, "main", PHONE).await;
    for c in [ANN, BEN, CAL] {
        sandbox.create_contact(c, Behaviour::Silent).await.unwrap();
    }

    // Ann writes five messages, Ben one, Cal one (Cal last, so his chat is newest).
    let mut ann_ids = Vec::new();
    for i in 0..5 {
        ann_ids.push(sandbox.contact_send(ANN, PHONE, &format!("ann {i}")).await.unwrap());
    }
    sandbox.contact_send(BEN, PHONE, "ben here").await.unwrap();
    sandbox.contact_send(CAL, PHONE, "cal here").await.unwrap();
    let all = get_until(&app, &key, "/api/v1/chats?sessionId=main", |b| {
        result(b)["pagination"]["total"] == 3 && result(b)["data"][0]["jid"] == jid(CAL)
    })
    .await;
    get_until(&app, &key, &format!("/api/v1/chats/{ANN}/messages?sessionId=main"), |b| {
        result(b)["pagination"]["total"] == 5
    })
    .await;
    assert_eq!(envelope_code(&all), 1000);
    let cal = &result(&all)["data"][0];
    assert_eq!((cal["lastMessage"].as_str(), cal["unreadCount"].as_i64()), (Some("cal here"), Some(1)), "{all}");

    // Sorting and offset pagination.
    let (_, body) = app.get("/api/v1/chats?sessionId=main&sortBy=unreadCount", Some(&key)).await;
    assert_eq!(jids(&body)[0], jid(ANN), "{body}");
    let (_, p1) = app.get("/api/v1/chats?sessionId=main&limit=2", Some(&key)).await;
    let (_, p2) = app.get("/api/v1/chats?sessionId=main&limit=2&offset=2", Some(&key)).await;
    assert_eq!((jids(&p1).len(), jids(&p2).len()), (2, 1));
    let seen: HashSet<_> = jids(&p1).into_iter().chain(jids(&p2)).collect();
    assert_eq!(seen.len(), 3);
    assert_eq!(result(&p1)["pagination"]["total"], 3);
    // Filters: groups (none), search, unread.
    let (_, body) = app.get("/api/v1/chats?sessionId=main&isGroup=true", Some(&key)).await;
    assert_eq!(result(&body)["pagination"]["total"], 0);
    let (_, body) = app.get(&format!("/api/v1/chats?sessionId=main&search={BEN}"), Some(&key)).await;
    assert_eq!(jids(&body), [jid(BEN)]);

    // A chat's messages: newest first, in pages of two chained by cursor.
    let mut cursor: Option<String> = None;
    let mut got = Vec::new();
    for _ in 0..4 {
        let mut path = format!("/api/v1/chats/{ANN}/messages?sessionId=main&limit=2");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (status, body) = app.get(&path, Some(&key)).await;
        assert_eq!(status, 200, "{body}");
        got.extend(result(&body)["data"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_string()));
        cursor = result(&body)["pagination"]["nextCursor"].as_str().map(str::to_string);
        if cursor.is_none() {
            break;
        }
    }
    let newest_first: Vec<String> = ann_ids.iter().rev().cloned().collect();
    assert_eq!(got, newest_first);
    let (_, body) = app.get(&format!("/api/v1/chats/{ANN}/messages?sessionId=main&type=image"), Some(&key)).await;
    assert_eq!(result(&body)["pagination"]["total"], 0);
    let (_, body) =
        app.get(&format!("/api/v1/chats/{ANN}/messages?sessionId=main&type=text&limit=1"), Some(&key)).await;
    assert_eq!(result(&body)["data"][0]["body"], "ann 4", "{body}");
    assert_eq!(result(&body)["chatInfo"]["unreadCount"], 5);

    // Read: Ann's client gets read receipts for her messages; the unread filter follows.
    let (status, body) = app.post(&format!("/api/v1/chats/{ANN}/read"), Some(&key), json!({"sessionId": "main"})).await;
    assert_eq!((status, result(&body)["totalMarked"].as_u64()), (200, Some(5)), "{body}");
    let last = ann_ids.last().unwrap().clone();
    sandbox
        .wait_contact_event(
            ANN,
            TIMEOUT,
            |e| matches!(e, Event::Receipt(r) if r.r#type == ReceiptType::Read && r.message_ids.contains(&last)),
        )
        .await
        .unwrap();
    let (_, body) = app.get("/api/v1/chats?sessionId=main&unread=true", Some(&key)).await;
    assert!(!jids(&body).contains(&jid(ANN)), "{body}");
    // A second read finds nothing left to mark.
    let (_, body) = app.post(&format!("/api/v1/chats/{ANN}/read"), Some(&key), json!({"sessionId": "main"})).await;
    assert_eq!(result(&body)["totalMarked"], 0, "{body}");

    // Pin one of Ben's messages: Ben decrypts a pin naming it.
    let ben_msg = sandbox.contact_send(BEN, PHONE, "pin me").await.unwrap();
    get_until(&app, &key, &format!("/api/v1/chats/{BEN}/messages?sessionId=main"), |b| {
        result(b)["data"][0]["id"] == ben_msg.as_str()
    })
    .await;
    let (status, body) = app
        .post(
            &format!("/api/v1/chats/{BEN}/messages/{ben_msg}/pin"),
            Some(&key),
            json!({"sessionId": "main", "pin": true}),
        )
        .await;
    assert_eq!((status, result(&body)["pinned"].as_bool()), (200, Some(true)), "{body}");
    let pin_id = result(&body)["pinMessageId"].as_str().unwrap().to_string();
    let entry = sandbox.wait_inbox(BEN, TIMEOUT, |m| m.id == pin_id).await.unwrap();
    let decrypted = entry.message_json.unwrap().replace('_', "").to_lowercase();
    assert!(decrypted.contains("pininchatmessage") && decrypted.contains(&ben_msg.to_lowercase()), "{decrypted}");
    // A message that is not in the chat is a 404.
    let (status, body) = app
        .post(
            &format!("/api/v1/chats/{ANN}/messages/{ben_msg}/pin"),
            Some(&key),
            json!({"sessionId": "main", "pin": true}),
        )
        .await;
    assert_eq!((status, envelope_code(&body)), (404, 3003), "{body}");

    // Typing, then recording, shown live in Cal's chat.
    for (state, media) in [("composing", ChatPresenceMedia::Text), ("recording", ChatPresenceMedia::Audio)] {
        let (status, body) = app
            .post(&format!("/api/v1/chats/{CAL}/presence"), Some(&key), json!({"sessionId": "main", "state": state}))
            .await;
        assert_eq!((status, result(&body)["state"].as_str()), (200, Some(state)), "{body}");
        sandbox
            .wait_contact_event(CAL, TIMEOUT, |e| {
                matches!(e, Event::ChatPresence(p) if p.source.sender.user == PHONE
                    && p.state == ChatPresence::Composing && p.media == media)
            })
            .await
            .unwrap();
    }

    app.stop().await;
}

#[tokio::test]
async fn bad_chat_queries_name_the_field() {
    let sandbox = Sandbox::start().await.unwrap();
    let app = gateway(Kind::Sqlite, &sandbox).await;
    let (_, key) = app.create_user("picky").await;
    let (status, _) = app.get("/api/v1/session/create?sessionId=main", Some(&key)).await;
    assert_eq!(status, 200);
    let cases = [
        ("/api/v1/chats?sessionId=main&limit=500", "limit"),
        ("/api/v1/chats?sessionId=main&limit=0", "limit"),
        ("/api/v1/chats?sessionId=main&limit=ten", "limit"),
        ("/api/v1/chats?sessionId=main&offset=-1", "offset"),
        ("/api/v1/chats?sessionId=main&sortBy=size", "sortBy"),
        ("/api/v1/chats?sessionId=main&sortOrder=up", "sortOrder"),
        ("/api/v1/chats?sessionId=main&archived=maybe", "archived"),
        ("/api/v1/chats/abc/messages?sessionId=main", "chatId"),
        ("/api/v1/chats/15550009002/messages?sessionId=main&cursor=garbage", "cursor"),
        ("/api/v1/chats/15550009002/messages?sessionId=main&limit=201", "limit"),
        ("/api/v1/chats/15550009002/messages?sessionId=main&type=hologram", "type"),
    ];
    for (path, field) in cases {
        let (status, body) = app.get(path, Some(&key)).await;
        assert_eq!(bad_field(status, &body), field, "{path}: {body}");
    }
    let (status, body) = app.get("/api/v1/chats", Some(&key)).await;
    assert_eq!((status, envelope_code(&body), body["results"][0]["field"].as_str()), (400, 1100, Some("sessionId")));
    let (status, body) = app
        .post("/api/v1/chats/15550009002/presence", Some(&key), json!({"sessionId": "main", "state": "dancing"}))
        .await;
    assert_eq!(bad_field(status, &body), "state", "{body}");
    // Another tenant's session is not found.
    let (_, other) = app.create_user("other").await;
    let (status, body) = app.get("/api/v1/chats?sessionId=main", Some(&other)).await;
    assert_eq!((status, envelope_code(&body)), (404, 1101), "{body}");
    app.stop().await;
}
