//! Groups: create one, message it with sender keys, and get answers back; a
//! virtual contact is a member like any other.

use crate::common;

use common::{WAIT, init_logging};
use wacore::types::presence::ReceiptType;
use wacore_binary::Jid;
use warest_sandbox::{Behaviour, Sandbox};
use whatsapp_rust::features::{GroupCreateOptions, GroupParticipantOptions};
use whatsapp_rust::types::events::Event;

const ALICE: &str = "15550012001";
const BOB: &str = "15550012002";
const CAROL: &str = "15550012003";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_create_and_messages_both_ways() {
    init_logging();
    let sandbox = Sandbox::start().await.unwrap();
    let (alice, bob, carol) = tokio::join!(
        sandbox.paired_client(ALICE, WAIT),
        sandbox.paired_client(BOB, WAIT),
        sandbox.create_contact(CAROL, Behaviour::Silent)
    );
    let (alice, bob, _) = (alice.unwrap(), bob.unwrap(), carol.unwrap());

    let created = alice
        .client
        .groups()
        .create_group(
            GroupCreateOptions::builder()
                .subject("sandbox friends")
                .participants(vec![
                    GroupParticipantOptions::from_phone(Jid::pn(BOB)),
                    GroupParticipantOptions::from_phone(Jid::pn(CAROL)),
                ])
                .build(),
        )
        .await
        .unwrap();
    let group = created.metadata.id.clone();
    assert_eq!(created.metadata.subject, "sandbox friends");
    assert_eq!(created.metadata.participants.len(), 3);

    // Alice's first group message: sender-key distribution + skmsg.
    let sent = alice.client.send_text(group.clone(), "hello group").await.unwrap();
    let info = bob.wait_for_text("hello group", WAIT).await.unwrap();
    assert!(info.source.is_group);
    assert_eq!(info.source.chat, group);
    assert_eq!(info.source.sender.user, ALICE);
    let got = sandbox.wait_inbox(CAROL, WAIT, |e| e.text.as_deref() == Some("hello group")).await.unwrap();
    assert_eq!(got.chat, group);
    assert_eq!(got.from, ALICE);
    // Members' delivery receipts reach the author.
    alice
        .wait_for(WAIT, |e| {
            matches!(e, Event::Receipt(r)
                if r.r#type == ReceiptType::Delivered
                    && r.source.chat == group
                    && r.message_ids.contains(&sent.message_id))
        })
        .await
        .unwrap();

    // Bob answers in the group with his own sender key.
    bob.client.send_text(group.clone(), "hi all").await.unwrap();
    let info = alice.wait_for_text("hi all", WAIT).await.unwrap();
    assert_eq!(info.source.chat, group);
    assert_eq!(info.source.sender.user, BOB);
    sandbox.wait_inbox(CAROL, WAIT, |e| e.text.as_deref() == Some("hi all")).await.unwrap();

    // Bob's view of the group comes from the sandbox too.
    let meta = bob.client.groups().get_metadata(&group).await.unwrap();
    assert_eq!(meta.subject, "sandbox friends");

    alice.shutdown().await;
    bob.shutdown().await;
}
