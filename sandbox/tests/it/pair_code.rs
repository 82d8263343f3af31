//! Linking by phone number: a plain whatsapp-rust client asks for a pairing
//! code (`pair_with_code`), the virtual phone of that number enters it, and the
//! device is linked and connected exactly as after a QR scan.

use crate::common;

use common::{WAIT, init_logging};
use warest_sandbox::{Sandbox, SandboxEvent};
use whatsapp_rust::pair_code::PairCodeOptions;
use whatsapp_rust::types::events::Event;

const PHONE: &str = "15550007777";

fn options(phone: &str) -> PairCodeOptions {
    PairCodeOptions { phone_number: phone.to_string(), ..Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_entered_on_the_phone_links_the_device() {
    init_logging();
    let sandbox = Sandbox::start().await.unwrap();
    let mut server = sandbox.subscribe();
    let client = sandbox.client("carol").await.unwrap();
    // Registered and showing QR codes: now it may ask for a code instead.
    client.wait_for_qr(WAIT).await.unwrap();
    let code = client.client.pair_with_code(options(PHONE)).await.expect("the server answers companion_hello");
    assert_eq!(code.len(), 8);
    let ev = client.wait_for(WAIT, |e| matches!(e, Event::PairingCode(_))).await.unwrap();
    let Event::PairingCode(shown) = &*ev else { unreachable!() };
    assert_eq!(shown.code, code);
    Sandbox::wait_for_event(
        &mut server,
        WAIT,
        |e| matches!(e, SandboxEvent::PairCodeRequested { phone } if phone == PHONE),
    )
    .await
    .unwrap();

    let jid = sandbox.link_with_code(PHONE, &code).await.expect("the phone opens the key bundle");
    assert_eq!(jid.user, PHONE);
    // The client verified the pair-success HMAC with the ADV secret it derived
    // in stage 2, so both sides agree on it.
    let ev = client.wait_for(WAIT, |e| matches!(e, Event::PairSuccess(_))).await.unwrap();
    let Event::PairSuccess(ps) = &*ev else { unreachable!() };
    assert_eq!(ps.id, jid);
    client.wait_for(WAIT, |e| matches!(e, Event::Connected(_))).await.unwrap();
    assert_eq!(client.client.pn().map(|j| j.user.to_string()), Some(PHONE.to_string()));
    assert_eq!(sandbox.devices(PHONE), vec![jid.device]);
    assert!(!client.events.snapshot().iter().any(|e| matches!(&**e, Event::PairError(_))));
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_code_or_another_number_does_not_link() {
    init_logging();
    let sandbox = Sandbox::start().await.unwrap();
    let client = sandbox.client("dave").await.unwrap();
    client.wait_for_qr(WAIT).await.unwrap();
    let code = client.client.pair_with_code(options(PHONE)).await.unwrap();

    // Nobody asked for a code for this number.
    assert!(sandbox.link_with_code("15550008888", &code).await.is_err());
    // Not a code at all.
    assert!(sandbox.link_with_code(PHONE, "0000-OOOO").await.is_err());
    // A well-formed but wrong code: the phone cannot open the key bundle.
    let wrong = if code == "ABCDEFGH" { "HGFEDCBA" } else { "ABCDEFGH" };
    let err = sandbox.link_with_code(PHONE, wrong).await.expect_err("a wrong code must not link");
    assert!(err.to_string().contains("does not open"), "{err:#}");
    assert!(sandbox.devices(PHONE).is_empty(), "nothing was linked");

    // The right code still works afterwards.
    sandbox.link_with_code(PHONE, &code).await.unwrap();
    client.wait_for(WAIT, |e| matches!(e, Event::Connected(_))).await.unwrap();
    client.shutdown().await;
}
