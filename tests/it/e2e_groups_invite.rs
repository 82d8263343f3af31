//! Invite links and join requests, end to end: the link the API gives lets a contact
//! join; a revoked link stops working; a second gateway session previews and joins a
//! contact's group by link; with join approval on, joining becomes a request the admin
//! lists, approves or rejects through the API.

use crate::common;
use crate::groups_support;

use common::{Kind, envelope_code};
use groups_support::{TIMEOUT, create_group, gateway, get_ok, jid, link, participants, post_ok};
use serde_json::json;
use warest_sandbox::{Behaviour, JoinOutcome, Sandbox};

const PHONE: &str = "15550044001";
const PHONE2: &str = "15550044002";
const ALICE: &str = "15550044003";
const CAROL: &str = "15550044004";
const DAVE: &str = "15550044005";
const ERIN: &str = "15550044006";

#[tokio::test]
async fn invite_links_join_requests_and_a_second_session() {
    let sandbox = Sandbox::start().await.unwrap();
    for c in [ALICE, CAROL, DAVE, ERIN] {
        sandbox.create_contact(c, Behaviour::Silent).await.unwrap();
    }
    let app = gateway(&sandbox, Kind::Sqlite).await;
    let (_, key) = app.create_user("ops").await;
    link(&app, &sandbox, &key, "main", PHONE).await;
    link(&app, &sandbox, &key, "second", PHONE2).await;
    let gid = create_group(&app, &key, "main", "Invites", &[ALICE]).await;
    let g = jid(&gid);
    let sel = json!({ "sessionId": "main", "groupId": gid });

    // The link lets Carol in; Alice is told.
    let invite = get_ok(&app, &format!("/api/v1/group/invite?sessionId=main&groupId={gid}"), &key).await;
    let first = invite["inviteLink"].as_str().unwrap().to_string();
    assert!(first.starts_with("https://chat.whatsapp.com/"), "{invite}");
    let mark = sandbox.contact_events_mark(ALICE).unwrap();
    assert_eq!(sandbox.contact_join_via_link(CAROL, &first).await.unwrap(), JoinOutcome::Joined(g.clone()));
    sandbox.contact_wait_group_note(ALICE, mark, TIMEOUT, &g, "add").await.unwrap();
    assert!(participants(&app, &key, "main", &gid).await.iter().any(|p| p.0 == CAROL));

    // Revoke: a new link; the old one no longer works.
    let revoked = post_ok(&app, "/api/v1/group/invite/revoke", &key, sel.clone()).await;
    let second = revoked["inviteLink"].as_str().unwrap().to_string();
    assert_ne!(second, first);
    assert_eq!(revoked["status"], "success revoke invite link");
    assert!(sandbox.contact_join_via_link(DAVE, &first).await.is_err(), "a revoked link is refused");

    // The second session previews the link (without joining), then joins; it is a member
    // but not an admin, so its own membership changes are refused with 403/4101.
    let preview =
        get_ok(&app, &format!("/api/v1/group/join-via-link?sessionId=second&inviteLink={}", urlencode(&second)), &key)
            .await;
    assert_eq!((preview["groupId"].as_str(), preview["groupName"].as_str()), (Some(gid.as_str()), Some("Invites")));
    assert_eq!(preview["participantsCount"], 3, "{preview}");
    let (status, joined) = app
        .post("/api/v1/group/join-via-link", Some(&key), json!({ "sessionId": "second", "inviteLink": second }))
        .await;
    assert_eq!((status, envelope_code(&joined)), (200, 1000), "{joined}");
    assert_eq!(joined["results"][0]["status"], "success joined group");
    assert_eq!(joined["results"][0]["groupId"], gid.as_str());
    sandbox.contact_wait_group_note(ALICE, mark, TIMEOUT, &g, "add").await.unwrap();
    let (status, refused) = app
        .post(
            "/api/v1/group/participants/add",
            Some(&key),
            json!({ "sessionId": "second", "groupId": gid, "participants": [DAVE] }),
        )
        .await;
    assert_eq!((status, envelope_code(&refused)), (403, 4101), "{refused}");

    // Join approval on: Dave's join becomes a request the admin sees, and approves.
    post_ok(
        &app,
        "/api/v1/group/join-approval",
        &key,
        json!({ "sessionId": "main", "groupId": gid, "joinApprovalMode": true }),
    )
    .await;
    let info = get_ok(&app, &format!("/api/v1/group/info?sessionId=main&groupId={gid}"), &key).await;
    assert_eq!(info["data"]["joinApprovalMode"], true);
    assert_eq!(sandbox.contact_join_via_link(DAVE, &second).await.unwrap(), JoinOutcome::Pending(g.clone()));
    assert_eq!(sandbox.contact_join_via_link(ERIN, &second).await.unwrap(), JoinOutcome::Pending(g.clone()));
    let requests =
        get_ok(&app, &format!("/api/v1/group/participants/requests?sessionId=main&groupId={gid}"), &key).await;
    let mut who: Vec<&str> =
        requests["joinRequests"].as_array().unwrap().iter().map(|r| r["phone"].as_str().unwrap()).collect();
    who.sort();
    assert_eq!(who, vec![DAVE, ERIN], "{requests}");
    assert_eq!(requests["joinRequests"][0]["requestMethod"], "invite_link");
    assert!(requests["joinRequests"][0]["requestTime"].as_u64().unwrap() > 0);
    assert!(!participants(&app, &key, "main", &gid).await.iter().any(|p| p.0 == DAVE), "not a member before approval");

    let dave_mark = sandbox.contact_events_mark(DAVE).unwrap();
    let approved = post_ok(
        &app,
        "/api/v1/group/participants/request/approve",
        &key,
        json!({ "sessionId": "main", "groupId": gid, "participants": [DAVE, CAROL] }),
    )
    .await;
    assert_eq!(approved["approvedParticipants"], json!([DAVE]), "{approved}");
    assert_eq!(approved["participants"][1]["code"], 404, "Carol had no pending request: {approved}");
    sandbox.contact_wait_group_note(DAVE, dave_mark, TIMEOUT, &g, "add").await.unwrap();
    assert!(sandbox.contact_groups(DAVE).await.unwrap().contains(&g));

    // Erin is rejected: she is told, is not a member, and no request is left.
    let erin_mark = sandbox.contact_events_mark(ERIN).unwrap();
    let rejected = post_ok(
        &app,
        "/api/v1/group/participants/request/reject",
        &key,
        json!({ "sessionId": "main", "groupId": gid, "participants": [ERIN] }),
    )
    .await;
    assert_eq!(
        (rejected["status"].as_str(), rejected["participants"][0]["status"].as_str()),
        (Some("success"), Some("rejected"))
    );
    sandbox.contact_wait_group_note(ERIN, erin_mark, TIMEOUT, &g, "revoked_membership_requests").await.unwrap();
    assert!(!sandbox.contact_groups(ERIN).await.unwrap().contains(&g));
    let requests =
        get_ok(&app, &format!("/api/v1/group/participants/requests?sessionId=main&groupId={gid}"), &key).await;
    assert_eq!(requests["joinRequests"], json!([]), "{requests}");
}

