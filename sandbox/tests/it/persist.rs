//! A sandbox restarted on the same data directory keeps the network: linked clients
//! log in again without a QR, stanzas queued for an offline device are delivered, and
//! virtual contacts come back (as a new device of the same account).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::eventually;
use wacore::types::events::Event;
use wacore_binary::Jid;
use warest_sandbox::{Behaviour, Sandbox, SandboxEvent, SandboxOptions, TestClient};

const WAIT: Duration = Duration::from_secs(30);

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("warest-sbx-persist-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
}

/// Starts on `dir` and `addr` again; the old listener may take a moment to go.
async fn restart(dir: &Path, addr: std::net::SocketAddr) -> Sandbox {
    eventually(format!("port {addr} to come free"), WAIT, async || {
        let opts = SandboxOptions { listen: Some(addr), data_dir: Some(dir.to_path_buf()), ..Default::default() };
        match Sandbox::start_with(opts).await {
            Ok(s) => Ok(s),
            Err(e) if format!("{e:#}").contains("cannot listen") => Err(format!("{e:#}")),
            Err(e) => panic!("restart failed: {e:#}"),
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_sandbox_keeps_linked_clients_linked_and_queued_messages() {
    let dir = temp_dir();
    let sandbox = Sandbox::start_persistent(&dir).await.unwrap();
    let addr = sandbox.addr();
    let alice = sandbox.paired_client("15550001111", WAIT).await.unwrap();
    let bob = sandbox.paired_client("15550002222", WAIT).await.unwrap();
    sandbox.create_contact("15550003333", Behaviour::Echo).await.unwrap();
    let contact_devices = sandbox.devices("15550003333");

    // Alice's phone (device 0) writes to Bob over a session it keeps in memory only.
    sandbox.phone_send_text("15550001111", "15550002222", "from the phone").await.unwrap();
    bob.wait_for_text("from the phone", WAIT).await.unwrap();

    // Bob goes away; Alice writes to him, so the message waits in his queue.
    let bob_setup = bob.crash_after_shutdown().await;
    let mut events = sandbox.subscribe();
    alice.client.send_text(Jid::pn("15550002222"), "while you were away").await.unwrap();
    Sandbox::wait_for_event(
        &mut events,
        WAIT,
        |e| matches!(e, SandboxEvent::MessageRelayed { to_phone, live: false, .. } if to_phone == "15550002222"),
    )
    .await
    .unwrap();
    let alice_setup = alice.crash_after_shutdown().await;
    drop(sandbox);
    assert!(dir.join("state.json").exists());

    let sandbox = restart(&dir, addr).await;
    assert_eq!(sandbox.contact_list(), [("15550003333".to_string(), Behaviour::Echo)]);
    let recreated = sandbox.devices("15550003333");
    assert_eq!(recreated.len(), 1, "the contact runs as exactly one device");
    assert!(!contact_devices.contains(&recreated[0]), "its old device was replaced");

    let mut setup = bob_setup;
    setup.http = sandbox.http_client();
    let bob = TestClient::resume(setup).await.unwrap();
    bob.wait_for(WAIT, |e| matches!(e, Event::Connected(_))).await.unwrap();
    bob.wait_for_text("while you were away", WAIT).await.unwrap();
    assert!(
        !bob.events.snapshot().iter().any(|e| matches!(**e, Event::PairingQrCode(_))),
        "a linked client must not be asked to pair again"
    );

    // The restarted phone lost its sessions: it starts new ones from the bundles the
    // server kept, which Bob takes over his old one; Alice's copy waits in her queue.
    sandbox.phone_send_text("15550001111", "15550002222", "phone after restart").await.unwrap();
    bob.wait_for_text("phone after restart", WAIT).await.unwrap();

    // Alice comes back too and still reaches the re-created contact, which answers.
    let mut setup = alice_setup;
    setup.http = sandbox.http_client();
    let alice = TestClient::resume(setup).await.unwrap();
    alice.wait_for(WAIT, |e| matches!(e, Event::Connected(_))).await.unwrap();
    let copy = alice.wait_for_text("phone after restart", WAIT).await.unwrap();
    assert!(copy.source.is_from_me);
    alice.client.send_text(Jid::pn("15550003333"), "still there?").await.unwrap();
    alice.wait_for_text("still there?", WAIT).await.unwrap();

    bob.shutdown().await;
    alice.shutdown().await;
    drop(sandbox);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn an_unreadable_state_file_is_an_error_not_a_fresh_network() {
    let dir = temp_dir();
    std::fs::write(dir.join("state.json"), b"{ not json").unwrap();
    let err = Sandbox::start_persistent(&dir).await.err().expect("a damaged state file must not be ignored");
    assert!(format!("{err:#}").contains("state.json"), "{err:#}");
    let _ = std::fs::remove_dir_all(&dir);
}
