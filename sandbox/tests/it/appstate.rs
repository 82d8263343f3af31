//! App-state sync: two plain clients linked to the same phone. What one does
//! through app-state (archive, mute, pin, star, clear) reaches the other as the
//! matching event, through a pushed patch, the server's `server_sync`
//! notification and the other device's fetch.

use crate::common;

use common::{WAIT, init_logging};
use wacore_binary::Jid;
use warest_sandbox::{Sandbox, is_app_state_event};
use whatsapp_rust::types::events::Event;

const PHONE: &str = "15550007001";

/// whatsapp-rust 0.7 drops a `server_sync` that arrives while its own fetch of the same
/// collection is still finishing (`reserve_for_sync` skips "behind an equivalent sync",
/// though that fetch was answered before the new version existed), and nothing fetches
/// again until the next notification. The event a test waits for is dispatched inside that
/// fetch, so the next verb pushed at once can fall into the window (2 runs in 12 did). The
/// pause lets the receiver release its reservation first; no server-side signal follows
/// the release.
const SETTLE: std::time::Duration = std::time::Duration::from_millis(300);
const FRIEND: &str = "15550007002";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_actions_on_one_device_reach_the_other() {
    init_logging();
    let sandbox = Sandbox::start().await.unwrap();
    let first = sandbox.paired_client(PHONE, WAIT).await.unwrap();
    let second = sandbox.observer(PHONE, WAIT).await.unwrap();
    let chat = Jid::pn(FRIEND);
    let actions = first.client.chat_actions();

    actions.archive_chat(&chat, None).await.unwrap();
    let ev = second.wait_for(WAIT, |e| matches!(e, Event::ArchiveUpdate(_))).await.unwrap();
    tokio::time::sleep(SETTLE).await;
    let Event::ArchiveUpdate(a) = &*ev else { unreachable!() };
    assert_eq!(a.jid.user, FRIEND);
    assert_eq!(a.action.archived, Some(true));
    // `from_full_sync` is set here: whatsapp-rust counts any fetch of a collection it
    // holds at version 0 as a full sync, which this first archive is.

    actions.mute_chat(&chat).await.unwrap();
    let ev = second.wait_for(WAIT, |e| matches!(e, Event::MuteUpdate(_))).await.unwrap();
    tokio::time::sleep(SETTLE).await;
    let Event::MuteUpdate(m) = &*ev else { unreachable!() };
    assert_eq!((m.jid.user.as_str(), m.action.muted), (FRIEND, Some(true)));

    actions.pin_chat(&chat).await.unwrap();
    let ev = second.wait_for(WAIT, |e| matches!(e, Event::PinUpdate(_))).await.unwrap();
    tokio::time::sleep(SETTLE).await;
    let Event::PinUpdate(p) = &*ev else { unreachable!() };
    assert_eq!((p.jid.user.as_str(), p.action.pinned), (FRIEND, Some(true)));

    actions.star_message(&chat, None, "3EB0STARRED", false).await.unwrap();
    let ev = second.wait_for(WAIT, |e| matches!(e, Event::StarUpdate(_))).await.unwrap();
    tokio::time::sleep(SETTLE).await;
    let Event::StarUpdate(s) = &*ev else { unreachable!() };
    assert_eq!((s.message_id.as_str(), s.action.starred), ("3EB0STARRED", Some(true)));

    actions.clear_chat(&chat, false, false, None).await.unwrap();
    second.wait_for(WAIT, |e| matches!(e, Event::ClearChatUpdate(c) if c.jid.user == FRIEND)).await.unwrap();
    tokio::time::sleep(SETTLE).await;

    // The other direction: the second device unarchives, the first sees it.
    second.client.chat_actions().unarchive_chat(&chat, None).await.unwrap();
    first.wait_for(WAIT, |e| matches!(e, Event::ArchiveUpdate(a) if a.action.archived == Some(false))).await.unwrap();
    tokio::time::sleep(SETTLE).await;

    // archive/pin/unarchive are regular_low; mute/star/clear regular_high.
    let (low, patches) = sandbox.app_state(PHONE, "regular_low");
    assert_eq!(low, 3);
    let versions: Vec<_> = patches.iter().map(|p| p.version.as_option().and_then(|v| v.version)).collect();
    assert_eq!(versions, [Some(1), Some(2), Some(3)]);
    assert_eq!(sandbox.app_state(PHONE, "regular_high").0, 3);

    first.shutdown().await;
    second.shutdown().await;
}

