//! What only the SQL store has: many sessions sharing one database (isolation, deleting
//! one session's rows) and a whatsapp-rust `Bot` built on it. Run on SQLite and, when
//! configured, Postgres.

use std::sync::Arc;

use whatsapp_rust::bytes::Bytes;
use whatsapp_rust::wacore::appstate::hash::HashState;
use whatsapp_rust::wacore::appstate::processor::AppStateMutationMAC;
use whatsapp_rust::wacore::store::Device;
use whatsapp_rust::wacore::store::traits::*;

use crate::sessions::device_store::{DEVICE_TABLES, SqlDeviceStore};
use crate::store::Db;
use crate::testing::TestDb;

/// Writes one row to every device-store table, with values derived from `tag`.
async fn populate(b: &SqlDeviceStore, tag: u8) {
    let mut device = Device::new();
    device.push_name = format!("device-{tag}");
    b.save(&device).await.unwrap();
    b.put_identity("u@lid", [tag; 32]).await.unwrap();
    b.put_sessions_batch(&[(Arc::from("u@lid"), Bytes::from(vec![tag]))]).await.unwrap();
    b.store_prekey(u32::from(tag), &[tag], false).await.unwrap();
    b.store_signed_prekey(1, &[tag]).await.unwrap();
    b.put_sender_keys_batch(&[(Arc::from("g::u"), Bytes::from(vec![tag]))]).await.unwrap();
    b.set_sync_key(&[tag], AppStateSyncKey { key_data: vec![tag], fingerprint: vec![], timestamp: 1 }).await.unwrap();
    b.set_version("regular", HashState { version: u64::from(tag), ..HashState::default() }).await.unwrap();
    b.put_mutation_macs("regular", 1, &[AppStateMutationMAC { index_mac: vec![1], value_mac: vec![tag] }])
        .await
        .unwrap();
    b.set_sender_key_status("g@g.us", &[("d@lid", tag.is_multiple_of(2))]).await.unwrap();
    let lid = LidPnMappingEntry {
        lid: "100".into(),
        phone_number: format!("55{tag}"),
        created_at: 1,
        updated_at: 1,
        learning_source: "test".into(),
    };
    b.put_lid_mapping(&lid).await.unwrap();
    b.save_base_key("u@lid", "m", &[tag]).await.unwrap();
    let list =
        DeviceListRecord { user: "u".into(), devices: vec![], timestamp: i64::from(tag), phash: None, raw_id: None };
    b.update_device_list(list).await.unwrap();
    b.put_group_metadata("g@g.us", &[tag]).await.unwrap();
    b.store_received_tc_token("u@lid", &[tag], 1).await.unwrap();
    b.store_sent_message("u@lid", "m", &[tag]).await.unwrap();
    b.put_msg_secret("c", "s", "m", &[tag; 32]).await.unwrap();
    b.store_pending_inbound("c", "s", "m", &[tag]).await.unwrap();
}

/// Reads back what `populate(tag)` wrote, through every read path.
async fn assert_sees(b: &SqlDeviceStore, tag: u8) {
    assert_eq!(b.load().await.unwrap().unwrap().push_name, format!("device-{tag}"));
    assert_eq!(b.load_identity("u@lid").await.unwrap(), Some([tag; 32]));
    assert_eq!(b.get_session("u@lid").await.unwrap().unwrap().to_vec(), vec![tag]);
    assert_eq!(b.get_max_prekey_id().await.unwrap(), u32::from(tag));
    assert_eq!(b.load_all_signed_prekeys().await.unwrap(), vec![(1, vec![tag])]);
    assert_eq!(b.get_sender_key("g::u").await.unwrap(), Some(vec![tag]));
    assert_eq!(b.get_latest_sync_key_id().await.unwrap(), Some(vec![tag]));
    assert_eq!(b.get_version("regular").await.unwrap().version, u64::from(tag));
    assert_eq!(b.get_mutation_mac("regular", &[1]).await.unwrap(), Some(vec![tag]));
    assert_eq!(b.get_sender_key_devices("g@g.us").await.unwrap(), vec![("d@lid".to_string(), tag.is_multiple_of(2))]);
    assert_eq!(b.get_all_lid_mappings().await.unwrap().len(), 1);
    assert_eq!(b.get_lid_mapping("100").await.unwrap().unwrap().phone_number, format!("55{tag}"));
    assert!(b.has_same_base_key("u@lid", "m", &[tag]).await.unwrap());
    assert_eq!(b.get_devices("u").await.unwrap().unwrap().timestamp, i64::from(tag));
    assert_eq!(b.get_group_metadata("g@g.us").await.unwrap(), Some(vec![tag]));
    assert_eq!(b.get_tc_token("u@lid").await.unwrap().unwrap().token, vec![tag]);
    assert_eq!(b.get_pending_inbound("c", "s", "m").await.unwrap(), Some(vec![tag]));
    assert_eq!(b.get_msg_secret("c", "s", "m").await.unwrap(), Some(vec![tag; 32]));
}

