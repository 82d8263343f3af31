//! Join approval and group pictures with plain whatsapp-rust clients: who may
//! switch approval on, requests by link, the admin's list, approve and reject
//! with their notifications; pictures set, read and deleted, with the
//! `PictureUpdate` members get and the rules on who may do what.

use crate::common;

use common::{WAIT, init_logging};
use wacore::stanza::groups::GroupNotificationAction as Action;
use wacore_binary::Jid;
use warest_sandbox::{Sandbox, TestClient};
use whatsapp_rust::IqError;
use whatsapp_rust::features::{
    GroupCreateOptions, GroupError, GroupParticipantOptions, JoinGroupResult, MembershipApprovalMode,
};
use whatsapp_rust::types::events::Event;

const ALICE: &str = "15550016001";
const BOB: &str = "15550016002";
const CAROL: &str = "15550016003";
const DAVE: &str = "15550016004";

async fn clients<const N: usize>(sandbox: &Sandbox, phones: [&str; N]) -> [TestClient; N] {
    let all = futures_util::future::join_all(phones.iter().map(|p| sandbox.paired_client(p, WAIT))).await;
    let all: Vec<TestClient> = all.into_iter().map(|c| c.unwrap()).collect();
    all.try_into().unwrap_or_else(|_| unreachable!("one client per phone"))
}

async fn create(owner: &TestClient, subject: &str, members: &[&str]) -> Jid {
    let options = GroupCreateOptions::builder()
        .subject(subject)
        .participants(members.iter().map(|m| GroupParticipantOptions::from_phone(Jid::pn(*m))).collect())
        .build();
    owner.client.groups().create_group(options).await.unwrap().metadata.id
}

fn server_code(e: &GroupError) -> Option<u16> {
    match e {
        GroupError::Iq(IqError::ServerError { code, .. }) => Some(*code),
        _ => None,
    }
}

#[tokio::test]
async fn join_requests_wait_for_an_admin() {
    init_logging();
    let sandbox = Sandbox::start().await.unwrap();
    let [alice, bob, carol, dave] = clients(&sandbox, [ALICE, BOB, CAROL, DAVE]).await;
    let group = create(&alice, "approval", &[BOB]).await;

    // Only admins switch approval on; members are told and the metadata shows it.
    let err = bob.client.groups().set_membership_approval(group.clone(), MembershipApprovalMode::On).await.unwrap_err();
    assert_eq!(server_code(&err), Some(403));
    alice.client.groups().set_membership_approval(group.clone(), MembershipApprovalMode::On).await.unwrap();
    bob.wait_for(WAIT, |e| {
        matches!(e, Event::GroupUpdate(u) if u.group_jid == group
            && matches!(u.action, Action::MembershipApprovalMode { enabled: true }))
    })
    .await
    .unwrap();
    assert!(alice.client.groups().get_metadata(&group).await.unwrap().membership_approval);

    // A join by link is a request: pending for Carol and Dave, the admin is told.
    let link = alice.client.groups().get_invite_link(group.clone(), false).await.unwrap();
    let pending = carol.client.groups().join_with_invite_code(&link).await.unwrap();
    assert_eq!(pending, JoinGroupResult::PendingApproval(group.clone()));
    dave.client.groups().join_with_invite_code(&link).await.unwrap();
    alice
        .wait_for(WAIT, |e| {
            matches!(e, Event::GroupUpdate(u) if u.group_jid == group
                && matches!(&u.action, Action::CreatedMembershipRequests { requests, .. }
                    if requests.iter().any(|r| r.jid.user == CAROL)))
        })
        .await
        .unwrap();
    let err = carol.client.groups().get_metadata(&group).await.unwrap_err();
    assert_eq!(server_code(&err), Some(403), "a pending requester is not a member");

    // Only admins list; the list names both.
    let err = bob.client.groups().get_membership_requests(group.clone()).await.unwrap_err();
    assert_eq!(server_code(&err), Some(403));
    let mut listed: Vec<String> = alice
        .client
        .groups()
        .get_membership_requests(group.clone())
        .await
        .unwrap()
        .iter()
        .map(|r| r.jid.user.to_string())
        .collect();
    listed.sort();
    assert_eq!(listed, vec![CAROL, DAVE]);

    // Approve Carol (and Bob, who asked for nothing: 404 for him alone).
    let answers = alice
        .client
        .groups()
        .approve_membership_requests(group.clone(), &[Jid::pn(CAROL), Jid::pn(BOB)])
        .await
        .unwrap();
    let codes: Vec<(String, Option<String>)> =
        answers.iter().map(|r| (r.jid.user.to_string(), r.error.clone())).collect();
    assert_eq!(codes, vec![(CAROL.to_string(), None), (BOB.to_string(), Some("404".to_string()))]);
    carol
        .wait_for(
            WAIT,
            |e| matches!(e, Event::GroupUpdate(u) if u.group_jid == group && matches!(u.action, Action::Add { .. })),
        )
        .await
        .unwrap();
    let members = alice.client.groups().get_metadata(&group).await.unwrap().participants;
    assert!(members.iter().any(|p| p.jid.user == CAROL));

    // Reject Dave: he is told and stays out; nothing is pending any more.
    alice.client.groups().reject_membership_requests(group.clone(), &[Jid::pn(DAVE)]).await.unwrap();
    dave.wait_for(WAIT, |e| {
        matches!(e, Event::GroupUpdate(u) if u.group_jid == group
            && matches!(u.action, Action::RevokedMembershipRequests { .. }))
    })
    .await
    .unwrap();
    assert!(alice.client.groups().get_membership_requests(group.clone()).await.unwrap().is_empty());
    let err = dave.client.groups().get_metadata(&group).await.unwrap_err();
    assert_eq!(server_code(&err), Some(403));
}

