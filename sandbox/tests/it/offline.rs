//! M4: messages sent while a client is offline (stopped, or killed without a
//! goodbye) are queued by the sandbox and arrive after it comes back.

use crate::common;

use common::{WAIT, init_logging};
use wacore::types::presence::ReceiptType;
use wacore_binary::Jid;
use warest_sandbox::{Sandbox, SandboxEvent, TestClient};
use whatsapp_rust::types::events::Event;

const ALICE: &str = "15550003333";
const BOB: &str = "15550004444";

async fn pair_both(sandbox: &Sandbox) -> (TestClient, TestClient) {
    let (alice, bob) = tokio::join!(sandbox.paired_client(ALICE, WAIT), sandbox.paired_client(BOB, WAIT));
    (alice.unwrap(), bob.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn m4_message_to_stopped_client_arrives_after_restart() {
    init_logging();
    let sandbox = Sandbox::start().await.unwrap();
    let mut server_events = sandbox.subscribe();
    let (alice, bob) = pair_both(&sandbox).await;

    // An online exchange first, so the offline one rides an existing session.
    let first = alice.client.send_text(Jid::pn(BOB), "first").await.unwrap();
    bob.wait_for_text("first", WAIT).await.unwrap();
    alice.wait_for_receipt(&first.message_id, ReceiptType::Delivered, WAIT).await.unwrap();

    // Bob stops; the sandbox notices.
    let setup = bob.crash_after_shutdown().await;
    Sandbox::wait_for_event(
        &mut server_events,
        WAIT,
        |e| matches!(e, SandboxEvent::Disconnected { phone, .. } if phone == BOB),
    )
    .await
    .unwrap();

    let queued = alice.client.send_text(Jid::pn(BOB), "while you were away").await.unwrap();
    Sandbox::wait_for_event(
        &mut server_events,
        WAIT,
        |e| matches!(e, SandboxEvent::MessageRelayed { id, live: false, .. } if *id == queued.message_id),
    )
    .await
    .unwrap();
    alice.wait_for(WAIT, |e| matches!(e, Event::ServerAck(a) if a.id == queued.message_id)).await.unwrap();

    // Bob comes back on the same store and gets the queued message.
    let bob = TestClient::resume(setup).await.unwrap();
    let info = bob.wait_for_text("while you were away", WAIT).await.unwrap();
    assert_eq!(info.source.sender.user, ALICE);
    assert!(info.is_offline, "queued message should be flagged offline");
    alice.wait_for_receipt(&queued.message_id, ReceiptType::Delivered, WAIT).await.unwrap();

    alice.shutdown().await;
    bob.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn m4_message_to_crashed_client_arrives_after_resume() {
    init_logging();
    let sandbox = Sandbox::start().await.unwrap();
    let mut server_events = sandbox.subscribe();
    let (alice, bob) = pair_both(&sandbox).await;

    let first = alice.client.send_text(Jid::pn(BOB), "first").await.unwrap();
    bob.wait_for_text("first", WAIT).await.unwrap();
    alice.wait_for_receipt(&first.message_id, ReceiptType::Delivered, WAIT).await.unwrap();

    // Bob's app dies; its socket is still open, so the sandbox hands the next
    // message to a connection that will never acknowledge it.
    let parts = bob.crash();
    let queued = alice.client.send_text(Jid::pn(BOB), "after the crash").await.unwrap();
    Sandbox::wait_for_event(
        &mut server_events,
        WAIT,
        |e| matches!(e, SandboxEvent::MessageRelayed { id, live: true, .. } if *id == queued.message_id),
    )
    .await
    .unwrap();
    // Then the network drops the dead socket: the unacked message goes back to
    // Bob's offline queue.
    assert!(sandbox.kick(BOB, 1));
    Sandbox::wait_for_event(
        &mut server_events,
        WAIT,
        |e| matches!(e, SandboxEvent::Disconnected { phone, .. } if phone == BOB),
    )
    .await
    .unwrap();
    let bob = TestClient::resume(parts).await.unwrap();
    let info = bob.wait_for_text("after the crash", WAIT).await.unwrap();
    assert_eq!(info.source.sender.user, ALICE);
    alice.wait_for_receipt(&queued.message_id, ReceiptType::Delivered, WAIT).await.unwrap();

    alice.shutdown().await;
    bob.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn m4_kicked_client_reconnects_by_itself_and_gets_the_message() {
    init_logging();
    let sandbox = Sandbox::start().await.unwrap();
    let mut server_events = sandbox.subscribe();
    let (alice, bob) = pair_both(&sandbox).await;
    let (_sub, bob_events) = bob.event_channel();

    // The network drops Bob's socket; his client notices and reconnects (XX
    // again, since the sandbox's cert chain never allows IK).
    assert!(sandbox.kick(BOB, 1));
    Sandbox::wait_for_event(
        &mut server_events,
        WAIT,
        |e| matches!(e, SandboxEvent::Disconnected { phone, .. } if phone == BOB),
    )
    .await
    .unwrap();
    let sent = alice.client.send_text(Jid::pn(BOB), "are you back?").await.unwrap();
    Sandbox::wait_for_event(
        &mut server_events,
        WAIT,
        |e| matches!(e, SandboxEvent::LoggedIn { phone, .. } if phone == BOB),
    )
    .await
    .unwrap();
    let got = tokio::time::timeout(WAIT, async {
        loop {
            let ev = bob_events.recv().await.expect("event stream ended");
            if warest_sandbox::texts_of(&ev).iter().any(|(_, t)| t == "are you back?") {
                return;
            }
        }
    })
    .await;
    assert!(got.is_ok(), "Bob never got the message after reconnecting");
    alice.wait_for_receipt(&sent.message_id, ReceiptType::Delivered, WAIT).await.unwrap();
    alice.shutdown().await;
    bob.shutdown().await;
}

/// A client draining its offline queue acks the lot with aggregate receipts
/// (`<receipt id=first><list><item id=…/>…</list>`); the server settles every id they
/// name, or it would redeliver all but the first at each later login.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn m4_an_aggregate_receipt_settles_every_message_it_names() {
    init_logging();
    let sandbox = Sandbox::start().await.unwrap();
    let mut server_events = sandbox.subscribe();
    let (alice, bob) = pair_both(&sandbox).await;
    let first = alice.client.send_text(Jid::pn(BOB), "first").await.unwrap();
    bob.wait_for_text("first", WAIT).await.unwrap();
    alice.wait_for_receipt(&first.message_id, ReceiptType::Delivered, WAIT).await.unwrap();

    let setup = bob.crash_after_shutdown().await;
    Sandbox::wait_for_event(
        &mut server_events,
        WAIT,
        |e| matches!(e, SandboxEvent::Disconnected { phone, .. } if phone == BOB),
    )
    .await
    .unwrap();
    let mut ids = Vec::new();
    for i in 0..3 {
        let sent = alice.client.send_text(Jid::pn(BOB), &format!("queued {i}")).await.unwrap();
        Sandbox::wait_for_event(
            &mut server_events,
            WAIT,
            |e| matches!(e, SandboxEvent::MessageRelayed { id, live: false, .. } if *id == sent.message_id),
        )
        .await
        .unwrap();
        ids.push(sent.message_id);
    }
    assert!(ids.iter().all(|id| sandbox.unacked(BOB).contains(id)), "queued: {:?}", sandbox.unacked(BOB));

    let bob = TestClient::resume(setup).await.unwrap();
    for i in 0..3 {
        bob.wait_for_text(&format!("queued {i}"), WAIT).await.unwrap();
    }
    // Alice hears of each delivery only from the receipt the server relayed, after it
    // settled the ids on Bob's connection.
    for id in &ids {
        alice.wait_for_receipt(id, ReceiptType::Delivered, WAIT).await.unwrap();
    }
    let left = sandbox.unacked(BOB);
    assert!(ids.iter().all(|id| !left.contains(id)), "still held for redelivery: {left:?}");

    alice.shutdown().await;
    bob.shutdown().await;
}
