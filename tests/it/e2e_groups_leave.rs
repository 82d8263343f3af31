//! Leaving and deleting groups, end to end: a leave reaches the members as the session's
//! own removal and the group drops out of the list; a delete removes every other member
//! (they are told), leaves, and forgets the group's stored messages (SQLite and Postgres).

use crate::common;
use crate::groups_support;

use common::{Kind, envelope_code, eventually, kinds};
use groups_support::{TIMEOUT, create_group, delete_json, gateway, get_ok, jid, link, post_ok};
use serde_json::json;
use warest_sandbox::{Behaviour, Sandbox};

const PHONE: &str = "15550045001";
const ALICE: &str = "15550045002";
const BOB: &str = "15550045003";

fn listed(list: &serde_json::Value, gid: &str) -> bool {
    list["data"].as_array().unwrap().iter().any(|g| g["id"] == gid)
}

#[tokio::test]
async fn leaving_tells_the_members_and_drops_the_group() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.create_contact(ALICE, Behaviour::Silent).await.unwrap();
    let app = gateway(&sandbox, Kind::Sqlite).await;
    let (_, key) = app.create_user("ops").await;
    link(&app, &sandbox, &key, "main", PHONE).await;
    let gid = create_group(&app, &key, "main", "To leave", &[ALICE]).await;
    assert!(listed(&get_ok(&app, "/api/v1/groups?sessionId=main", &key).await, &gid));

    let mark = sandbox.contact_events_mark(ALICE).unwrap();
    let r = post_ok(&app, "/api/v1/group/leave", &key, json!({ "sessionId": "main", "groupId": gid })).await;
    assert_eq!(r["status"], "success leave");
    let note = sandbox.contact_wait_group_note(ALICE, mark, TIMEOUT, &jid(&gid), "remove").await.unwrap();
    assert_eq!(note.author.as_deref(), Some(PHONE), "a leave is the member removing itself");
    let members = sandbox.contact_group_members(ALICE, &jid(&gid)).await.unwrap();
    assert!(!members.iter().any(|m| m.phone == PHONE), "{members:?}");

    assert!(!listed(&get_ok(&app, "/api/v1/groups?sessionId=main", &key).await, &gid));
    let (status, body) = app.get(&format!("/api/v1/group/info?sessionId=main&groupId={gid}"), Some(&key)).await;
    assert_eq!((status, envelope_code(&body)), (403, 4101), "{body}");
    // Leaving again: the session is no longer a member.
    let (status, body) =
        app.post("/api/v1/group/leave", Some(&key), json!({ "sessionId": "main", "groupId": gid })).await;
    assert_eq!((status, envelope_code(&body)), (403, 4101), "{body}");
}

#[tokio::test]
async fn deleting_removes_the_members_leaves_and_forgets_the_messages() {
    for kind in kinds() {
        let sandbox = Sandbox::start().await.unwrap();
        sandbox.create_contact(ALICE, Behaviour::Silent).await.unwrap();
        sandbox.create_contact(BOB, Behaviour::Silent).await.unwrap();
        let app = gateway(&sandbox, kind).await;
        let (_, key) = app.create_user("ops").await;
        link(&app, &sandbox, &key, "main", PHONE).await;
        let gid = create_group(&app, &key, "main", "To delete", &[ALICE, BOB]).await;
        let g = jid(&gid);

        // Alice writes in the group; the gateway stores it.
        let alice = sandbox.contact_client(ALICE).unwrap();
        alice.send_text(g.clone(), "hello group").await.unwrap();
        let stored = eventually("the group message to be stored", TIMEOUT, async || {
            let n = app.state.db.count_chat_messages("main", &gid).await.unwrap();
            if n > 0 { Ok(n) } else { Err(n) }
        })
        .await;
        assert!(stored > 0);

        let bob_mark = sandbox.contact_events_mark(BOB).unwrap();
        let (status, body) =
            delete_json(&app, "/api/v1/group/delete", &key, json!({ "sessionId": "main", "groupId": gid })).await;
        assert_eq!((status, envelope_code(&body)), (200, 1000), "{kind:?}: {body}");
        let r = &body["results"][0];
        let mut removed: Vec<&str> =
            r["removedParticipants"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        removed.sort();
        assert_eq!(removed, vec![format!("{ALICE}@s.whatsapp.net"), format!("{BOB}@s.whatsapp.net")], "{r}");
        assert_eq!(r["failedToRemove"], json!([]));
        assert_eq!(r["status"], "success delete group");
        assert!(r["forgottenMessages"].as_u64().unwrap() >= 1, "{r}");

        sandbox.contact_wait_group_note(BOB, bob_mark, TIMEOUT, &g, "remove").await.unwrap();
        assert!(!sandbox.contact_groups(ALICE).await.unwrap().contains(&g));
        assert!(!sandbox.contact_groups(BOB).await.unwrap().contains(&g));
        assert_eq!(app.state.db.count_chat_messages("main", &gid).await.unwrap(), 0);
        assert!(!listed(&get_ok(&app, "/api/v1/groups?sessionId=main", &key).await, &gid));
        app.stop().await;
    }
}

#[tokio::test]
async fn only_an_admin_may_delete() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.create_contact(ALICE, Behaviour::Silent).await.unwrap();
    let app = gateway(&sandbox, Kind::Sqlite).await;
    let (_, key) = app.create_user("ops").await;
    link(&app, &sandbox, &key, "main", PHONE).await;
    // Alice's group, with the session as a plain member.
    let g = sandbox.contact_create_group(ALICE, "Alice's", &[PHONE]).await.unwrap();
    let (status, body) =
        delete_json(&app, "/api/v1/group/delete", &key, json!({ "sessionId": "main", "groupId": g.to_string() })).await;
    assert_eq!((status, envelope_code(&body)), (403, 4101), "{body}");
    // Nothing happened: both members are still there.
    assert_eq!(sandbox.contact_group_members(ALICE, &g).await.unwrap().len(), 2);
}
