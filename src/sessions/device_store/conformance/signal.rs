//! SignalStore conformance: identities, sessions, prekeys, signed prekeys, sender keys.

use std::sync::Arc;

use whatsapp_rust::bytes::Bytes;
use whatsapp_rust::wacore::store::traits::Backend;

async fn identities(b: &dyn Backend) {
    let addr = "5511000000001:0@s.whatsapp.net";
    assert_eq!(b.load_identity(addr).await.unwrap(), None);
    b.put_identity(addr, [1; 32]).await.unwrap();
    assert_eq!(b.load_identity(addr).await.unwrap(), Some([1; 32]));
    b.put_identity(addr, [2; 32]).await.unwrap();
    assert_eq!(b.load_identity(addr).await.unwrap(), Some([2; 32]));
    b.delete_identity(addr).await.unwrap();
    assert_eq!(b.load_identity(addr).await.unwrap(), None);

    let (x, y): (Arc<str>, Arc<str>) = ("x@lid".into(), "y@lid".into());
    b.put_identities_batch(&[(x.clone(), [3; 32]), (y.clone(), [4; 32])]).await.unwrap();
    assert_eq!(b.load_identity(&x).await.unwrap(), Some([3; 32]));
    assert_eq!(b.load_identity(&y).await.unwrap(), Some([4; 32]));
}

async fn sessions(b: &dyn Backend) {
    let addr = "100000012345678:3@lid";
    assert!(b.get_session(addr).await.unwrap().is_none());
    assert!(!b.has_session(addr).await.unwrap());
    b.put_session(addr, b"one").await.unwrap();
    assert_eq!(b.get_session(addr).await.unwrap().unwrap(), Bytes::from_static(b"one"));
    assert!(b.has_session(addr).await.unwrap());
    b.put_session(addr, b"two").await.unwrap();
    assert_eq!(b.get_session(addr).await.unwrap().unwrap(), Bytes::from_static(b"two"));
    b.delete_session(addr).await.unwrap();
    assert!(!b.has_session(addr).await.unwrap());

    let first: Arc<str> = "15550000001:1@s.whatsapp.net".into();
    let second: Arc<str> = "15550000002:2@s.whatsapp.net".into();
    b.put_sessions_batch(&[
        (first.clone(), Bytes::from_static(b"first")),
        (second.clone(), Bytes::from_static(b"second")),
    ])
    .await
    .unwrap();
    b.put_sessions_batch(&[(first.clone(), Bytes::from_static(b"updated"))]).await.unwrap();
    assert_eq!(b.get_session(&first).await.unwrap().unwrap(), Bytes::from_static(b"updated"));
    assert_eq!(b.get_session(&second).await.unwrap().unwrap(), Bytes::from_static(b"second"));
    b.put_sessions_batch(&[]).await.unwrap();
}

async fn signal_state_for_user(b: &dyn Backend) {
    let user = "5511999990000";
    assert!(!b.has_signal_state_for_user(user).await.unwrap());
    b.put_session("5511999990000@s.whatsapp.net", b"sess").await.unwrap();
    assert!(b.has_signal_state_for_user(user).await.unwrap());
    // A user whose id is a prefix of a stored one must not match.
    assert!(!b.has_signal_state_for_user("551199999000").await.unwrap());
    // Wildcard characters are literal.
    assert!(!b.has_signal_state_for_user("55119999%").await.unwrap());
    // Identity-only state on a non-zero device counts too.
    b.put_identity("777:5@lid", [7; 32]).await.unwrap();
    assert!(b.has_signal_state_for_user("777").await.unwrap());
}

