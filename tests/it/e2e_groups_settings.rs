//! Group settings through the API, end to end: a member's client gets each change as a
//! group notification, and the group's info shows it. Pictures: set, read back byte for
//! byte from the URL the API gives, delete; members are notified of both.

use crate::common;
use crate::groups_support;

use base64::Engine;
use common::{Kind, envelope_code};
use groups_support::{TIMEOUT, create_group, delete_json, gateway, get_ok, jid, link, post_ok};
use serde_json::json;
use warest_sandbox::{Behaviour, MEDIA_HOST, Sandbox};

const PHONE: &str = "15550042001";
const ALICE: &str = "15550042002";

#[tokio::test]
async fn setting_changes_reach_members_and_show_in_info() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.create_contact(ALICE, Behaviour::Silent).await.unwrap();
    let app = gateway(&sandbox, Kind::Sqlite).await;
    let (_, key) = app.create_user("ops").await;
    link(&app, &sandbox, &key, "main", PHONE).await;
    let gid = create_group(&app, &key, "main", "Before", &[ALICE]).await;
    let g = jid(&gid);
    let sel = |extra: serde_json::Value| {
        let mut body = json!({ "sessionId": "main", "groupId": gid });
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };

    let mark = sandbox.contact_events_mark(ALICE).unwrap();
    let r = post_ok(&app, "/api/v1/group/name", &key, sel(json!({ "groupName": "After" }))).await;
    assert_eq!((r["groupName"].as_str(), r["status"].as_str()), (Some("After"), Some("success update group name")));
    let note = sandbox.contact_wait_group_note(ALICE, mark, TIMEOUT, &g, "subject").await.unwrap();
    assert!(note.detail.contains("After"), "{note:?}");
    assert_eq!(note.author.as_deref(), Some(PHONE));

    let r = post_ok(&app, "/api/v1/group/description", &key, sel(json!({ "groupDescription": "Daily standup" }))).await;
    assert_eq!(r["groupDescription"], "Daily standup");
    let note = sandbox.contact_wait_group_note(ALICE, mark, TIMEOUT, &g, "description").await.unwrap();
    assert!(note.detail.contains("Daily standup"), "{note:?}");
    // A second update must name the first one's id; the gateway reads it itself.
    post_ok(&app, "/api/v1/group/description", &key, sel(json!({ "groupDescription": "Weekly sync" }))).await;

    post_ok(&app, "/api/v1/group/locked", &key, sel(json!({ "locked": true }))).await;
    sandbox.contact_wait_group_note(ALICE, mark, TIMEOUT, &g, "locked").await.unwrap();
    post_ok(&app, "/api/v1/group/announcement", &key, sel(json!({ "announcement": true }))).await;
    sandbox.contact_wait_group_note(ALICE, mark, TIMEOUT, &g, "announcement").await.unwrap();
    post_ok(&app, "/api/v1/group/ephemeral", &key, sel(json!({ "expiration": 604800 }))).await;
    sandbox.contact_wait_group_note(ALICE, mark, TIMEOUT, &g, "ephemeral").await.unwrap();

    let info = get_ok(&app, &format!("/api/v1/group/info?sessionId=main&groupId={gid}"), &key).await;
    let d = &info["data"];
    assert_eq!(d["subject"], "After");
    assert_eq!(d["subjectOwner"], PHONE);
    assert_eq!(d["desc"], "Weekly sync");
    assert_eq!(d["descOwner"], PHONE);
    assert_eq!(d["restrict"], true);
    assert_eq!(d["announce"], true);
    assert_eq!(d["ephemeralDuration"], 604800);

    // Locked: Alice (not an admin) can no longer rename it; the server refuses her.
    let alice = sandbox.contact_client(ALICE).unwrap();
    let subject = whatsapp_rust::features::GroupSubject::new("Alice was here").unwrap();
    assert!(alice.groups().set_subject(g.clone(), subject).await.is_err());

    // Back again.
    post_ok(&app, "/api/v1/group/locked", &key, sel(json!({ "locked": false }))).await;
    post_ok(&app, "/api/v1/group/announcement", &key, sel(json!({ "announcement": false }))).await;
    post_ok(&app, "/api/v1/group/ephemeral", &key, sel(json!({ "expiration": 0 }))).await;
    post_ok(&app, "/api/v1/group/description", &key, sel(json!({ "groupDescription": "" }))).await;
    sandbox.contact_wait_group_note(ALICE, mark, TIMEOUT, &g, "unlocked").await.unwrap();
    sandbox.contact_wait_group_note(ALICE, mark, TIMEOUT, &g, "not_announcement").await.unwrap();
    let info = get_ok(&app, &format!("/api/v1/group/info?sessionId=main&groupId={gid}"), &key).await;
    let d = &info["data"];
    assert_eq!((d["restrict"].as_bool(), d["announce"].as_bool()), (Some(false), Some(false)), "{d}");
    assert_eq!(d["ephemeralDuration"], 0);
    assert!(d["desc"].is_null(), "{d}");
}

