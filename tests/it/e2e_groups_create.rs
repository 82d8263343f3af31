//! Creating a group through the API, end to end: the contacts named in it are members on
//! the (sandbox) server and are notified; list, info and participants reflect it. Plus
//! bad input: every malformed field is a 400 naming it, before WhatsApp is asked.

use crate::common;
use crate::groups_support;

use common::{Kind, TestApp, envelope_code};
use groups_support::{TIMEOUT, create_group, delete_json, gateway, get_ok, jid, link, participants};
use serde_json::json;
use warest_sandbox::{Behaviour, Sandbox};

const PHONE: &str = "15550041001";
const ALICE: &str = "15550041002";
const BOB: &str = "15550041003";

#[tokio::test]
async fn created_group_reaches_its_contacts_and_shows_in_list_info_and_participants() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.create_contact(ALICE, Behaviour::Silent).await.unwrap();
    sandbox.create_contact(BOB, Behaviour::Silent).await.unwrap();
    let app = gateway(&sandbox, Kind::Sqlite).await;
    let (_, key) = app.create_user("ops").await;
    link(&app, &sandbox, &key, "main", PHONE).await;
    let alice_mark = sandbox.contact_events_mark(ALICE).unwrap();

    let gid = create_group(&app, &key, "main", "Core Team", &[ALICE, BOB]).await;

    // The contacts are members, as the server tells them, and Alice was notified.
    sandbox.contact_wait_group_note(ALICE, alice_mark, TIMEOUT, &jid(&gid), "create").await.unwrap();
    assert!(sandbox.contact_groups(BOB).await.unwrap().contains(&jid(&gid)));
    let members = sandbox.contact_group_members(ALICE, &jid(&gid)).await.unwrap();
    let creator = members.iter().find(|m| m.phone == PHONE).expect("creator is a member");
    assert!(creator.superadmin);
    assert_eq!(members.len(), 3, "{members:?}");

    // The gateway's own views.
    let list = get_ok(&app, "/api/v1/groups?sessionId=main", &key).await;
    let listed = list["data"].as_array().unwrap().iter().find(|g| g["id"] == gid.as_str()).expect("listed").clone();
    assert_eq!(listed["subject"], "Core Team");
    assert_eq!(listed["participantsCount"], 3);
    assert_eq!(list["phone"], PHONE);

    let info = get_ok(&app, &format!("/api/v1/group/info?sessionId=main&groupId={gid}"), &key).await;
    assert_eq!(info["data"]["subject"], "Core Team");
    assert_eq!(info["data"]["owner"], PHONE);
    assert_eq!(info["data"]["restrict"], false);
    assert_eq!(info["data"]["announce"], false);
    // The raw id (without @g.us) is accepted too.
    let raw = gid.trim_end_matches("@g.us");
    let info = get_ok(&app, &format!("/api/v1/group/info?sessionId=main&groupId={raw}"), &key).await;
    assert_eq!(info["data"]["id"], gid.as_str());

    let people = participants(&app, &key, "main", &gid).await;
    // Sorted by phone: PHONE < ALICE < BOB.
    let want = [(PHONE, true, true), (ALICE, false, false), (BOB, false, false)];
    assert_eq!(people, want.map(|(p, a, s)| (p.to_string(), a, s)).to_vec());
    let r = get_ok(&app, &format!("/api/v1/group/participants?sessionId=main&groupId={gid}"), &key).await;
    let me = r["participants"].as_array().unwrap().iter().find(|p| p["isMe"] == true).unwrap().clone();
    assert_eq!(me["phone"], PHONE);

    // Another tenant cannot reach the session; an unknown group is 404 with the group code.
    let (_, other) = app.create_user("intruder").await;
    let (status, body) = app.get(&format!("/api/v1/group/info?sessionId=main&groupId={gid}"), Some(&other)).await;
    assert_eq!((status, envelope_code(&body)), (404, 1101), "{body}");
    let (status, body) = app.get("/api/v1/group/info?sessionId=main&groupId=120363999999", Some(&key)).await;
    assert_eq!((status, envelope_code(&body)), (404, 4100), "{body}");
}

/// `(status, code, field)` of an answer.
fn bad(status: u16, body: &serde_json::Value) -> (u16, u64, String) {
    (status, envelope_code(body), body["results"][0]["field"].as_str().unwrap_or("<none>").to_string())
}

