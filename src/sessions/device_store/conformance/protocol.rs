//! ProtocolStore conformance: sender-key device status, LID↔PN mappings, base keys,
//! device lists, group metadata.

use whatsapp_rust::wacore::store::traits::{Backend, DeviceInfo, DeviceListRecord, LidPnMappingEntry};

async fn sorted_devices(b: &dyn Backend, group: &str) -> Vec<(String, bool)> {
    let mut got = b.get_sender_key_devices(group).await.unwrap();
    got.sort();
    got
}

fn owned(v: &[(&str, bool)]) -> Vec<(String, bool)> {
    v.iter().map(|(j, k)| (j.to_string(), *k)).collect()
}

async fn sender_key_devices(b: &dyn Backend) {
    let (g1, g2) = ("g1@g.us", "g2@g.us");
    assert!(b.get_sender_key_devices(g1).await.unwrap().is_empty());
    b.set_sender_key_status(g1, &[("d1@lid", true), ("d2@lid", false)]).await.unwrap();
    b.set_sender_key_status(g2, &[("d1@lid", true), ("d3@lid", true)]).await.unwrap();
    assert_eq!(sorted_devices(b, g1).await, owned(&[("d1@lid", true), ("d2@lid", false)]));
    b.set_sender_key_status(g1, &[("d2@lid", true), ("d1@lid", false)]).await.unwrap();
    assert_eq!(sorted_devices(b, g1).await, owned(&[("d1@lid", false), ("d2@lid", true)]));

    // Deleting device rows reaches every group.
    b.delete_sender_key_device_rows(&["d1@lid"]).await.unwrap();
    b.delete_sender_key_device_rows(&[]).await.unwrap();
    assert_eq!(sorted_devices(b, g1).await, owned(&[("d2@lid", true)]));
    assert_eq!(sorted_devices(b, g2).await, owned(&[("d3@lid", true)]));

    b.clear_sender_key_devices(g1).await.unwrap();
    assert!(b.get_sender_key_devices(g1).await.unwrap().is_empty());
    assert_eq!(sorted_devices(b, g2).await, owned(&[("d3@lid", true)]));
    b.clear_all_sender_key_devices().await.unwrap();
    assert!(b.get_sender_key_devices(g2).await.unwrap().is_empty());
}

fn mapping(lid: &str, pn: &str, at: i64) -> LidPnMappingEntry {
    LidPnMappingEntry {
        lid: lid.into(),
        phone_number: pn.into(),
        created_at: at,
        updated_at: at + 1,
        learning_source: "usync".into(),
    }
}

fn lid_of(e: Option<LidPnMappingEntry>) -> Option<String> {
    e.map(|e| e.lid)
}

async fn lid_pn_mappings(b: &dyn Backend) {
    assert!(b.get_lid_mapping("100").await.unwrap().is_none());
    assert!(b.get_pn_mapping("5511").await.unwrap().is_none());
    b.put_lid_mapping(&mapping("100", "5511", 10)).await.unwrap();
    let got = b.get_lid_mapping("100").await.unwrap().unwrap();
    assert_eq!(
        (got.phone_number.as_str(), got.created_at, got.updated_at, got.learning_source.as_str()),
        ("5511", 10, 11, "usync")
    );
    assert_eq!(lid_of(b.get_pn_mapping("5511").await.unwrap()).as_deref(), Some("100"));

    // Remapping a LID to a new phone drops the old phone's reverse lookup.
    b.put_lid_mapping(&mapping("100", "5522", 20)).await.unwrap();
    assert!(b.get_pn_mapping("5511").await.unwrap().is_none());
    assert_eq!(lid_of(b.get_pn_mapping("5522").await.unwrap()).as_deref(), Some("100"));
    assert_eq!(b.get_lid_mapping("100").await.unwrap().unwrap().phone_number, "5522");

    // A phone's most recent LID wins.
    b.put_lid_mapping(&mapping("200", "5522", 5)).await.unwrap();
    assert_eq!(lid_of(b.get_pn_mapping("5522").await.unwrap()).as_deref(), Some("200"));

    b.put_lid_mappings(&[mapping("300", "5533", 30), mapping("400", "5544", 40)]).await.unwrap();
    b.put_lid_mappings(&[]).await.unwrap();
    assert_eq!(lid_of(b.get_pn_mapping("5544").await.unwrap()).as_deref(), Some("400"));
    let mut all: Vec<(String, String)> =
        b.get_all_lid_mappings().await.unwrap().into_iter().map(|e| (e.lid, e.phone_number)).collect();
    all.sort();
    let expected = [("100", "5522"), ("200", "5522"), ("300", "5533"), ("400", "5544")];
    assert_eq!(all, expected.map(|(l, p)| (l.to_string(), p.to_string())).to_vec());
}

