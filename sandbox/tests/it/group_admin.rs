//! Group administration with plain whatsapp-rust clients: membership changes
//! (add, remove, promote, demote, leave) reach the members as the client's own
//! `GroupUpdate` events and change who gets group messages; invite links;
//! subject, description and settings.

use crate::common;

use common::{WAIT, init_logging};
use wacore::stanza::groups::GroupNotificationAction as Action;
use wacore_binary::Jid;
use warest_sandbox::{Sandbox, SandboxEvent, TestClient, texts_of};
use whatsapp_rust::IqError;
use whatsapp_rust::features::{
    GroupCreateOptions, GroupDescription, GroupError, GroupParticipantOptions, GroupSubject, JoinGroupResult,
    PreviousDescription,
};
use whatsapp_rust::types::events::{Event, GroupUpdate};

const ALICE: &str = "15550013001";
const BOB: &str = "15550013002";
const CAROL: &str = "15550013003";
const DAVE: &str = "15550013004";

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

/// Waits for this client's `GroupUpdate` on `group` whose action matches.
async fn update(c: &TestClient, group: &Jid, mut pred: impl FnMut(&Action) -> bool) -> GroupUpdate {
    let ev = c
        .wait_for(WAIT, |e| matches!(e, Event::GroupUpdate(u) if u.group_jid == *group && pred(&u.action)))
        .await
        .unwrap();
    match &*ev {
        Event::GroupUpdate(u) => u.clone(),
        _ => unreachable!("filtered above"),
    }
}

/// True when an add/remove/promote/demote action names exactly these users.
fn names(action: &Action, tag: &str, users: &[&str]) -> bool {
    let participants = match (tag, action) {
        ("add", Action::Add { participants, .. })
        | ("remove", Action::Remove { participants, .. })
        | ("promote", Action::Promote { participants })
        | ("demote", Action::Demote { participants }) => participants,
        _ => return false,
    };
    let got: Vec<&str> = participants.iter().map(|p| p.jid.user.as_str()).collect();
    got == users
}

fn server_code(err: &GroupError) -> Option<u16> {
    match err {
        GroupError::Iq(IqError::ServerError { code, .. }) => Some(*code),
        _ => None,
    }
}

