//! Participants through the API, end to end: add (one number unknown to WhatsApp, so the
//! answer is partial and names that participant's code), promote, demote, remove. Each
//! change reaches the members' clients and shows in the participant list.

use crate::common;
use crate::groups_support;

use common::{Kind, envelope_code};
use groups_support::{TIMEOUT, create_group, delete_json, gateway, jid, link, participants, post_ok};
use serde_json::json;
use warest_sandbox::{Behaviour, Sandbox};

const PHONE: &str = "15550043001";
const ALICE: &str = "15550043002";
const BOB: &str = "15550043003";
/// A number with no WhatsApp account in the sandbox.
const NOBODY: &str = "15550043999";

#[tokio::test]
async fn participant_changes_reach_members_and_partial_failures_are_reported_per_participant() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.create_contact(ALICE, Behaviour::Silent).await.unwrap();
    sandbox.create_contact(BOB, Behaviour::Silent).await.unwrap();
    let app = gateway(&sandbox, Kind::Sqlite).await;
    let (_, key) = app.create_user("ops").await;
    link(&app, &sandbox, &key, "main", PHONE).await;
    let gid = create_group(&app, &key, "main", "Members", &[ALICE]).await;
    let g = jid(&gid);
    let body = |who: &[&str]| json!({ "sessionId": "main", "groupId": gid, "participants": who });

    // Add Bob and an unknown number: Bob is added, the other fails with 404.
    let alice_mark = sandbox.contact_events_mark(ALICE).unwrap();
    let (status, answer) = app.post("/api/v1/group/participants/add", Some(&key), body(&[BOB, NOBODY])).await;
    assert_eq!((status, envelope_code(&answer)), (200, 1000), "{answer}");
    let r = &answer["results"][0];
    assert_eq!(r["status"], "partial", "{r}");
    assert_eq!(r["addedParticipants"], json!([BOB]));
    let failed = r["failedToAdd"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{r}");
    assert!(failed[0].as_str().unwrap().starts_with(&format!("{NOBODY}: 404")), "{r}");
    let per: Vec<(String, String, Option<u64>)> = r["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["phone"].as_str().unwrap().into(), p["status"].as_str().unwrap().into(), p["code"].as_u64()))
        .collect();
    assert_eq!(per, vec![(BOB.into(), "added".into(), None), (NOBODY.into(), "failed".into(), Some(404))]);
    let note = sandbox.contact_wait_group_note(ALICE, alice_mark, TIMEOUT, &g, "add").await.unwrap();
    assert!(note.detail.contains(BOB), "{note:?}");
    assert!(sandbox.contact_groups(BOB).await.unwrap().contains(&g), "Bob is in the group on the server");

    // Adding Bob again: 409 for him, nothing else.
    let r = post_ok(&app, "/api/v1/group/participants/add", &key, body(&[BOB])).await;
    assert_eq!((r["status"].as_str(), r["participants"][0]["code"].as_u64()), (Some("failed"), Some(409)), "{r}");

    // Promote Bob: Alice is told, Bob is an admin on the server and in the list.
    let r = post_ok(&app, "/api/v1/group/participants/promote", &key, body(&[BOB])).await;
    assert_eq!((r["status"].as_str(), r["participants"][0]["status"].as_str()), (Some("success"), Some("promoted")));
    sandbox.contact_wait_group_note(ALICE, alice_mark, TIMEOUT, &g, "promote").await.unwrap();
    let on_server = sandbox.contact_group_members(ALICE, &g).await.unwrap();
    assert!(on_server.iter().any(|m| m.phone == BOB && m.admin), "{on_server:?}");
    let listed = participants(&app, &key, "main", &gid).await;
    assert!(listed.contains(&(BOB.to_string(), true, false)), "{listed:?}");

    // Demote him again.
    let r = post_ok(&app, "/api/v1/group/participants/demote", &key, body(&[BOB])).await;
    assert_eq!(r["participants"][0]["status"], "demoted", "{r}");
    sandbox.contact_wait_group_note(ALICE, alice_mark, TIMEOUT, &g, "demote").await.unwrap();
    assert!(participants(&app, &key, "main", &gid).await.contains(&(BOB.to_string(), false, false)));

    // Remove Bob and a non-member: Bob goes (and is told), the other fails with 404.
    let bob_mark = sandbox.contact_events_mark(BOB).unwrap();
    let (status, answer) = delete_json(&app, "/api/v1/group/participants/remove", &key, body(&[BOB, NOBODY])).await;
    assert_eq!((status, envelope_code(&answer)), (200, 1000), "{answer}");
    let r = &answer["results"][0];
    assert_eq!(r["removedParticipants"], json!([BOB]), "{r}");
    assert_eq!(r["failedToRemove"].as_array().unwrap().len(), 1, "{r}");
    assert_eq!(r["status"], "partial");
    sandbox.contact_wait_group_note(BOB, bob_mark, TIMEOUT, &g, "remove").await.unwrap();
    assert!(!sandbox.contact_groups(BOB).await.unwrap().contains(&g), "Bob is out on the server");
    let listed = participants(&app, &key, "main", &gid).await;
    assert_eq!(listed.iter().map(|p| p.0.as_str()).collect::<Vec<_>>(), vec![PHONE, ALICE]);

    // The creator cannot be demoted, even by itself: 406 for that participant.
    let r = post_ok(&app, "/api/v1/group/participants/demote", &key, body(&[PHONE])).await;
    assert_eq!(r["participants"][0]["code"], 406, "{r}");
}
