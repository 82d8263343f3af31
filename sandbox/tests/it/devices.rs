//! Multi-device behaviour: a sender's other devices get a copy of what it sends
//! (and of what it receives), and logging out unlinks the device.

use crate::common;

use common::{WAIT, init_logging};
use wacore_binary::Jid;
use warest_sandbox::{Sandbox, SandboxEvent, TestClient};
use whatsapp_rust::types::events::Event;

const ALICE: &str = "15550008881";
const BOB: &str = "15550008882";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sent_message_is_synced_to_senders_other_device() {
    init_logging();
    let sandbox = Sandbox::start().await.unwrap();
    let (alice1, bob) = tokio::join!(sandbox.paired_client(ALICE, WAIT), sandbox.paired_client(BOB, WAIT));
    let (alice1, bob) = (alice1.unwrap(), bob.unwrap());
    // A second companion on Alice's account, linked after the first one.
    let alice2 = sandbox.paired_client(ALICE, WAIT).await.unwrap();
    assert_eq!(sandbox.devices(ALICE), vec![1, 2]);

    alice1.client.send_text(Jid::pn(BOB), "from my laptop").await.unwrap();
    bob.wait_for_text("from my laptop", WAIT).await.unwrap();
    let copy = alice2.wait_for_text("from my laptop", WAIT).await.unwrap();
    assert!(copy.source.is_from_me);
    assert_eq!(copy.source.chat.user, BOB);

    // Bob's reply reaches both of Alice's devices.
    bob.client.send_text(Jid::pn(ALICE), "got it").await.unwrap();
    alice1.wait_for_text("got it", WAIT).await.unwrap();
    alice2.wait_for_text("got it", WAIT).await.unwrap();

    alice1.shutdown().await;
    alice2.shutdown().await;
    bob.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_unlinks_the_device() {
    init_logging();
    let sandbox = Sandbox::start().await.unwrap();
    let mut server_events = sandbox.subscribe();
    let alice = sandbox.paired_client(ALICE, WAIT).await.unwrap();
    assert_eq!(sandbox.devices(ALICE), vec![1]);
    assert!(sandbox.lid_of(ALICE).is_some());

    alice.client.logout().await;
    Sandbox::wait_for_event(
        &mut server_events,
        WAIT,
        |e| matches!(e, SandboxEvent::Unlinked { phone, device: 1 } if phone == ALICE),
    )
    .await
    .unwrap();
    assert!(sandbox.devices(ALICE).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_device_from_the_phone_logs_it_out() {
    init_logging();
    let sandbox = Sandbox::start().await.unwrap();
    let (online, offline) = tokio::join!(sandbox.paired_client(ALICE, WAIT), sandbox.paired_client(BOB, WAIT));
    let (online, offline) = (online.unwrap(), offline.unwrap());

    // Connected: told at once.
    sandbox.unlink(ALICE, 1);
    online.wait_for(WAIT, |e| matches!(e, Event::LoggedOut(_))).await.unwrap();
    assert!(sandbox.devices(ALICE).is_empty());

    // Offline: finds out when it comes back.
    let parts = offline.crash_after_shutdown().await;
    sandbox.unlink(BOB, 1);
    let back = TestClient::resume(parts).await.unwrap();
    back.wait_for(WAIT, |e| matches!(e, Event::LoggedOut(_) | Event::ConnectFailure(_))).await.unwrap();
    online.shutdown().await;
    back.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_socket_for_the_same_device_replaces_the_first() {
    init_logging();
    let sandbox = Sandbox::start().await.unwrap();
    let first = sandbox.paired_client(ALICE, WAIT).await.unwrap();
    // Same credentials, second process: start another client on the same store.
    let parts = first.setup();
    let second = TestClient::resume(parts).await.unwrap();
    first.wait_for(WAIT, |e| matches!(e, Event::StreamReplaced(_))).await.unwrap();
    second.wait_for(WAIT, |e| matches!(e, Event::Connected(_))).await.unwrap();
    assert_eq!(sandbox.devices(ALICE), vec![1]);
    first.shutdown().await;
    second.shutdown().await;
}
