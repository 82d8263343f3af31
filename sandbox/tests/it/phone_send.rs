//! Device 0 sends: the virtual phone of an account writes to another account, Signal-
//! encrypted from its own identity to every device of the recipient (the recipient's
//! phone included), and its own companions get the `deviceSentMessage` copy as their own
//! message. The sessions it starts carry answers back to it.

use crate::common;

use common::{WAIT, init_logging};
use wacore_binary::Jid;
use warest_sandbox::{Behaviour, Sandbox, SandboxEvent};
use whatsapp_rust::types::events::Event;

/// Every text a client has received so far.
fn texts_of_all(client: &warest_sandbox::TestClient) -> Vec<String> {
    client.events.snapshot().iter().flat_map(|e| warest_sandbox::texts_of(e)).map(|(_, t)| t).collect()
}

const ALICE: &str = "15550003111";
const BOB: &str = "15550003222";
const CAROL: &str = "15550003333";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_phone_sends_to_every_device_and_its_companions_see_it_as_their_own() {
    init_logging();
    let sandbox = Sandbox::start().await.unwrap();
    let mut server_events = sandbox.subscribe();
    let (alice, bob) = tokio::join!(sandbox.paired_client(ALICE, WAIT), sandbox.paired_client(BOB, WAIT));
    let (alice, bob) = (alice.unwrap(), bob.unwrap());

    let id = sandbox.phone_send_text(ALICE, BOB, "typed on the phone").await.unwrap();
    let at_bob = bob.wait_for_text("typed on the phone", WAIT).await.unwrap();
    assert_eq!(at_bob.id, id);
    assert_eq!((at_bob.source.sender.user.as_str(), at_bob.source.sender.device), (ALICE, 0));
    assert!(!at_bob.source.is_from_me);
    let at_alice = alice.wait_for_text("typed on the phone", WAIT).await.unwrap();
    assert_eq!(at_alice.id, id);
    assert!(at_alice.source.is_from_me, "the companion files it as its own");
    assert_eq!(at_alice.source.chat.to_non_ad(), Jid::pn(BOB), "in the chat with Bob");
    Sandbox::wait_for_event(
        &mut server_events,
        WAIT,
        |e| matches!(e, SandboxEvent::PhoneReceived { phone, id: got } if phone == BOB && *got == id),
    )
    .await
    .expect("Bob's phone decrypted its copy");

    // Bob answers over the session the phone started: Alice's phone decrypts it, and the
    // phone's next message continues the same sessions.
    let reply = bob.client.send_text(Jid::pn(ALICE), "hi phone").await.unwrap();
    Sandbox::wait_for_event(
        &mut server_events,
        WAIT,
        |e| matches!(e, SandboxEvent::PhoneReceived { phone, id } if phone == ALICE && *id == reply.message_id),
    )
    .await
    .expect("Alice's phone decrypted the answer");
    alice.wait_for_text("hi phone", WAIT).await.unwrap();
    for text in ["second", "third"] {
        sandbox.phone_send_text(ALICE, BOB, text).await.unwrap();
        bob.wait_for_text(text, WAIT).await.unwrap();
        alice.wait_for_text(text, WAIT).await.unwrap();
    }

    // An image: on the media host encrypted, decrypted by a contact's own client; the
    // companion gets the image message as its own.
    sandbox.create_contact(CAROL, Behaviour::Silent).await.unwrap();
    let picture: Vec<u8> = (0..25_000u32).map(|i| (i % 241) as u8).collect();
    let image_id =
        sandbox.phone_send_image(ALICE, CAROL, picture.clone(), "image/png", Some("from the phone")).await.unwrap();
    let got = sandbox.wait_inbox(CAROL, WAIT, |m| m.id == image_id).await.unwrap();
    let media = got.media.expect("Carol downloaded and decrypted the image");
    assert_eq!((media.bytes, media.caption.as_deref()), (picture, Some("from the phone")));
    assert_eq!(got.from, ALICE);
    alice
        .wait_for(WAIT, |e| {
            matches!(e, Event::Messages(b) if b.messages.iter().any(|m| m.info.id == image_id
                && m.info.source.is_from_me && m.message.image_message.is_set()))
        })
        .await
        .expect("the companion's copy of the image");

    // A block holds for the phone as for any sender; its companions still get their copy.
    bob.client.blocking().block(&Jid::pn(ALICE)).await.unwrap();
    let blocked = sandbox.phone_send_text(ALICE, BOB, "blocked").await.unwrap();
    Sandbox::wait_for_event(
        &mut server_events,
        WAIT,
        |e| matches!(e, SandboxEvent::MessageBlocked { id, to_phone, .. } if *id == blocked && to_phone == BOB),
    )
    .await
    .unwrap();
    alice.wait_for_text("blocked", WAIT).await.unwrap();
    assert!(
        !sandbox.unacked(BOB).contains(&blocked) && texts_of_all(&bob).iter().all(|t| t != "blocked"),
        "nothing reached Bob"
    );

    assert!(sandbox.phone_send_text(ALICE, "15550003999", "nobody").await.is_err(), "no such account");
    assert!(sandbox.phone_send_text(ALICE, ALICE, "me").await.is_err(), "not to its own number");
    alice.shutdown().await;
    bob.shutdown().await;
}

/// In a group the phone is a sender like any member's device: its sender key goes to every
/// other device of every member on its 1:1 sessions, the text once as `skmsg`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_phone_writes_to_a_group() {
    init_logging();
    let sandbox = Sandbox::start().await.unwrap();
    let (alice, bob) = tokio::join!(sandbox.paired_client(ALICE, WAIT), sandbox.paired_client(BOB, WAIT));
    let (alice, bob) = (alice.unwrap(), bob.unwrap());
    sandbox.create_contact(CAROL, Behaviour::Silent).await.unwrap();
    let gid = sandbox.contact_create_group(CAROL, "phones", &[ALICE, BOB]).await.unwrap();

    for text in ["hello group from the phone", "and again"] {
        let id = sandbox.phone_send_group_text(ALICE, &gid.to_string(), text).await.unwrap();
        let at_bob = bob.wait_for_text(text, WAIT).await.unwrap();
        assert_eq!((at_bob.id.as_str(), at_bob.source.chat.clone()), (id.as_str(), gid.clone()));
        assert_eq!((at_bob.source.sender.user.as_str(), at_bob.source.sender.device), (ALICE, 0));
        let at_alice = alice.wait_for_text(text, WAIT).await.unwrap();
        assert!(at_alice.source.is_from_me, "the companion files it as its own");
        let at_carol = sandbox.wait_inbox(CAROL, WAIT, |m| m.id == id).await.unwrap();
        assert_eq!((at_carol.text.as_deref(), at_carol.chat.clone()), (Some(text), gid.clone()));
    }
    assert!(sandbox.phone_send_group_text(ALICE, "123-456@g.us", "x").await.is_err(), "no such group");
    alice.shutdown().await;
    bob.shutdown().await;
}
