//! M1/M2: a real whatsapp-rust client gets QR refs from the sandbox, is linked
//! through the `link` hook, reconnects after the 515 and logs in.

use crate::common;

use common::{WAIT, init_logging};
use warest_sandbox::{Sandbox, SandboxEvent};
use whatsapp_rust::types::events::Event;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn m1_client_handshakes_and_shows_qr() {
    init_logging();
    let sandbox = Sandbox::start().await.unwrap();
    let client = sandbox.client("alice").await.unwrap();
    let qr = client.wait_for_qr(WAIT).await.unwrap();
    // ref, noise key, identity key, ADV secret, client type.
    assert_eq!(qr.split(',').count(), 5, "unexpected QR payload {qr}");
    assert!(qr.starts_with("sandbox-ref-"));
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn m2_link_pairs_reconnects_and_connects() {
    init_logging();
    let sandbox = Sandbox::start().await.unwrap();
    let mut server_events = sandbox.subscribe();
    let client = sandbox.client("alice").await.unwrap();
    let qr = client.wait_for_qr(WAIT).await.unwrap();

    let jid = sandbox.link(&qr, "15550001111").unwrap();
    assert_eq!(jid.user, "15550001111");

    let ev = client.wait_for(WAIT, |e| matches!(e, Event::PairSuccess(_))).await.unwrap();
    let Event::PairSuccess(ps) = &*ev else { unreachable!() };
    assert_eq!(ps.id, jid);
    Sandbox::wait_for_event(
        &mut server_events,
        WAIT,
        |e| matches!(e, SandboxEvent::Linked { phone, .. } if phone == "15550001111"),
    )
    .await
    .unwrap();
    Sandbox::wait_for_event(
        &mut server_events,
        WAIT,
        |e| matches!(e, SandboxEvent::LoggedIn { phone, .. } if phone == "15550001111"),
    )
    .await
    .unwrap();
    client.wait_for(WAIT, |e| matches!(e, Event::Connected(_))).await.unwrap();
    assert!(client.client.is_logged_in());
    assert_eq!(client.client.pn().map(|j| j.user.to_string()), Some("15550001111".into()));
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_sandbox_disconnects_its_clients() {
    init_logging();
    let sandbox = Sandbox::start().await.unwrap();
    let client = sandbox.paired_client("15550001112", WAIT).await.unwrap();
    let mark = client.events.mark();
    drop(sandbox);
    client.events.wait_for_after(mark, WAIT, |e| matches!(e, Event::Disconnected(_))).await.unwrap();
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_link_is_refused_and_undone() {
    init_logging();
    let sandbox = Sandbox::start().await.unwrap();
    let mut server_events = sandbox.subscribe();
    let client = sandbox.client("mallory").await.unwrap();
    let qr = client.wait_for_qr(WAIT).await.unwrap();

    // Same companion, wrong ADV secret: the HMAC cannot verify.
    let mut fields: Vec<String> = qr.split(',').map(str::to_string).collect();
    fields[3] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into();
    sandbox.link(&fields.join(","), "15550001113").unwrap();
    client.wait_for(WAIT, |e| matches!(e, Event::PairError(_))).await.unwrap();
    // The half-made device is gone, so nobody would encrypt to it.
    Sandbox::wait_for_event(
        &mut server_events,
        WAIT,
        |e| matches!(e, SandboxEvent::PairingRejected { phone, .. } if phone == "15550001113"),
    )
    .await
    .unwrap();
    assert!(sandbox.devices("15550001113").is_empty());

    // The genuine scan still works.
    sandbox.link(&qr, "15550001113").unwrap();
    client.wait_for(WAIT, |e| matches!(e, Event::Connected(_))).await.unwrap();
    client.shutdown().await;
}