#[tokio::test]
async fn bad_input_is_a_400_naming_the_field() {
    let app = TestApp::spawn(Kind::Sqlite).await;
    let (_, key) = app.create_user("ops").await;
    let k = Some(key.as_str());
    let field = |f: &str| (400u16, 2001u64, f.to_string());

    let (s, b) = app.post("/api/v1/group/create", k, json!({ "sessionId": "main", "groupName": "  " })).await;
    assert_eq!(bad(s, &b), field("groupName"), "{b}");
    let long = "x".repeat(101);
    let (s, b) = app.post("/api/v1/group/create", k, json!({ "sessionId": "main", "groupName": long })).await;
    assert_eq!(bad(s, &b), field("groupName"), "{b}");
    let many: Vec<String> = (0..257).map(|i| format!("1555{i:07}")).collect();
    let (s, b) = app
        .post("/api/v1/group/create", k, json!({ "sessionId": "main", "groupName": "a", "participants": many }))
        .await;
    assert_eq!(bad(s, &b), field("participants"), "{b}");
    let (s, b) = app
        .post(
            "/api/v1/group/create",
            k,
            json!({ "sessionId": "main", "groupName": "a", "participants": ["15550001111", "bob"] }),
        )
        .await;
    assert_eq!(bad(s, &b), field("participants[1]"), "{b}");
    let (s, b) = app.post("/api/v1/group/create", k, json!({ "sessionId": "main" })).await;
    assert_eq!(bad(s, &b), field("groupName"), "{b}");

    let (s, b) = app.get("/api/v1/group/info?sessionId=main&groupId=abc", k).await;
    assert_eq!(bad(s, &b), field("groupId"), "{b}");
    let (s, b) = app.get("/api/v1/group/info?sessionId=main", k).await;
    assert_eq!(bad(s, &b), field("groupId"), "{b}");
    let (s, b) = app.get("/api/v1/group/participants?sessionId=main&groupId=1@s.whatsapp.net", k).await;
    assert_eq!(bad(s, &b), field("groupId"), "{b}");
    let (s, b) = app.get("/api/v1/group/info?groupId=1203", k).await;
    assert_eq!((s, b["results"][0]["field"].as_str()), (400, Some("sessionId")), "{b}");

    let g = "120363111@g.us";
    let (s, b) = app
        .post("/api/v1/group/participants/add", k, json!({ "sessionId": "main", "groupId": g, "participants": [] }))
        .await;
    assert_eq!(bad(s, &b), field("participants"), "{b}");
    let (s, b) = app
        .post(
            "/api/v1/group/participants/promote",
            k,
            json!({ "sessionId": "main", "groupId": g, "participants": many }),
        )
        .await;
    assert_eq!(bad(s, &b), field("participants"), "{b}");
    let (s, b) = delete_json(
        &app,
        "/api/v1/group/participants/remove",
        &key,
        json!({ "sessionId": "main", "groupId": g, "participants": ["120363@g.us"] }),
    )
    .await;
    assert_eq!(bad(s, &b), field("participants[0]"), "{b}");
    let (s, b) =
        app.post("/api/v1/group/name", k, json!({ "sessionId": "main", "groupId": g, "groupName": long })).await;
    assert_eq!(bad(s, &b), field("groupName"), "{b}");
    let (s, b) = app
        .post(
            "/api/v1/group/description",
            k,
            json!({ "sessionId": "main", "groupId": g, "groupDescription": "d".repeat(2049) }),
        )
        .await;
    assert_eq!(bad(s, &b), field("groupDescription"), "{b}");
    let (s, b) =
        app.post("/api/v1/group/locked", k, json!({ "sessionId": "main", "groupId": g, "locked": "yes" })).await;
    assert_eq!(bad(s, &b), field("locked"), "{b}");
    let (s, b) =
        app.post("/api/v1/group/ephemeral", k, json!({ "sessionId": "main", "groupId": g, "expiration": 5 })).await;
    assert_eq!(bad(s, &b), field("expiration"), "{b}");
    let (s, b) =
        app.post("/api/v1/group/join-via-link", k, json!({ "sessionId": "main", "inviteLink": "not a link" })).await;
    assert_eq!(bad(s, &b), field("inviteLink"), "{b}");
    let (s, b) = app.get("/api/v1/group/join-via-link?sessionId=main&inviteLink=", k).await;
    assert_eq!(bad(s, &b), field("inviteLink"), "{b}");
    let (s, b) =
        app.post("/api/v1/group/picture", k, json!({ "sessionId": "main", "groupId": g, "picture": "%%%" })).await;
    assert_eq!(bad(s, &b), field("picture"), "{b}");
    let png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
    let (s, b) =
        app.post("/api/v1/group/picture", k, json!({ "sessionId": "main", "groupId": g, "picture": png })).await;
    assert_eq!(bad(s, &b), field("picture"), "not a JPEG: {b}");
    let (s, b) = delete_json(&app, "/api/v1/group/leave", &key, json!({})).await;
    assert_eq!(s, 405, "{b}");
    let (s, b) = app.post("/api/v1/group/leave", k, json!({ "sessionId": "main" })).await;
    assert_eq!(bad(s, &b), field("groupId"), "{b}");

    // Well-formed input for a session that does not exist: 404, not 400.
    let (s, b) = app.get(&format!("/api/v1/group/info?sessionId=main&groupId={g}"), k).await;
    assert_eq!((s, envelope_code(&b)), (404, 1101), "{b}");
    app.stop().await;
}
