//! ProtocolStore conformance, continued: the pending-inbound buffer of the inbound
//! durability hook (store, read, batched writes, replace on re-buffer, expiry).

use whatsapp_rust::wacore::store::traits::{Backend, PendingInboundKey, PendingInboundRow};

use crate::sessions::device_store::now_secs;

async fn pending_inbound_roundtrip(b: &dyn Backend) {
    let (chat, sender) = ("100@g.us", "200@s.whatsapp.net");
    assert_eq!(b.get_pending_inbound(chat, sender, "m1").await.unwrap(), None);
    b.store_pending_inbound(chat, sender, "m1", b"one").await.unwrap();
    assert_eq!(b.get_pending_inbound(chat, sender, "m1").await.unwrap(), Some(b"one".to_vec()));
    // The key is (chat, sender, id): the same id from another sender or chat is another row.
    assert_eq!(b.get_pending_inbound(chat, "300@s.whatsapp.net", "m1").await.unwrap(), None);
    assert_eq!(b.get_pending_inbound("other@g.us", sender, "m1").await.unwrap(), None);
    // Re-buffering (a replayed batch) replaces the copy.
    b.store_pending_inbound(chat, sender, "m1", b"one again").await.unwrap();
    assert_eq!(b.get_pending_inbound(chat, sender, "m1").await.unwrap(), Some(b"one again".to_vec()));
    b.delete_pending_inbound(chat, sender, "m1").await.unwrap();
    assert_eq!(b.get_pending_inbound(chat, sender, "m1").await.unwrap(), None);
    // Deleting what is not there is fine.
    b.delete_pending_inbound(chat, sender, "m1").await.unwrap();
}

async fn pending_inbound_batches(b: &dyn Backend) {
    let (chat, s1, s2) = ("a@s.whatsapp.net", "a@s.whatsapp.net", "b@s.whatsapp.net");
    let rows = [
        PendingInboundRow { chat, sender: s1, id: "x", message: b"1" },
        PendingInboundRow { chat, sender: s2, id: "x", message: b"2" },
        PendingInboundRow { chat, sender: s1, id: "y", message: b"3" },
    ];
    b.store_pending_inbound_batch(&rows).await.unwrap();
    b.store_pending_inbound_batch(&[]).await.unwrap();
    assert_eq!(b.get_pending_inbound(chat, s1, "x").await.unwrap(), Some(b"1".to_vec()));
    assert_eq!(b.get_pending_inbound(chat, s2, "x").await.unwrap(), Some(b"2".to_vec()));
    assert_eq!(b.get_pending_inbound(chat, s1, "y").await.unwrap(), Some(b"3".to_vec()));
    let keys = [PendingInboundKey { chat, sender: s1, id: "x" }, PendingInboundKey { chat, sender: s1, id: "y" }];
    b.delete_pending_inbound_batch(&keys).await.unwrap();
    b.delete_pending_inbound_batch(&[]).await.unwrap();
    assert_eq!(b.get_pending_inbound(chat, s1, "x").await.unwrap(), None);
    assert_eq!(b.get_pending_inbound(chat, s1, "y").await.unwrap(), None);
    assert_eq!(b.get_pending_inbound(chat, s2, "x").await.unwrap(), Some(b"2".to_vec()));
}

async fn pending_inbound_expiry(b: &dyn Backend) {
    b.store_pending_inbound("c", "s", "old", b"o").await.unwrap();
    b.store_pending_inbound("c", "s", "new", b"n").await.unwrap();
    let now = now_secs();
    assert_eq!(b.delete_expired_pending_inbound(now - 3600).await.unwrap(), 0);
    assert_eq!(b.delete_expired_pending_inbound(now + 3600).await.unwrap(), 2);
    assert_eq!(b.get_pending_inbound("c", "s", "old").await.unwrap(), None);
}

conformance!(pending_inbound_roundtrip, pending_inbound_batches, pending_inbound_expiry);
