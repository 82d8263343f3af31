//! M3/M4: two paired clients exchange end-to-end-encrypted 1:1 texts through the
//! sandbox, with server acks and delivery/read receipts; messages sent while a
//! client is offline arrive after it reconnects.

use crate::common;

use common::{WAIT, init_logging};
use wacore::types::presence::ReceiptType;
use wacore_binary::Jid;
use warest_sandbox::{Sandbox, SandboxEvent};
use whatsapp_rust::types::events::Event;

const ALICE: &str = "15550001111";
const BOB: &str = "15550002222";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn m3_text_both_ways_with_acks_and_receipts() {
    init_logging();
    let sandbox = Sandbox::start().await.unwrap();
    let mut server_events = sandbox.subscribe();
    let (alice, bob) = tokio::join!(sandbox.paired_client(ALICE, WAIT), sandbox.paired_client(BOB, WAIT));
    let (alice, bob) = (alice.unwrap(), bob.unwrap());

    // Alice -> Bob: a fresh session (prekey fetch, usync devices, pkmsg).
    let sent = alice.client.send_text(Jid::pn(BOB), "hello bob").await.unwrap();
    let info = bob.wait_for_text("hello bob", WAIT).await.unwrap();
    assert_eq!(info.source.sender.user, ALICE);
    assert!(!info.source.is_from_me);
    assert_eq!(info.id, sent.message_id);

    // The server acked the send, and Bob's device acknowledged delivery.
    alice.wait_for(WAIT, |e| matches!(e, Event::ServerAck(a) if a.id == sent.message_id)).await.unwrap();
    alice.wait_for_receipt(&sent.message_id, ReceiptType::Delivered, WAIT).await.unwrap();
    Sandbox::wait_for_event(&mut server_events, WAIT, |e| {
        matches!(e, SandboxEvent::MessageRelayed { id, to_phone, live: true, .. }
            if *id == sent.message_id && to_phone == BOB)
    })
    .await
    .unwrap();

    // Bob reads it; Alice sees the read receipt.
    bob.client.mark_as_read(&Jid::pn(ALICE), None, &[sent.message_id.as_str()]).await.unwrap();
    alice.wait_for_receipt(&sent.message_id, ReceiptType::Read, WAIT).await.unwrap();

    // Bob -> Alice over the session Alice's pkmsg established.
    let reply = bob.client.send_text(Jid::pn(ALICE), "hi alice").await.unwrap();
    let info = alice.wait_for_text("hi alice", WAIT).await.unwrap();
    assert_eq!(info.source.sender.user, BOB);
    bob.wait_for_receipt(&reply.message_id, ReceiptType::Delivered, WAIT).await.unwrap();

    alice.shutdown().await;
    bob.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecryptable_message_is_retried_through_the_sandbox() {
    init_logging();
    let sandbox = Sandbox::start().await.unwrap();
    let mut server_events = sandbox.subscribe();
    let (alice, bob) = tokio::join!(sandbox.paired_client(ALICE, WAIT), sandbox.paired_client(BOB, WAIT));
    let (alice, bob) = (alice.unwrap(), bob.unwrap());
    // A round trip, so Alice's session with Bob is confirmed and her next
    // message is a plain `msg` rather than another `pkmsg`.
    alice.client.send_text(Jid::pn(BOB), "first").await.unwrap();
    bob.wait_for_text("first", WAIT).await.unwrap();
    bob.client.send_text(Jid::pn(ALICE), "ack").await.unwrap();
    alice.wait_for_text("ack", WAIT).await.unwrap();

    // The next ciphertext to Bob arrives damaged: Bob asks Alice for a retry
    // (a retry receipt relayed by the sandbox) and Alice re-encrypts.
    sandbox.corrupt_next_message_to(BOB, 1);
    let sent = alice.client.send_text(Jid::pn(BOB), "second").await.unwrap();
    Sandbox::wait_for_event(
        &mut server_events,
        WAIT,
        |e| matches!(e, SandboxEvent::ReceiptRelayed { id, kind, .. } if *id == sent.message_id && kind == "retry"),
    )
    .await
    .unwrap();
    let info = bob.wait_for_text("second", WAIT).await.unwrap();
    assert_eq!(info.id, sent.message_id);

    alice.shutdown().await;
    bob.shutdown().await;
}
