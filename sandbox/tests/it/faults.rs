//! Fault injection against plain whatsapp-rust clients: a dropped connection
//! reconnects and loses nothing, refused logins recover, and each terminal
//! fault (logout, conflict, ban, outdated client) reaches the client as the
//! event whatsapp-rust makes of it.

use crate::common;

use std::time::{Duration, Instant};

use common::{WAIT, init_logging};
use wacore_binary::Jid;
use warest_sandbox::{Fault, Sandbox, SandboxEvent, TestClient};
use whatsapp_rust::types::events::Event;

const ALICE: &str = "15550005551";
const BOB: &str = "15550005552";

async fn pair_both(sandbox: &Sandbox) -> (TestClient, TestClient) {
    let (alice, bob) = tokio::join!(sandbox.paired_client(ALICE, WAIT), sandbox.paired_client(BOB, WAIT));
    (alice.unwrap(), bob.unwrap())
}

fn device_of(c: &TestClient) -> u16 {
    c.client.pn().expect("paired").device
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_reconnects_and_loses_nothing() {
    init_logging();
    let sandbox = Sandbox::start().await.unwrap();
    let mut server = sandbox.subscribe();
    let (alice, bob) = pair_both(&sandbox).await;
    let first = alice.client.send_text(Jid::pn(BOB), "before").await.unwrap();
    bob.wait_for_text("before", WAIT).await.unwrap();
    let _ = first;

    // Bob's network drops; while he is away Alice writes twice.
    let mark = bob.events.mark();
    assert!(sandbox.inject(BOB, device_of(&bob), Fault::Drop).unwrap(), "bob was connected");
    Sandbox::wait_for_event(
        &mut server,
        WAIT,
        |e| matches!(e, SandboxEvent::Disconnected { phone, .. } if phone == BOB),
    )
    .await
    .unwrap();
    for text in ["while away 1", "while away 2"] {
        alice.client.send_text(Jid::pn(BOB), text).await.unwrap();
    }
    // He reconnects on his own and gets both.
    bob.events.wait_for_after(mark, WAIT, |e| matches!(e, Event::Disconnected(_))).await.unwrap();
    bob.events.wait_for_after(mark, WAIT, |e| matches!(e, Event::Connected(_))).await.unwrap();
    bob.wait_for_text("while away 1", WAIT).await.unwrap();
    bob.wait_for_text("while away 2", WAIT).await.unwrap();
    alice.shutdown().await;
    bob.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_logins_recover_when_the_refusal_ends() {
    init_logging();
    let sandbox = Sandbox::start().await.unwrap();
    let alice = sandbox.paired_client(ALICE, WAIT).await.unwrap();
    let mut server = sandbox.subscribe();
    let mark = alice.events.mark();
    let started = Instant::now();
    let refusal = Duration::from_secs(3);
    sandbox.inject(ALICE, device_of(&alice), Fault::RefuseLogins(refusal)).unwrap();
    // At least one login is refused with a 503 the client retries.
    alice
        .events
        .wait_for_after(mark, WAIT, |e| matches!(e, Event::ConnectFailure(f) if f.reason.should_reconnect()))
        .await
        .unwrap();
    Sandbox::wait_for_event(&mut server, WAIT, |e| matches!(e, SandboxEvent::LoggedIn { phone, .. } if phone == ALICE))
        .await
        .unwrap();
    assert!(started.elapsed() >= refusal, "a login got through during the refusal");
    alice.events.wait_for_after(mark, WAIT, |e| matches!(e, Event::Connected(_))).await.unwrap();
    assert!(!alice.events.snapshot().iter().any(|e| matches!(&**e, Event::LoggedOut(_))));
    alice.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_can_be_delayed_or_dropped_while_messages_still_flow() {
    init_logging();
    let sandbox = Sandbox::start().await.unwrap();
    let (alice, bob) = pair_both(&sandbox).await;
    let dev = device_of(&alice);

    let delay = Duration::from_millis(800);
    sandbox.inject(ALICE, dev, Fault::DelayAcks(delay)).unwrap();
    let started = Instant::now();
    let sent = alice.client.send_text(Jid::pn(BOB), "slow ack").await.unwrap();
    alice.wait_for(WAIT, |e| matches!(e, Event::ServerAck(a) if a.id == sent.message_id)).await.unwrap();
    assert!(started.elapsed() >= delay, "ack came after {:?}", started.elapsed());
    bob.wait_for_text("slow ack", WAIT).await.unwrap();

    sandbox.clear_faults(ALICE, dev);
    sandbox.inject(ALICE, dev, Fault::DropAcks).unwrap();
    let mut server = sandbox.subscribe();
    let lost = alice.client.send_text(Jid::pn(BOB), "no ack").await.unwrap();
    Sandbox::wait_for_event(
        &mut server,
        WAIT,
        |e| matches!(e, SandboxEvent::AckDropped { id, .. } if *id == lost.message_id),
    )
    .await
    .unwrap();
    bob.wait_for_text("no ack", WAIT).await.unwrap();
    // The message is through and delivered, yet its ack never came.
    assert!(
        alice
            .wait_for(Duration::from_secs(1), |e| matches!(e, Event::ServerAck(a) if a.id == lost.message_id))
            .await
            .is_err()
    );

    sandbox.clear_faults(ALICE, dev);
    let back = alice.client.send_text(Jid::pn(BOB), "acked again").await.unwrap();
    alice.wait_for(WAIT, |e| matches!(e, Event::ServerAck(a) if a.id == back.message_id)).await.unwrap();
    alice.shutdown().await;
    bob.shutdown().await;
}

/// Which client event a fault must produce.
type Expected = fn(&Event) -> bool;

/// Each terminal fault and the event the client turns it into.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminal_faults_reach_the_client_as_their_events() {
    init_logging();
    let sandbox = Sandbox::start().await.unwrap();
    let cases: [(&str, Fault, Expected); 4] = [
        ("15550006601", Fault::Logout, |e| matches!(e, Event::LoggedOut(_))),
        ("15550006602", Fault::Conflict, |e| matches!(e, Event::StreamReplaced(_))),
        (
            "15550006603",
            Fault::TempBan(Duration::from_secs(3600)),
            |e| matches!(e, Event::TemporaryBan(b) if b.expire.num_seconds() > 3500 && b.expire.num_seconds() <= 3600),
        ),
        ("15550006604", Fault::ClientOutdated, |e| matches!(e, Event::ClientOutdated(_))),
    ];
    for (phone, fault, expected) in cases {
        let client = sandbox.paired_client(phone, WAIT).await.unwrap();
        let mark = client.events.mark();
        sandbox.inject(phone, device_of(&client), fault).unwrap();
        client.events.wait_for_after(mark, WAIT, expected).await.unwrap_or_else(|e| panic!("{fault:?}: {e:#}"));
        // None of them is a plain disconnect the client keeps retrying.
        client
            .events
            .wait_for_after(mark, Duration::from_millis(1500), |e| matches!(e, Event::Connected(_)))
            .await
            .expect_err("the client must not come back");
        client.shutdown().await;
    }
    assert!(sandbox.devices("15550006601").is_empty(), "logout unlinks the device");
    assert_eq!(sandbox.devices("15550006603").len(), 1, "a ban keeps the device linked");
    assert!(sandbox.inject("15550009999", 1, Fault::Drop).is_err(), "unknown devices are refused");
}