#[tokio::test]
async fn group_pictures_are_set_read_and_deleted() {
    init_logging();
    let sandbox = Sandbox::start().await.unwrap();
    let [alice, bob, carol] = clients(&sandbox, [ALICE, BOB, CAROL]).await;
    let group = create(&alice, "pictures", &[BOB]).await;
    assert!(bob.client.contacts().get_profile_picture(&group, false).await.unwrap().is_none());

    // Bob (a member, group not locked) sets it; Alice is told who did.
    let bytes = vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4, 5];
    let set = bob.client.groups().set_profile_picture(group.clone(), bytes.clone()).await.unwrap();
    let ev =
        alice.wait_for(WAIT, |e| matches!(e, Event::PictureUpdate(p) if p.jid == group && !p.removed)).await.unwrap();
    let Event::PictureUpdate(p) = &*ev else { unreachable!("filtered above") };
    assert_eq!(p.author.as_ref().map(|a| a.user.to_string()).as_deref(), Some(BOB));
    assert_eq!(p.picture_id.as_deref(), Some(set.id.as_str()));

    // Read back: the URL serves the bytes; the preview is the same picture.
    let full = alice.client.contacts().get_profile_picture(&group, false).await.unwrap().unwrap();
    let preview = alice.client.contacts().get_profile_picture(&group, true).await.unwrap().unwrap();
    assert_eq!((full.id.as_str(), preview.id.as_str()), (set.id.as_str(), set.id.as_str()));
    let path = full.direct_path.clone().unwrap();
    let served = reqwest_get(&sandbox, &path).await;
    assert_eq!(served, bytes);

    // A non-member may not read it; once locked, a non-admin may not change it.
    assert!(carol.client.contacts().get_profile_picture(&group, false).await.is_err());
    alice.client.groups().set_locked(group.clone(), true).await.unwrap();
    let err = bob.client.groups().remove_profile_picture(group.clone()).await.unwrap_err();
    assert_eq!(server_code(&err), Some(403));

    // The admin deletes it; Bob is told; nothing is left.
    alice.client.groups().remove_profile_picture(group.clone()).await.unwrap();
    bob.wait_for(WAIT, |e| matches!(e, Event::PictureUpdate(p) if p.jid == group && p.removed)).await.unwrap();
    assert!(alice.client.contacts().get_profile_picture(&group, false).await.unwrap().is_none());
}

/// GET on the sandbox's own HTTP port (one request, `Connection: close`).
async fn reqwest_get(sandbox: &Sandbox, path: &str) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(sandbox.addr()).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert!(buf.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&buf[..split]));
    buf[split..].to_vec()
}
