//! MsgSecretStore and DeviceStore conformance.

use std::sync::Arc;

use whatsapp_rust::wacore::store::Device;
use whatsapp_rust::wacore::store::traits::{Backend, MsgSecretEntry};

fn secret_entry(msg_id: &str, secret: u8, expires_at: i64, message_ts: i64) -> MsgSecretEntry {
    MsgSecretEntry {
        chat: Arc::from("chat@g.us"),
        sender: Arc::from("sender@lid"),
        msg_id: Arc::from(msg_id),
        secret: [secret; 32],
        expires_at,
        message_ts,
    }
}

async fn msg_secrets(b: &dyn Backend) {
    assert!(b.get_msg_secret("c", "s", "M1").await.unwrap().is_none());
    // The key is all three columns.
    b.put_msg_secret("chatA", "senderX", "M1", &[1; 32]).await.unwrap();
    b.put_msg_secret("chatA", "senderX", "M2", &[2; 32]).await.unwrap();
    b.put_msg_secret("chatA", "senderY", "M1", &[3; 32]).await.unwrap();
    b.put_msg_secret("chatB", "senderX", "M1", &[4; 32]).await.unwrap();
    for (chat, sender, id, v) in [
        ("chatA", "senderX", "M1", 1),
        ("chatA", "senderX", "M2", 2),
        ("chatA", "senderY", "M1", 3),
        ("chatB", "senderX", "M1", 4),
    ] {
        assert_eq!(b.get_msg_secret(chat, sender, id).await.unwrap(), Some(vec![v; 32]));
    }
    b.put_msg_secret("chatA", "senderX", "M1", &[9; 32]).await.unwrap();
    assert_eq!(b.get_msg_secret("chatA", "senderX", "M1").await.unwrap(), Some(vec![9; 32]));
    assert_eq!(b.get_msg_secret_with_ts("chatA", "senderX", "M1").await.unwrap(), Some((vec![9; 32], 0)));

    // A batch counts every entry, duplicates included; the last write of a key wins.
    let stored = b
        .put_msg_secrets(vec![secret_entry("B1", 1, 0, 0), secret_entry("B2", 2, 0, 0), secret_entry("B1", 7, 0, 0)])
        .await
        .unwrap();
    assert_eq!(stored, 3);
    assert_eq!(b.get_msg_secret("chat@g.us", "sender@lid", "B1").await.unwrap(), Some(vec![7; 32]));
    assert_eq!(b.put_msg_secrets(vec![]).await.unwrap(), 0);
}

async fn msg_secret_merge_and_expiry(b: &dyn Backend) {
    let get = |id: &'static str| async move { b.get_msg_secret_with_ts("chat@g.us", "sender@lid", id).await.unwrap() };
    b.put_msg_secrets(vec![
        secret_entry("old", 1, 100, 50),
        secret_entry("never", 2, 0, 0),
        secret_entry("later", 3, 300, 0),
        secret_entry("at_cutoff", 4, 200, 0),
    ])
    .await
    .unwrap();
    assert_eq!(get("old").await, Some((vec![1; 32], 50)));

    // Merge: an earlier deadline never shortens a window; 0 (never) always wins; a 0
    // message time never clobbers a known one, a later one replaces it.
    b.put_msg_secrets(vec![secret_entry("later", 5, 250, 0), secret_entry("old", 6, 150, 0)]).await.unwrap();
    assert_eq!(get("old").await, Some((vec![6; 32], 50)));
    b.put_msg_secrets(vec![secret_entry("old", 6, 90, 70)]).await.unwrap();
    assert_eq!(get("old").await, Some((vec![6; 32], 70)));

    // Cutoff 200: "old" (150) and "at_cutoff" (200, inclusive) go; "later" kept its 300.
    assert_eq!(b.delete_expired_msg_secrets(200).await.unwrap(), 2);
    assert!(get("old").await.is_none());
    assert!(get("at_cutoff").await.is_none());
    assert_eq!(get("later").await, Some((vec![5; 32], 0)));
    assert!(get("never").await.is_some());

    // Re-persisting with "never" makes a deadline row permanent.
    b.put_msg_secrets(vec![secret_entry("later", 5, 0, 0)]).await.unwrap();
    assert_eq!(b.delete_expired_msg_secrets(i64::MAX).await.unwrap(), 0);
    assert!(get("later").await.is_some());
}

fn json(d: &Device) -> serde_json::Value {
    serde_json::to_value(d).unwrap()
}

async fn device(b: &dyn Backend) {
    assert!(!b.exists().await.unwrap());
    assert!(b.load().await.unwrap().is_none());
    assert_eq!(b.create().await.unwrap(), 1);
    assert!(b.exists().await.unwrap());
    let created = b.load().await.unwrap().unwrap();

    let mut device = Device::new();
    device.push_name = "WAREST test".into();
    device.registration_id = 4242;
    device.pn = Some("5511999990000@s.whatsapp.net".parse().unwrap());
    device.lid = Some("100000012345678@lid".parse().unwrap());
    device.edge_routing_info = Some(vec![1, 2, 3]);
    device.next_pre_key_id = 812;
    device.server_has_prekeys = true;
    b.save(&device).await.unwrap();
    let loaded = b.load().await.unwrap().unwrap();
    assert_eq!(json(&loaded), json(&device));
    assert_ne!(json(&loaded), json(&created));

    // Creating again never replaces an existing device.
    b.create().await.unwrap();
    assert_eq!(json(&b.load().await.unwrap().unwrap()), json(&device));
}

conformance!(msg_secrets, msg_secret_merge_and_expiry, device);