fn saw_text(c: &TestClient, text: &str) -> bool {
    c.events.snapshot().iter().any(|e| texts_of(e).iter().any(|(_, t)| t == text))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_of_three_then_add_remove_promote_demote_leave() {
    init_logging();
    let sandbox = Sandbox::start().await.unwrap();
    let [alice, bob, carol, dave] = clients(&sandbox, [ALICE, BOB, CAROL, DAVE]).await;
    let group = create(&alice, "admins at work", &[BOB, CAROL]).await;

    // A group of three: every member decrypts the creator's message.
    alice.client.send_text(group.clone(), "hello three").await.unwrap();
    for c in [&bob, &carol] {
        let info = c.wait_for_text("hello three", WAIT).await.unwrap();
        assert_eq!(info.source.chat, group);
        assert_eq!(info.source.sender.user, ALICE);
    }

    // A non-admin may not change membership: the whole IQ is refused.
    let err = bob.client.groups().add_participants(group.clone(), &[Jid::pn(DAVE)]).await.unwrap_err();
    assert_eq!(server_code(&err), Some(403), "{err}");
    let err = bob.client.groups().remove_participants(group.clone(), &[Jid::pn(CAROL)]).await.unwrap_err();
    assert_eq!(server_code(&err), Some(403), "{err}");

    // The admin adds Dave; per-participant answers name errors for the rest.
    let res = alice
        .client
        .groups()
        .add_participants(group.clone(), &[Jid::pn(DAVE), Jid::pn(BOB), Jid::pn("15550013999")])
        .await
        .unwrap();
    let outcome: Vec<(String, Option<String>)> =
        res.iter().map(|r| (r.jid.user.to_string(), r.error.clone())).collect();
    assert_eq!(
        outcome,
        vec![
            (DAVE.to_string(), None),
            (BOB.to_string(), Some("409".to_string())),
            ("15550013999".to_string(), Some("404".to_string())),
        ]
    );
    for c in [&bob, &carol, &dave] {
        let u = update(c, &group, |a| names(a, "add", &[DAVE])).await;
        assert_eq!(u.participant.map(|p| p.user.to_string()), Some(ALICE.to_string()));
    }
    // The added member now gets messages, from the admin and from others.
    alice.client.send_text(group.clone(), "welcome dave").await.unwrap();
    dave.wait_for_text("welcome dave", WAIT).await.unwrap();
    bob.client.send_text(group.clone(), "hi dave from bob").await.unwrap();
    for c in [&alice, &carol, &dave] {
        c.wait_for_text("hi dave from bob", WAIT).await.unwrap();
    }

    // Promote Bob: members see it, and Bob may now remove Carol.
    alice.client.groups().promote_participants(group.clone(), &[Jid::pn(BOB)]).await.unwrap();
    for c in [&bob, &carol, &dave] {
        update(c, &group, |a| names(a, "promote", &[BOB])).await;
    }
    let res = bob.client.groups().remove_participants(group.clone(), &[Jid::pn(CAROL)]).await.unwrap();
    assert!(res.iter().all(|r| r.is_ok()), "{res:?}");
    for c in [&alice, &carol, &dave] {
        let u = update(c, &group, |a| names(a, "remove", &[CAROL])).await;
        assert_eq!(u.participant.map(|p| p.user.to_string()), Some(BOB.to_string()));
    }
    // Carol no longer receives the group's messages.
    let mut server = sandbox.subscribe();
    let sent = alice.client.send_text(group.clone(), "carol is gone").await.unwrap();
    for c in [&bob, &dave] {
        c.wait_for_text("carol is gone", WAIT).await.unwrap();
    }
    let mut relayed_to = Vec::new();
    while let Ok(ev) = server.try_recv() {
        if let SandboxEvent::MessageRelayed { id, to_phone, .. } = ev
            && id == sent.message_id
        {
            relayed_to.push(to_phone);
        }
    }
    assert!(relayed_to.contains(&BOB.to_string()) && relayed_to.contains(&DAVE.to_string()), "{relayed_to:?}");
    assert!(!relayed_to.contains(&CAROL.to_string()), "{relayed_to:?}");
    assert!(!saw_text(&carol, "carol is gone"));

    // Demote Bob again: he sees it, and loses the right to remove.
    alice.client.groups().demote_participants(group.clone(), &[Jid::pn(BOB)]).await.unwrap();
    update(&bob, &group, |a| names(a, "demote", &[BOB])).await;
    let err = bob.client.groups().remove_participants(group.clone(), &[Jid::pn(DAVE)]).await.unwrap_err();
    assert_eq!(server_code(&err), Some(403), "{err}");

    // Dave leaves: the others see a removal made by Dave himself.
    dave.client.groups().leave(group.clone()).await.unwrap();
    for c in [&alice, &bob] {
        let u = update(c, &group, |a| names(a, "remove", &[DAVE])).await;
        assert_eq!(u.participant.map(|p| p.user.to_string()), Some(DAVE.to_string()));
    }
    let meta = alice.client.groups().get_metadata(&group).await.unwrap();
    let members: Vec<(String, bool)> =
        meta.participants.iter().map(|p| (p.jid.user.to_string(), p.is_admin())).collect();
    assert_eq!(members, vec![(ALICE.to_string(), true), (BOB.to_string(), false)]);
    // A former member can no longer read the group.
    assert!(dave.client.groups().get_metadata(&group).await.is_err());

    for c in [alice, bob, carol, dave] {
        c.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invite_links_subject_description_and_settings() {
    init_logging();
    let sandbox = Sandbox::start().await.unwrap();
    let [alice, bob, carol] = clients(&sandbox, [ALICE, BOB, CAROL]).await;
    let group = create(&alice, "invites", &[BOB]).await;
    let groups = alice.client.groups();

    // Only admins see the link; reading twice gives the same code, a reset a new one.
    let err = bob.client.groups().get_invite_link(group.clone(), false).await.unwrap_err();
    assert_eq!(server_code(&err), Some(403), "{err}");
    let first = groups.get_invite_link(group.clone(), false).await.unwrap();
    assert!(first.starts_with("https://chat.whatsapp.com/"), "{first}");
    assert_eq!(groups.get_invite_link(group.clone(), false).await.unwrap(), first);
    let second = groups.get_invite_link(group.clone(), true).await.unwrap();
    assert_ne!(second, first);

    // The revoked code no longer works; the new one shows the group and lets Carol in.
    let err = carol.client.groups().join_with_invite_code(&first).await.unwrap_err();
    assert_eq!(server_code(&err), Some(410), "{err}");
    let err = carol.client.groups().get_invite_info("NoSuchCode123").await.unwrap_err();
    assert_eq!(server_code(&err), Some(406), "{err}");
    let info = carol.client.groups().get_invite_info(&second).await.unwrap();
    assert_eq!((info.id.clone(), info.subject.as_str()), (group.clone(), "invites"));
    let joined = carol.client.groups().join_with_invite_code(&second).await.unwrap();
    assert_eq!(joined, JoinGroupResult::Joined(group.clone()));
    for c in [&alice, &bob] {
        let u = update(c, &group, |a| matches!(a, Action::Add { reason: Some(r), .. } if r == "invite")).await;
        assert!(names(&u.action, "add", &[CAROL]), "{:?}", u.action);
    }
    alice.client.send_text(group.clone(), "welcome carol").await.unwrap();
    carol.wait_for_text("welcome carol", WAIT).await.unwrap();

    // Any member may rename an unlocked group; members see it.
    bob.client.groups().set_subject(group.clone(), GroupSubject::new("renamed by bob").unwrap()).await.unwrap();
    for c in [&alice, &carol] {
        let u =
            update(c, &group, |a| matches!(a, Action::Subject { subject, .. } if subject == "renamed by bob")).await;
        assert_eq!(u.participant.map(|p| p.user.to_string()), Some(BOB.to_string()));
    }

    // Description: set, seen by members, and guarded by the previous id.
    let desc = GroupDescription::new("rules: be kind").unwrap();
    groups.set_description(group.clone(), Some(desc), PreviousDescription::Absent).await.unwrap();
    for c in [&bob, &carol] {
        update(c, &group, |a| matches!(a, Action::Description { description: Some(d), .. } if d == "rules: be kind"))
            .await;
    }
    let stale = groups
        .set_description(group.clone(), Some(GroupDescription::new("x").unwrap()), PreviousDescription::Absent)
        .await;
    assert!(matches!(stale, Err(GroupError::DescriptionConflict)), "{stale:?}");
    groups.set_description(group.clone(), None, PreviousDescription::Resolve).await.unwrap();
    update(&bob, &group, |a| matches!(a, Action::Description { description: None, .. })).await;

    // Settings: lock (then only admins rename), announcement, ephemeral timer.
    let err = bob.client.groups().set_locked(group.clone(), true).await.unwrap_err();
    assert_eq!(server_code(&err), Some(403), "{err}");
    groups.set_locked(group.clone(), true).await.unwrap();
    update(&bob, &group, |a| matches!(a, Action::Locked { .. })).await;
    let err = bob.client.groups().set_subject(group.clone(), GroupSubject::new("nope").unwrap()).await.unwrap_err();
    assert_eq!(server_code(&err), Some(403), "{err}");
    groups.set_announce(group.clone(), true).await.unwrap();
    update(&carol, &group, |a| matches!(a, Action::Announce)).await;
    // In announcement mode a non-admin's message is not relayed; an admin's is.
    let mut server = sandbox.subscribe();
    let muted = bob.client.send_text(group.clone(), "bob while muted").await.unwrap();
    // Bob's socket is served in order: once his next (direct) message arrived,
    // the server has already dealt with the muted one.
    bob.client.send_text(Jid::pn(CAROL), "bob direct after muted").await.unwrap();
    carol.wait_for_text("bob direct after muted", WAIT).await.unwrap();
    alice.client.send_text(group.clone(), "admins only now").await.unwrap();
    carol.wait_for_text("admins only now", WAIT).await.unwrap();
    let mut relayed = Vec::new();
    while let Ok(ev) = server.try_recv() {
        if let SandboxEvent::MessageRelayed { id, .. } = ev {
            relayed.push(id);
        }
    }
    assert!(!relayed.contains(&muted.message_id), "{relayed:?}");
    assert!(!saw_text(&carol, "bob while muted"));
    groups.set_ephemeral(group.clone(), 86_400).await.unwrap();
    update(&carol, &group, |a| matches!(a, Action::Ephemeral { expiration: 86_400, .. })).await;

    let meta = carol.client.groups().get_metadata(&group).await.unwrap();
    assert_eq!(meta.subject, "renamed by bob");
    assert_eq!(meta.description, None);
    assert!(meta.is_locked && meta.is_announcement);
    assert_eq!(meta.ephemeral.and_then(|e| e.expiration), Some(86_400));
    assert_eq!(meta.participants.len(), 3);

    for c in [alice, bob, carol] {
        c.shutdown().await;
    }
}
