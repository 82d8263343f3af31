//! ProtocolStore conformance, continued: trusted-contact tokens (the two writers and the
//! two-cutoff expiry) and the sent-message retry store.

use whatsapp_rust::wacore::store::traits::{Backend, TcTokenEntry};

use crate::sessions::device_store::now_secs;

fn entry(token: &[u8], token_timestamp: i64, sender_timestamp: Option<i64>) -> TcTokenEntry {
    TcTokenEntry { token: token.to_vec(), token_timestamp, sender_timestamp }
}

async fn tc(b: &dyn Backend, jid: &str) -> Option<(Vec<u8>, i64, Option<i64>)> {
    b.get_tc_token(jid).await.unwrap().map(|e| (e.token, e.token_timestamp, e.sender_timestamp))
}

async fn tc_token_roundtrip(b: &dyn Backend) {
    assert!(b.get_tc_token("a@lid").await.unwrap().is_none());
    assert!(b.get_all_tc_token_jids().await.unwrap().is_empty());
    b.put_tc_token("a@lid", &entry(&[1, 2], 100, None)).await.unwrap();
    b.put_tc_token("b@lid", &entry(&[3], 200, Some(250))).await.unwrap();
    assert_eq!(tc(b, "a@lid").await, Some((vec![1, 2], 100, None)));
    assert_eq!(tc(b, "b@lid").await, Some((vec![3], 200, Some(250))));
    b.put_tc_token("a@lid", &entry(&[9], 300, Some(1))).await.unwrap();
    assert_eq!(tc(b, "a@lid").await, Some((vec![9], 300, Some(1))));
    let mut jids = b.get_all_tc_token_jids().await.unwrap();
    jids.sort();
    assert_eq!(jids, vec!["a@lid".to_string(), "b@lid".to_string()]);
    b.delete_tc_token("a@lid").await.unwrap();
    assert!(b.get_tc_token("a@lid").await.unwrap().is_none());
    assert_eq!(b.get_all_tc_token_jids().await.unwrap(), vec!["b@lid".to_string()]);
}

async fn tc_token_writers(b: &dyn Backend) {
    // Issuance first: a byte-less placeholder.
    b.touch_tc_token_sender_timestamp("u1", 1000).await.unwrap();
    assert_eq!(tc(b, "u1").await, Some((vec![], 1000, Some(1000))));
    // A real token later survives a touch, which only advances the sender bucket.
    b.put_tc_token("u1", &entry(&[7, 8, 9], 2000, None)).await.unwrap();
    b.touch_tc_token_sender_timestamp("u1", 3000).await.unwrap();
    assert_eq!(tc(b, "u1").await, Some((vec![7, 8, 9], 2000, Some(3000))));
    b.touch_tc_token_sender_timestamp("u1", 2500).await.unwrap();
    assert_eq!(tc(b, "u1").await, Some((vec![7, 8, 9], 2000, Some(3000))));

    // Received tokens keep the sender bucket; a fresh row starts without one.
    b.touch_tc_token_sender_timestamp("u2", 5000).await.unwrap();
    b.store_received_tc_token("u2", &[1, 2, 3], 4000).await.unwrap();
    assert_eq!(tc(b, "u2").await, Some((vec![1, 2, 3], 4000, Some(5000))));
    b.store_received_tc_token("u3", &[9], 4000).await.unwrap();
    assert_eq!(tc(b, "u3").await, Some((vec![9], 4000, None)));

    // Newer wins; equal timestamps overwrite; a stale write is ignored.
    b.store_received_tc_token("c", &[1, 1, 1], 5000).await.unwrap();
    b.store_received_tc_token("c", &[2, 2, 2], 3000).await.unwrap();
    assert_eq!(tc(b, "c").await, Some((vec![1, 1, 1], 5000, None)));
    b.store_received_tc_token("c", &[3, 3, 3], 7000).await.unwrap();
    assert_eq!(tc(b, "c").await, Some((vec![3, 3, 3], 7000, None)));
    b.store_received_tc_token("c", &[4], 7000).await.unwrap();
    assert_eq!(tc(b, "c").await, Some((vec![4], 7000, None)));

    // A placeholder never blocks the first real token, even an older one.
    b.touch_tc_token_sender_timestamp("p", 9000).await.unwrap();
    b.store_received_tc_token("p", &[4, 4, 4], 6000).await.unwrap();
    assert_eq!(tc(b, "p").await, Some((vec![4, 4, 4], 6000, Some(9000))));
}

async fn tc_token_expiry(b: &dyn Backend) {
    // token_cutoff = 1000, sender_cutoff = 2000.
    b.touch_tc_token_sender_timestamp("recent_ph", 2500).await.unwrap();
    b.touch_tc_token_sender_timestamp("stale_ph", 100).await.unwrap();
    b.put_tc_token("expired_tok_live_sender", &entry(&[1], 1, Some(2500))).await.unwrap();
    b.put_tc_token("orphan_expired", &entry(&[2], 1, None)).await.unwrap();
    b.put_tc_token("fresh_tok", &entry(&[3], 5000, None)).await.unwrap();
    // Boundaries are inclusive: a timestamp equal to its cutoff is live.
    b.put_tc_token("tok_at_cutoff", &entry(&[4], 1000, None)).await.unwrap();
    b.put_tc_token("sender_at_cutoff", &entry(&[], 1, Some(2000))).await.unwrap();
    // An empty token is never live, however new its timestamp.
    b.put_tc_token("empty_new", &entry(&[], 9999, Some(1))).await.unwrap();

    assert_eq!(b.delete_expired_tc_tokens(1000, 2000).await.unwrap(), 3);
    let mut left = b.get_all_tc_token_jids().await.unwrap();
    left.sort();
    let expected = ["expired_tok_live_sender", "fresh_tok", "recent_ph", "sender_at_cutoff", "tok_at_cutoff"];
    assert_eq!(left, expected.map(String::from).to_vec());
    assert_eq!(b.delete_expired_tc_tokens(1000, 2000).await.unwrap(), 0);
}

async fn sent_messages(b: &dyn Backend) {
    let chat = "5511@s.whatsapp.net";
    assert!(b.take_sent_message(chat, "m1").await.unwrap().is_none());
    b.store_sent_message(chat, "m1", b"payload-1").await.unwrap();
    b.store_sent_message(chat, "m2", b"payload-2").await.unwrap();
    b.store_sent_message("other@g.us", "m1", b"group").await.unwrap();
    b.store_sent_message(chat, "m2", b"payload-2b").await.unwrap();

    // Taking consumes: a second retry receipt for the same message gets nothing.
    assert_eq!(b.take_sent_message(chat, "m1").await.unwrap(), Some(b"payload-1".to_vec()));
    assert_eq!(b.take_sent_message(chat, "m1").await.unwrap(), None);
    assert_eq!(b.take_sent_message(chat, "m2").await.unwrap(), Some(b"payload-2b".to_vec()));

    b.store_sent_message(chat, "m3", b"payload-3").await.unwrap();
    let now = now_secs();
    assert_eq!(b.delete_expired_sent_messages(now - 3600).await.unwrap(), 0);
    assert_eq!(b.delete_expired_sent_messages(now + 3600).await.unwrap(), 2);
    assert!(b.take_sent_message("other@g.us", "m1").await.unwrap().is_none());
    assert!(b.take_sent_message(chat, "m3").await.unwrap().is_none());
}

conformance!(tc_token_roundtrip, tc_token_writers, tc_token_expiry, sent_messages);