async fn prekeys(b: &dyn Backend) {
    assert_eq!(b.get_max_prekey_id().await.unwrap(), 0);
    assert!(b.load_prekey(1).await.unwrap().is_none());
    b.store_prekey(1, b"k1", false).await.unwrap();
    b.store_prekey(2, b"k2", true).await.unwrap();
    let batch: Vec<(u32, Bytes)> = (3..=5).map(|i| (i, Bytes::from(format!("k{i}")))).collect();
    b.store_prekeys_batch(&batch, false).await.unwrap();
    assert_eq!(b.load_prekey(1).await.unwrap().unwrap(), Bytes::from_static(b"k1"));
    assert!(b.load_prekey(99).await.unwrap().is_none());
    let loaded = b.load_prekeys_batch(&[5, 99, 1]).await.unwrap();
    assert_eq!(loaded, vec![(5, Bytes::from_static(b"k5")), (1, Bytes::from_static(b"k1"))]);
    assert!(b.load_prekeys_batch(&[]).await.unwrap().is_empty());
    assert_eq!(b.get_max_prekey_id().await.unwrap(), 5);

    // Marking is UPDATE-only: a prekey consumed before the mark stays consumed.
    b.mark_prekeys_uploaded(&[1, 4]).await.unwrap();
    b.remove_prekey(4).await.unwrap();
    b.mark_prekeys_uploaded(&[4]).await.unwrap();
    assert!(b.load_prekey(4).await.unwrap().is_none());
    assert_eq!(b.load_prekey(1).await.unwrap().unwrap(), Bytes::from_static(b"k1"));
    b.mark_prekeys_uploaded(&[]).await.unwrap();

    b.remove_prekey(5).await.unwrap();
    assert_eq!(b.get_max_prekey_id().await.unwrap(), 3);
    b.store_prekey(1, b"k1-new", true).await.unwrap();
    assert_eq!(b.load_prekey(1).await.unwrap().unwrap(), Bytes::from_static(b"k1-new"));
    b.store_prekey(u32::MAX, b"max", false).await.unwrap();
    assert_eq!(b.get_max_prekey_id().await.unwrap(), u32::MAX);
}

async fn signed_prekeys(b: &dyn Backend) {
    assert!(b.load_signed_prekey(1).await.unwrap().is_none());
    assert!(b.load_all_signed_prekeys().await.unwrap().is_empty());
    b.store_signed_prekey(1, b"s1").await.unwrap();
    b.store_signed_prekey(2, b"s2").await.unwrap();
    assert_eq!(b.load_signed_prekey(1).await.unwrap().unwrap(), b"s1".to_vec());
    b.store_signed_prekey(1, b"s1-new").await.unwrap();
    let mut all = b.load_all_signed_prekeys().await.unwrap();
    all.sort();
    assert_eq!(all, vec![(1, b"s1-new".to_vec()), (2, b"s2".to_vec())]);
    b.remove_signed_prekey(1).await.unwrap();
    assert_eq!(b.load_all_signed_prekeys().await.unwrap(), vec![(2, b"s2".to_vec())]);
}

async fn sender_keys(b: &dyn Backend) {
    let addr = "120363000000000001@g.us::5511000000001:0@s.whatsapp.net";
    assert!(b.get_sender_key(addr).await.unwrap().is_none());
    b.put_sender_key(addr, b"sk1").await.unwrap();
    assert_eq!(b.get_sender_key(addr).await.unwrap().unwrap(), b"sk1".to_vec());
    let other: Arc<str> = "g2::u2".into();
    b.put_sender_keys_batch(&[
        (Arc::from(addr), Bytes::from_static(b"sk2")),
        (other.clone(), Bytes::from_static(b"o")),
    ])
    .await
    .unwrap();
    assert_eq!(b.get_sender_key(addr).await.unwrap().unwrap(), b"sk2".to_vec());
    assert_eq!(b.get_sender_key(&other).await.unwrap().unwrap(), b"o".to_vec());
    b.delete_sender_key(addr).await.unwrap();
    assert!(b.get_sender_key(addr).await.unwrap().is_none());
    assert!(b.get_sender_key(&other).await.unwrap().is_some());
}

conformance!(identities, sessions, signal_state_for_user, prekeys, signed_prekeys, sender_keys);