async fn count_rows(db: &Db, table: &str, session: &str) -> i64 {
    let row = sqlx::query(&db.sql_string(format!("SELECT COUNT(*) AS n FROM {table} WHERE session_id = $1")))
        .bind(session)
        .fetch_one(db.pool())
        .await
        .unwrap();
    sqlx::Row::try_get(&row, "n").unwrap()
}

async fn sessions_are_isolated(db: &Db) {
    let (a, b) = (SqlDeviceStore::new(db.clone(), "sess-a"), SqlDeviceStore::new(db.clone(), "sess-b"));
    populate(&a, 1).await;

    // b sees nothing of a's.
    assert!(!b.exists().await.unwrap());
    assert!(b.load_identity("u@lid").await.unwrap().is_none());
    assert!(!b.has_session("u@lid").await.unwrap());
    assert!(!b.has_signal_state_for_user("u").await.unwrap());
    assert_eq!(b.get_max_prekey_id().await.unwrap(), 0);
    assert!(b.load_all_signed_prekeys().await.unwrap().is_empty());
    assert!(b.get_sender_key("g::u").await.unwrap().is_none());
    assert!(b.get_latest_sync_key_id().await.unwrap().is_none());
    assert_eq!(b.get_version("regular").await.unwrap().version, 0);
    assert!(b.get_mutation_macs("regular", &[[1; 32]]).await.unwrap().is_empty());
    assert!(b.get_sender_key_devices("g@g.us").await.unwrap().is_empty());
    assert!(b.get_all_lid_mappings().await.unwrap().is_empty());
    assert!(b.get_pn_mapping("551").await.unwrap().is_none());
    assert!(!b.has_same_base_key("u@lid", "m", &[1]).await.unwrap());
    assert!(b.get_devices("u").await.unwrap().is_none());
    assert!(b.get_group_metadata("g@g.us").await.unwrap().is_none());
    assert!(b.get_all_tc_token_jids().await.unwrap().is_empty());
    assert!(b.take_sent_message("u@lid", "m").await.unwrap().is_none());
    assert!(b.get_msg_secret("c", "s", "m").await.unwrap().is_none());

    // Same keys, other values: each session reads its own.
    populate(&b, 2).await;
    assert_sees(&a, 1).await;
    assert_sees(&b, 2).await;

    // Bulk deletes and expiry sweeps stay inside their session.
    b.clear_all_sender_key_devices().await.unwrap();
    b.clear_mutation_macs("regular").await.unwrap();
    b.delete_sender_key_device_rows(&["d@lid"]).await.unwrap();
    assert_eq!(b.delete_expired_tc_tokens(i64::MAX, i64::MAX).await.unwrap(), 1);
    assert_eq!(b.delete_expired_sent_messages(i64::MAX).await.unwrap(), 1);
    b.remove_prekey(1).await.unwrap();
    assert_sees(&a, 1).await;
    assert!(a.take_sent_message("u@lid", "m").await.unwrap().is_some());
}