/// A device linked later gets the whole history at its first sync (from
/// version 0, no snapshot), as full-sync events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_linked_later_syncs_the_history() {
    init_logging();
    let sandbox = Sandbox::start().await.unwrap();
    let first = sandbox.paired_client(PHONE, WAIT).await.unwrap();
    first.client.chat_actions().pin_chat(&Jid::pn(FRIEND)).await.unwrap();

    let late = sandbox.observer(PHONE, WAIT).await.unwrap();
    let ev = late.wait_for(WAIT, |e| matches!(e, Event::PinUpdate(_))).await.unwrap();
    let Event::PinUpdate(p) = &*ev else { unreachable!() };
    assert_eq!((p.jid.user.as_str(), p.action.pinned), (FRIEND, Some(true)));

    first.shutdown().await;
    late.shutdown().await;
}

/// Both devices push to the same collection at once: whichever loses gets a
/// 409 with the winner's patch, applies it and re-sends on the new base, so
/// nothing is lost and both devices end up with both changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_pushes_converge() {
    init_logging();
    let sandbox = Sandbox::start().await.unwrap();
    let first = sandbox.paired_client(PHONE, WAIT).await.unwrap();
    let second = sandbox.observer(PHONE, WAIT).await.unwrap();
    let (a, b) = (Jid::pn("15550007101"), Jid::pn("15550007102"));
    let (fa, sb) = (first.client.chat_actions(), second.client.chat_actions());
    let (r1, r2) = tokio::join!(fa.mute_chat(&a), sb.mute_chat(&b));
    r1.unwrap();
    r2.unwrap();
    assert_eq!(sandbox.app_state(PHONE, "regular_high").0, 2);
    first.wait_for(WAIT, |e| matches!(e, Event::MuteUpdate(m) if m.jid.user == b.user)).await.unwrap();
    second.wait_for(WAIT, |e| matches!(e, Event::MuteUpdate(m) if m.jid.user == a.user)).await.unwrap();

    first.shutdown().await;
    second.shutdown().await;
}

/// A phone that never shared its app-state key: the companion has nothing to
/// sign patches with, so the verb fails on the client and nothing reaches the
/// server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_key_share_app_state_verbs_fail() {
    init_logging();
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.withhold_app_state_key(PHONE);
    // Without the key share the client waits ~10 s before `Connected`.
    let lonely = sandbox.paired_client(PHONE, WAIT).await.unwrap();
    let err = lonely.client.chat_actions().archive_chat(&Jid::pn(FRIEND), None).await.unwrap_err();
    assert!(err.to_string().contains("no app state sync key"), "{err}");
    assert_eq!(sandbox.app_state(PHONE, "regular_low").0, 0);
    assert!(!lonely.events.snapshot().iter().any(|e| is_app_state_event(e)));

    lonely.shutdown().await;
}

/// The server's patches are part of the saved state: a restarted sandbox still serves
/// them (a new port is fine here; only the stored collections are checked).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patches_survive_a_restart() {
    init_logging();
    let dir = std::env::temp_dir().join(format!("warest-sandbox-appstate-{}", rand_suffix()));
    let sandbox = Sandbox::start_persistent(&dir).await.unwrap();
    let first = sandbox.paired_client(PHONE, WAIT).await.unwrap();
    first.client.chat_actions().archive_chat(&Jid::pn(FRIEND), None).await.unwrap();
    let before = sandbox.app_state(PHONE, "regular_low");
    assert_eq!(before.0, 1);
    first.shutdown().await;
    drop(sandbox);

    let again = Sandbox::start_persistent(&dir).await.unwrap();
    let after = again.app_state(PHONE, "regular_low");
    assert_eq!(after.0, 1);
    assert_eq!(after.1, before.1, "the same encrypted patch, version included");
    drop(again);
    let _ = std::fs::remove_dir_all(&dir);
}

fn rand_suffix() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{}-{nanos}", std::process::id())
}