async fn base_keys(b: &dyn Backend) {
    let (addr, msg) = ("5511:2@s.whatsapp.net", "3EB0AA");
    assert!(!b.has_same_base_key(addr, msg, b"base").await.unwrap());
    b.save_base_key(addr, msg, b"base").await.unwrap();
    assert!(b.has_same_base_key(addr, msg, b"base").await.unwrap());
    assert!(!b.has_same_base_key(addr, msg, b"other").await.unwrap());
    assert!(!b.has_same_base_key(addr, "3EB0BB", b"base").await.unwrap());
    b.save_base_key(addr, msg, b"other").await.unwrap();
    assert!(b.has_same_base_key(addr, msg, b"other").await.unwrap());
    b.delete_base_key(addr, msg).await.unwrap();
    assert!(!b.has_same_base_key(addr, msg, b"other").await.unwrap());
}

fn record(user: &str, devices: &[u32], ts: i64) -> DeviceListRecord {
    DeviceListRecord {
        user: user.into(),
        devices: devices.iter().map(|d| DeviceInfo::new(*d, Some(d + 10)).with_hosting(*d == 99)).collect(),
        timestamp: ts,
        phash: Some("2:abc".into()),
        raw_id: Some(42),
    }
}

/// A record's comparable content: `(device_id, key_index, is_hosted)` per device, then
/// timestamp, phash and raw_id.
type Summary = (Vec<(u32, Option<u32>, bool)>, i64, Option<String>, Option<u32>);

fn summary(r: Option<DeviceListRecord>) -> Option<Summary> {
    r.map(|r| {
        let devices = r.devices.iter().map(|d| (d.device_id, d.key_index, d.is_hosted)).collect();
        (devices, r.timestamp, r.phash, r.raw_id)
    })
}

async fn device_lists(b: &dyn Backend) {
    assert!(b.get_devices("5511").await.unwrap().is_none());
    b.update_device_list(record("5511", &[0, 3, 99], 100)).await.unwrap();
    let got = summary(b.get_devices("5511").await.unwrap()).unwrap();
    assert_eq!(
        got,
        (vec![(0, Some(10), false), (3, Some(13), false), (99, Some(109), true)], 100, Some("2:abc".into()), Some(42))
    );

    b.update_device_lists(vec![record("5511", &[0], 200), record("5522", &[1], 300)]).await.unwrap();
    b.update_device_lists(vec![]).await.unwrap();
    assert_eq!(summary(b.get_devices("5511").await.unwrap()).unwrap().1, 200);
    assert_eq!(summary(b.get_devices("5522").await.unwrap()).unwrap().0, vec![(1, Some(11), false)]);
    b.delete_devices("5511").await.unwrap();
    assert!(b.get_devices("5511").await.unwrap().is_none());
    assert!(b.get_devices("5522").await.unwrap().is_some());
}

async fn group_metadata(b: &dyn Backend) {
    let jid = "120363000000000001@g.us";
    assert!(b.get_group_metadata(jid).await.unwrap().is_none());
    b.put_group_metadata(jid, b"blob-v1").await.unwrap();
    assert_eq!(b.get_group_metadata(jid).await.unwrap().as_deref(), Some(&b"blob-v1"[..]));
    b.put_group_metadata(jid, b"blob-v2").await.unwrap();
    assert_eq!(b.get_group_metadata(jid).await.unwrap().as_deref(), Some(&b"blob-v2"[..]));
    b.delete_group_metadata(jid).await.unwrap();
    assert!(b.get_group_metadata(jid).await.unwrap().is_none());
}

conformance!(sender_key_devices, lid_pn_mappings, base_keys, device_lists, group_metadata);