async fn deleting_a_session_removes_all_its_rows(db: &Db) {
    let (a, b) = (SqlDeviceStore::new(db.clone(), "sess-a"), SqlDeviceStore::new(db.clone(), "sess-b"));
    populate(&a, 1).await;
    populate(&b, 2).await;
    for table in DEVICE_TABLES {
        // populate() must reach every table, or the deletion check below proves nothing.
        assert_eq!(count_rows(db, table, "sess-a").await, 1, "{table}");
    }

    let removed = db.delete_session_device_rows("sess-a").await.unwrap();
    assert_eq!(removed, DEVICE_TABLES.len() as u64);
    for table in DEVICE_TABLES {
        assert_eq!(count_rows(db, table, "sess-a").await, 0, "{table}");
        assert_eq!(count_rows(db, table, "sess-b").await, 1, "{table}");
    }
    assert!(!a.exists().await.unwrap());
    assert_sees(&b, 2).await;
    assert_eq!(db.delete_session_device_rows("sess-a").await.unwrap(), 0);
}

/// Every table the migration creates is in `DEVICE_TABLES`, so session deletion can't
/// silently miss one added later.
async fn device_tables_list_is_complete(db: &Db) {
    let sql = match db.kind() {
        crate::store::DbKind::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'wa\\_%' ESCAPE '\\'"
        }
        crate::store::DbKind::Postgres => {
            "SELECT CAST(table_name AS TEXT) AS name FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_name LIKE 'wa\\_%' ESCAPE '\\'"
        }
        crate::store::DbKind::Mysql => {
            "SELECT CAST(table_name AS CHAR) AS name FROM information_schema.tables
             WHERE table_schema = DATABASE() AND table_name LIKE 'wa\\_%' ESCAPE '\\'"
        }
    };
    let rows = sqlx::query(sql).fetch_all(db.pool()).await.unwrap();
    let mut found: Vec<String> = rows.iter().map(|r| sqlx::Row::try_get(r, "name").unwrap()).collect();
    found.sort();
    let mut listed: Vec<String> = DEVICE_TABLES.iter().map(|t| t.to_string()).collect();
    listed.sort();
    assert_eq!(found, listed);
}

macro_rules! on_sql {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    let t = $crate::testing::TestDb::sqlite().await;
                    super::$case(&t.db).await;
                    t.cleanup().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    let Some(t) = $crate::testing::TestDb::postgres().await else { return };
                    super::$case(&t.db).await;
                    t.cleanup().await;
                }
            )*
        }
        mod mysql {
            $(
                #[tokio::test]
                async fn $case() {
                    let Some(t) = $crate::testing::TestDb::mysql().await else { return };
                    super::$case(&t.db).await;
                    t.cleanup().await;
                }
            )*
        }
    };
}

on_sql!(sessions_are_isolated, deleting_a_session_removes_all_its_rows, device_tables_list_is_complete);

/// The HTTP client the builder requires; building a Bot must not need the network.
struct NoHttp;

#[whatsapp_rust::async_trait]
impl whatsapp_rust::http::HttpClient for NoHttp {
    async fn execute(
        &self,
        _request: whatsapp_rust::http::HttpRequest,
    ) -> anyhow::Result<whatsapp_rust::http::HttpResponse> {
        Err(anyhow::anyhow!("no HTTP in tests"))
    }
}

/// whatsapp-rust accepts the store as its backend: building a Bot (no connect) creates
/// and loads this session's device through it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bot_builds_on_sql_store() {
    let t = TestDb::sqlite().await;
    let store = SqlDeviceStore::new(t.db.clone(), "sess-bot");
    let bot = whatsapp_rust::bot::Bot::builder()
        .with_backend(store.clone())
        .with_http_client(NoHttp)
        .with_version((2, 3000, 0))
        .build()
        .await
        .expect("bot builds");
    assert!(store.exists().await.unwrap());
    let device = store.load().await.unwrap().unwrap();
    assert_ne!(device.registration_id, 0);
    drop(bot);
    t.cleanup().await;
}

/// The client holds its store as `Arc<dyn Backend>`; this must keep compiling.
#[test]
fn store_is_usable_as_shared_backend() {
    fn shared(store: SqlDeviceStore) -> Arc<dyn Backend> {
        Arc::new(store)
    }
    let _ = shared;
}