#[tokio::test]
async fn joining_a_group_that_requires_approval_is_answered_pending() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.create_contact(ALICE, Behaviour::Silent).await.unwrap();
    let app = gateway(&sandbox, Kind::Sqlite).await;
    let (_, key) = app.create_user("ops").await;
    link(&app, &sandbox, &key, "main", PHONE).await;

    // Alice's own group, approval on; she hands out its link.
    let g = sandbox.contact_create_group(ALICE, "Alice's club", &[]).await.unwrap();
    let alice = sandbox.contact_client(ALICE).unwrap();
    alice
        .groups()
        .set_membership_approval(g.clone(), whatsapp_rust::features::MembershipApprovalMode::On)
        .await
        .unwrap();
    let link_url = alice.groups().get_invite_link(g.clone(), false).await.unwrap();

    let mark = sandbox.contact_events_mark(ALICE).unwrap();
    let (status, answer) = app
        .post("/api/v1/group/join-via-link", Some(&key), json!({ "sessionId": "main", "inviteLink": link_url }))
        .await;
    assert_eq!((status, envelope_code(&answer)), (200, 1001), "{answer}");
    assert_eq!(answer["results"][0]["status"], "pending approval to join");
    // The admin's client learns of the request.
    let note = sandbox.contact_wait_group_note(ALICE, mark, TIMEOUT, &g, "created_membership_requests").await.unwrap();
    assert!(note.detail.contains(PHONE), "{note:?}");
    let pending = alice.groups().get_membership_requests(g.clone()).await.unwrap();
    assert_eq!(pending.iter().map(|r| r.jid.user.to_string()).collect::<Vec<_>>(), vec![PHONE.to_string()]);

    // Before approval the session is not a member: the group's info is refused (403/4101).
    let (status, body) = app.get(&format!("/api/v1/group/info?sessionId=main&groupId={g}"), Some(&key)).await;
    assert_eq!((status, envelope_code(&body)), (403, 4101), "{body}");
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
