//! Presence: a subscriber learns the target's current state and its changes.

use crate::common;

use common::{WAIT, init_logging};
use wacore_binary::Jid;
use warest_sandbox::Sandbox;
use whatsapp_rust::types::events::Event;

const ALICE: &str = "15550009991";
const BOB: &str = "15550009992";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_subscription_sees_available_then_unavailable() {
    init_logging();
    let sandbox = Sandbox::start().await.unwrap();
    let (alice, bob) = tokio::join!(sandbox.paired_client(ALICE, WAIT), sandbox.paired_client(BOB, WAIT));
    let (alice, bob) = (alice.unwrap(), bob.unwrap());

    // Bob announced `available` when he came online (paired_client does that).
    alice.client.presence().subscribe(Jid::pn(BOB)).await.unwrap();
    alice.wait_for(WAIT, |e| matches!(e, Event::Presence(p) if p.from.user == BOB && !p.unavailable)).await.unwrap();

    bob.client.presence().set_unavailable().await.unwrap();
    alice.wait_for(WAIT, |e| matches!(e, Event::Presence(p) if p.from.user == BOB && p.unavailable)).await.unwrap();

    alice.shutdown().await;
    bob.shutdown().await;
}