/// A small JPEG-looking blob (the gateway checks the magic bytes; WhatsApp's server and
/// the sandbox keep the bytes as sent).
fn jpeg(seed: u8) -> Vec<u8> {
    let mut v = vec![0xFF, 0xD8, 0xFF, 0xE0];
    v.extend((0..5000u32).map(|i| (i as u8).wrapping_mul(7).wrapping_add(seed)));
    v
}

#[tokio::test]
async fn picture_set_get_and_delete_reach_members() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.create_contact(ALICE, Behaviour::Silent).await.unwrap();
    let app = gateway(&sandbox, Kind::Sqlite).await;
    let (_, key) = app.create_user("ops").await;
    link(&app, &sandbox, &key, "main", PHONE).await;
    let gid = create_group(&app, &key, "main", "Pictures", &[ALICE]).await;
    let g = jid(&gid);
    let get = format!("/api/v1/group/picture?sessionId=main&groupId={gid}");

    let none = get_ok(&app, &get, &key).await;
    assert!(none["pictureUrl"].is_null(), "{none}");

    let mark = sandbox.contact_events_mark(ALICE).unwrap();
    let bytes = jpeg(3);
    let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
    let set = post_ok(
        &app,
        "/api/v1/group/picture",
        &key,
        json!({ "sessionId": "main", "groupId": gid, "picture": format!("data:image/jpeg;base64,{b64}") }),
    )
    .await;
    let pic_id = set["pictureId"].as_str().unwrap().to_string();
    assert_eq!(set["status"], "success update group picture");
    let note = sandbox.contact_wait_group_note(ALICE, mark, TIMEOUT, &g, "picture:set").await.unwrap();
    assert_eq!(note.author.as_deref(), Some(PHONE));
    assert!(note.detail.contains(&pic_id), "{note:?}");

    let got = get_ok(&app, &get, &key).await;
    assert_eq!(got["pictureId"], pic_id.as_str());
    let url = got["pictureUrl"].as_str().unwrap();
    // The sandbox serves its media host on its own address too.
    let local = url.replace(&format!("https://{MEDIA_HOST}"), &format!("http://{}", sandbox.addr()));
    let served = reqwest::get(&local).await.unwrap().bytes().await.unwrap();
    assert_eq!(served.to_vec(), bytes, "the URL serves the picture that was set");

    // A member sees the same picture.
    let alice = sandbox.contact_client(ALICE).unwrap();
    let seen = alice.contacts().get_profile_picture(&g, false).await.unwrap().expect("a picture");
    assert_eq!(seen.id, pic_id);

    let (status, body) =
        delete_json(&app, "/api/v1/group/picture", &key, json!({ "sessionId": "main", "groupId": gid })).await;
    assert_eq!((status, envelope_code(&body)), (200, 1000), "{body}");
    sandbox.contact_wait_group_note(ALICE, mark, TIMEOUT, &g, "picture:delete").await.unwrap();
    let none = get_ok(&app, &get, &key).await;
    assert!(none["pictureUrl"].is_null(), "{none}");
}
