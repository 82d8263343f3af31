//! Group membership and calls end to end. Group notifications become `group_join` /
//! `group_leave` when the session's own account is added or removed and
//! `group_participants` for other members' changes (seed 000's catalog). A contact's call
//! arrives as a `call` event; with the session's auto-reject flag the call is rejected (the
//! contact's client sees the `<reject>`) and the configured text reaches the caller.

use crate::common;
use crate::webhooks_support;

use std::time::Duration;

use common::{Kind, TestApp};
use serde_json::{Value, json};
use warest_sandbox::{Behaviour, Sandbox};
use webhooks_support::{Hit, Receiver};
use whatsapp_rust::Jid;
use whatsapp_rust::features::{GroupCreateOptions, GroupParticipantOptions};

const WAIT: Duration = Duration::from_secs(60);
const PHONE: &str = "15551250001";
const ALICE: &str = "15559250001";
const BOB: &str = "15559250002";
const CAROL: &str = "15559250003";

async fn gateway(sandbox: &Sandbox) -> TestApp {
    common::wa::sandbox_gateway(Kind::Sqlite, sandbox, &[("WAREST_WEBHOOK_BACKOFF_MS", "50")]).await
}

async fn link(app: &TestApp, sandbox: &Sandbox, key: &str, rx: &Receiver) {
    common::wa::link_session(app, sandbox, key, "main", PHONE).await;
    let (status, body) =
        app.post("/api/v1/session/main/config", Some(key), json!({ "webhookUrl": rx.url("/in") })).await;
    assert_eq!(status, 200, "{body}");
}

fn of(hits: &[Hit], event: &str) -> Vec<Value> {
    hits.iter().map(Hit::json).filter(|b| b["event"] == event).map(|b| b["data"].clone()).collect()
}

fn pn(phone: &str) -> String {
    format!("{phone}@s.whatsapp.net")
}

#[tokio::test]
async fn own_membership_changes_are_join_and_leave_and_others_are_participants() {
    let sandbox = Sandbox::start().await.unwrap();
    for c in [ALICE, BOB, CAROL] {
        sandbox.create_contact(c, Behaviour::Silent).await.unwrap();
    }
    let rx = Receiver::start().await;
    let app = gateway(&sandbox).await;
    let (_, key) = app.create_user("groups").await;
    link(&app, &sandbox, &key, &rx).await;

    let alice = sandbox.contact_client(ALICE).unwrap();
    let options = GroupCreateOptions::builder()
        .subject("team")
        .participants(vec![GroupParticipantOptions::from_phone(Jid::pn(BOB))])
        .build();
    let group = alice.groups().create_group(options).await.unwrap().metadata.id;
    let gid = group.to_string();

    // Alice adds the gateway's account: the session joined.
    alice.groups().add_participants(group.clone(), &[Jid::pn(PHONE)]).await.unwrap();
    let hits = rx.wait_until("group_join", WAIT, |h| !of(h, "group_join").is_empty()).await;
    let join = &of(&hits, "group_join")[0];
    assert_eq!((join["groupId"].as_str(), join["action"].as_str()), (Some(gid.as_str()), Some("add")), "{join}");
    assert_eq!(join["participants"], json!([pn(PHONE)]));
    assert_eq!(join["actor"].as_str().map(|a| a.starts_with(ALICE)), Some(true), "{join}");

    // Others' add and promote: group_participants.
    alice.groups().add_participants(group.clone(), &[Jid::pn(CAROL)]).await.unwrap();
    alice.groups().promote_participants(group.clone(), &[Jid::pn(BOB)]).await.unwrap();
    let hits = rx.wait_until("two participant changes", WAIT, |h| of(h, "group_participants").len() >= 2).await;
    // Delivery order across events is not promised; find each by its action.
    let changes = of(&hits, "group_participants");
    let by_action =
        |a: &str| changes.iter().find(|c| c["action"] == a).unwrap_or_else(|| panic!("no {a}: {changes:?}"));
    assert_eq!(by_action("add")["participants"], json!([pn(CAROL)]));
    assert_eq!(by_action("promote")["participants"], json!([pn(BOB)]));
    assert!(of(&hits, "group_leave").is_empty());

    // Alice removes the gateway's account: the session left.
    alice.groups().remove_participants(group.clone(), &[Jid::pn(PHONE)]).await.unwrap();
    let hits = rx.wait_until("group_leave", WAIT, |h| !of(h, "group_leave").is_empty()).await;
    let leave = &of(&hits, "group_leave")[0];
    assert_eq!((leave["groupId"].as_str(), leave["action"].as_str()), (Some(gid.as_str()), Some("remove")), "{leave}");
    assert_eq!(leave["participants"], json!([pn(PHONE)]));
    assert_eq!(leave["byMe"], false);
    // None of these came as a plain group_update.
    assert!(of(&hits, "group_update").iter().all(|u| u["action"].is_null() || u["groupId"] != gid.as_str()));
    assert_eq!(of(&hits, "group_join").len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_call_is_an_event_and_with_auto_reject_the_caller_is_rejected_and_messaged() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.create_contact(ALICE, Behaviour::Silent).await.unwrap();
    let rx = Receiver::start().await;
    let app = gateway(&sandbox).await;
    let (_, key) = app.create_user("calls").await;
    link(&app, &sandbox, &key, &rx).await;

    let first = sandbox.contact_call(ALICE, PHONE, false).await.unwrap();
    let hits = rx.wait_until("the call", WAIT, |h| of(h, "call").iter().any(|c| c["callId"] == first.as_str())).await;
    let call = of(&hits, "call").into_iter().find(|c| c["callId"] == first.as_str()).unwrap();
    assert_eq!(call["from"].as_str().map(|f| f.starts_with(ALICE)), Some(true), "{call}");
    assert_eq!((call["status"].as_str(), call["isVideo"].as_bool()), (Some("offer"), Some(false)), "{call}");
    assert_eq!((call["isGroup"].as_bool(), call["rejected"].as_bool()), (Some(false), Some(false)), "{call}");
    assert!(call["timestamp"].as_i64().is_some());

    let flags = json!({ "flags": { "rejectCalls": true, "rejectCallMessage": "Sorry, no calls here" } });
    let (status, body) = app.post("/api/v1/session/main/config", Some(&key), flags).await;
    assert_eq!(status, 200, "{body}");
    let second = sandbox.contact_call(ALICE, PHONE, true).await.unwrap();
    let hits =
        rx.wait_until("the second call", WAIT, |h| of(h, "call").iter().any(|c| c["callId"] == second.as_str())).await;
    let call = of(&hits, "call").into_iter().find(|c| c["callId"] == second.as_str()).unwrap();
    assert_eq!((call["isVideo"].as_bool(), call["rejected"].as_bool()), (Some(true), Some(true)), "{call}");
    // The caller's client got the reject, and the message through the send queue.
    let seen = sandbox.wait_call(ALICE, WAIT, |c| c.call_id == second && c.action == "reject").await.unwrap();
    assert!(seen.from.starts_with(PHONE), "{seen:?}");
    sandbox.wait_inbox(ALICE, WAIT, |e| e.text.as_deref() == Some("Sorry, no calls here")).await.unwrap();
    // The first call (flag off) was never rejected.
    assert!(sandbox.calls(ALICE).unwrap().iter().all(|c| !(c.call_id == first && c.action == "reject")));
    app.stop().await;
}
