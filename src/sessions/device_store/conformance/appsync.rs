//! AppSyncStore conformance: sync keys and the latest key, versions, mutation MACs.

use std::collections::HashMap;

use whatsapp_rust::wacore::appstate::hash::HashState;
use whatsapp_rust::wacore::appstate::processor::AppStateMutationMAC;
use whatsapp_rust::wacore::store::traits::{AppStateSyncKey, Backend};

fn key(data: u8, ts: i64) -> AppStateSyncKey {
    AppStateSyncKey { key_data: vec![data; 32], fingerprint: vec![data, 1, 2], timestamp: ts }
}

async fn sync_keys(b: &dyn Backend) {
    assert!(b.get_sync_key(b"k1").await.unwrap().is_none());
    assert_eq!(b.get_latest_sync_key_id().await.unwrap(), None);
    b.set_sync_key(b"k1", key(1, 100)).await.unwrap();
    assert_eq!(b.get_latest_sync_key_id().await.unwrap(), Some(b"k1".to_vec()));
    b.set_sync_key(b"k2", key(2, 200)).await.unwrap();
    assert_eq!(b.get_latest_sync_key_id().await.unwrap(), Some(b"k2".to_vec()));
    let got = b.get_sync_key(b"k1").await.unwrap().unwrap();
    assert_eq!((got.key_data, got.fingerprint, got.timestamp), (vec![1; 32], vec![1, 1, 2], 100));
    // Re-setting an older key makes it the latest: "latest" means set last.
    b.set_sync_key(b"k1", key(9, 900)).await.unwrap();
    assert_eq!(b.get_latest_sync_key_id().await.unwrap(), Some(b"k1".to_vec()));
    assert_eq!(b.get_sync_key(b"k1").await.unwrap().unwrap().timestamp, 900);
}

async fn versions(b: &dyn Backend) {
    let fresh = b.get_version("regular").await.unwrap();
    assert_eq!((fresh.version, fresh.hash, fresh.index_value_map.len()), (0, [0; 128], 0));
    assert!(!fresh.mac_mismatch_fatal);

    let mut state = HashState { version: 7, hash: [3; 128], ..HashState::default() };
    state.index_value_map.insert("idx-a".into(), vec![1, 2, 3]);
    state.index_value_map.insert("idx-b".into(), vec![]);
    state.mac_mismatch_fatal = true;
    b.set_version("regular", state).await.unwrap();
    let got = b.get_version("regular").await.unwrap();
    assert_eq!((got.version, got.hash, got.mac_mismatch_fatal), (7, [3; 128], true));
    let expected: HashMap<String, Vec<u8>> =
        [("idx-a".to_string(), vec![1, 2, 3]), ("idx-b".to_string(), vec![])].into();
    assert_eq!(got.index_value_map, expected);
    assert_eq!(b.get_version("critical_block").await.unwrap().version, 0);

    b.set_version("regular", HashState { version: 8, ..HashState::default() }).await.unwrap();
    assert_eq!(b.get_version("regular").await.unwrap().version, 8);
}

fn mac(i: u8, v: u8) -> AppStateMutationMAC {
    AppStateMutationMAC { index_mac: vec![i; 32], value_mac: vec![v; 32] }
}

async fn mutation_macs(b: &dyn Backend) {
    assert!(b.get_mutation_mac("regular", &[1; 32]).await.unwrap().is_none());
    b.put_mutation_macs("regular", 1, &[mac(1, 10), mac(2, 20), mac(3, 30)]).await.unwrap();
    b.put_mutation_macs("critical", 1, &[mac(1, 99)]).await.unwrap();
    assert_eq!(b.get_mutation_mac("regular", &[1; 32]).await.unwrap(), Some(vec![10; 32]));
    assert_eq!(b.get_mutation_mac("critical", &[1; 32]).await.unwrap(), Some(vec![99; 32]));

    b.put_mutation_macs("regular", 2, &[mac(1, 11)]).await.unwrap();
    let many = b.get_mutation_macs("regular", &[[1; 32], [3; 32], [7; 32]]).await.unwrap();
    let expected: HashMap<[u8; 32], Vec<u8>> = [([1; 32], vec![11; 32]), ([3; 32], vec![30; 32])].into();
    assert_eq!(many, expected);
    assert!(b.get_mutation_macs("regular", &[]).await.unwrap().is_empty());

    b.delete_mutation_macs("regular", &[vec![1; 32], vec![5; 32]]).await.unwrap();
    assert!(b.get_mutation_mac("regular", &[1; 32]).await.unwrap().is_none());
    assert!(b.get_mutation_mac("regular", &[2; 32]).await.unwrap().is_some());
    assert!(b.get_mutation_mac("critical", &[1; 32]).await.unwrap().is_some());

    b.clear_mutation_macs("regular").await.unwrap();
    assert!(b.get_mutation_mac("regular", &[2; 32]).await.unwrap().is_none());
    assert!(b.get_mutation_mac("regular", &[3; 32]).await.unwrap().is_none());
    assert_eq!(b.get_mutation_mac("critical", &[1; 32]).await.unwrap(), Some(vec![99; 32]));
}

conformance!(sync_keys, versions, mutation_macs);
