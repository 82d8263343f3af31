//! The store suite, run on SQLite and (when `WAREST_TEST_POSTGRES_URL` and
//! `WAREST_TEST_MYSQL_URL` are set) Postgres and MySQL/MariaDB.

use crate::auth::{issue_key, new_id, sha256_hex};
use crate::store::api_keys::KeySource;
use crate::store::users::NewUser;
use crate::store::{Db, StoreError};
use crate::testing::TestDb;

async fn user(db: &Db, name: &str) -> String {
    let id = new_id("usr");
    db.create_user(NewUser { id: &id, username: name, password_hash: Some("h"), is_admin: false }).await.unwrap();
    id
}

async fn users_roundtrip(db: &Db) {
    let id = user(db, "alice").await;
    let got = db.get_user(&id).await.unwrap();
    assert_eq!((got.username.as_str(), got.is_admin, got.disabled), ("alice", false, false));
    assert_eq!(db.find_user_by_username("alice").await.unwrap().unwrap().id, id);
    assert!(db.find_user_by_username("nobody").await.unwrap().is_none());
    assert_eq!(db.user_password_hash(&id).await.unwrap().as_deref(), Some("h"));

    let dup =
        db.create_user(NewUser { id: &new_id("usr"), username: "alice", password_hash: None, is_admin: false }).await;
    assert!(matches!(dup, Err(StoreError::Conflict("username"))), "{dup:?}");

    user(db, "bob").await;
    let (page, total) = db.list_users(1, 1).await.unwrap();
    assert_eq!((page.len(), total), (1, 2));
    assert_eq!(page[0].username, "bob");

    assert!(db.set_user_disabled(&id, true).await.unwrap().disabled);
    assert!(matches!(db.set_user_disabled("usr_missing", true).await, Err(StoreError::NotFound)));
}

async fn keys_are_scoped_to_their_user(db: &Db) {
    let a = user(db, "tenant-a").await;
    let b = user(db, "tenant-b").await;
    let (key, plain) = issue_key(db, &a, "ci", KeySource::Api).await.unwrap();

    let (found, owner) = db.authenticate_key_hash(&sha256_hex(&plain)).await.unwrap().unwrap();
    assert_eq!((found.id.as_str(), owner.id.as_str()), (key.id.as_str(), a.as_str()));
    assert!(db.authenticate_key_hash(&sha256_hex("wrong")).await.unwrap().is_none());

    // Tenant b can neither read nor revoke tenant a's key.
    assert!(matches!(db.get_api_key(&b, &key.id).await, Err(StoreError::NotFound)));
    assert!(matches!(db.revoke_api_key(&b, &key.id).await, Err(StoreError::NotFound)));
    assert!(db.list_api_keys(&b).await.unwrap().is_empty());
    assert!(db.authenticate_key_hash(&sha256_hex(&plain)).await.unwrap().is_some());

    // A disabled owner's keys stop authenticating.
    db.set_user_disabled(&a, true).await.unwrap();
    assert!(db.authenticate_key_hash(&sha256_hex(&plain)).await.unwrap().is_none());
    db.set_user_disabled(&a, false).await.unwrap();

    let revoked = db.revoke_api_key(&a, &key.id).await.unwrap();
    assert!(revoked.revoked_at.is_some());
    assert!(db.authenticate_key_hash(&sha256_hex(&plain)).await.unwrap().is_none());
    assert_eq!(db.count_live_api_keys(&a).await.unwrap(), 0);
}

async fn deleting_a_user_deletes_its_keys_and_sessions(db: &Db) {
    let a = user(db, "gone").await;
    let (_, plain) = issue_key(db, &a, "k", KeySource::Api).await.unwrap();
    db.create_docs_session("tokhash", &a, crate::store::now_ms() + 60_000).await.unwrap();
    assert!(db.find_docs_session("tokhash").await.unwrap().is_some());
    db.delete_user(&a).await.unwrap();
    assert!(db.authenticate_key_hash(&sha256_hex(&plain)).await.unwrap().is_none());
    assert!(db.list_api_keys(&a).await.unwrap().is_empty());
    assert!(db.find_docs_session("tokhash").await.unwrap().is_none());
    assert!(matches!(db.delete_user(&a).await, Err(StoreError::NotFound)));
}

async fn docs_sessions_expire(db: &Db) {
    let a = user(db, "viewer").await;
    db.create_docs_session("old", &a, crate::store::now_ms() - 1).await.unwrap();
    assert!(db.find_docs_session("old").await.unwrap().is_none());
    db.create_docs_session("new", &a, crate::store::now_ms() + 60_000).await.unwrap();
    let (u, _) = db.find_docs_session("new").await.unwrap().unwrap();
    assert_eq!(u.id, a);
    db.delete_docs_session("new").await.unwrap();
    assert!(db.find_docs_session("new").await.unwrap().is_none());
}

async fn sessions_roundtrip_scoped_to_their_registry(db: &Db) {
    use crate::store::sessions::{ConfigPatch, Me, NewSession, Scope};
    let a = user(db, "owner-a").await;
    let b = user(db, "owner-b").await;
    let meta = serde_json::json!({ "team": "support" });
    let new = NewSession {
        id: "Desk",
        registry: &a,
        label: Some("desk"),
        status: "stopped",
        auto_start: true,
        metadata: &meta,
    };
    let row = db.create_session(new).await.unwrap();
    assert_eq!((row.id.as_str(), row.metadata.clone(), row.created_at), ("Desk", meta.clone(), row.updated_at));
    let again =
        NewSession { id: "Desk", registry: &b, label: None, status: "stopped", auto_start: false, metadata: &meta };
    assert!(matches!(db.create_session(again).await, Err(StoreError::Conflict("session"))));
    // Ids are case-sensitive on every database (MySQL compares with a binary collation).
    let other =
        NewSession { id: "desk", registry: &b, label: None, status: "stopped", auto_start: false, metadata: &meta };
    db.create_session(other).await.unwrap();

    assert!(matches!(db.get_session(Scope::Registry(&b), "Desk").await, Err(StoreError::NotFound)));
    assert_eq!(db.list_sessions(Scope::Registry(&a)).await.unwrap().len(), 1);
    assert_eq!(db.list_sessions(Scope::All).await.unwrap().len(), 2);
    assert_eq!(db.count_sessions_of(&a).await.unwrap(), 1);

    db.set_session_status("Desk", "connected", Some("was: qr")).await.unwrap();
    let me = Me { jid: Some("15550001001@s.whatsapp.net".into()), lid: Some("1234@lid".into()), ..Me::default() };
    db.set_session_me("Desk", &me, true).await.unwrap();
    let patch = ConfigPatch {
        label: Some(None),
        proxy: Some(Some("socks5://u:p@127.0.0.1:1080".into())),
        ..ConfigPatch::default()
    };
    let row = db.update_session_config(Scope::Registry(&a), "Desk", patch).await.unwrap();
    assert_eq!((row.status.as_str(), row.last_error.as_deref(), row.label), ("connected", Some("was: qr"), None));
    assert_eq!((row.me, row.proxy.as_deref()), (me, Some("socks5://u:p@127.0.0.1:1080")));
    assert!(row.last_connected_at.is_some_and(|t| t == row.updated_at || t <= row.updated_at));
    assert_eq!(db.sessions_by_status().await.unwrap().len(), 2);

    assert!(matches!(db.delete_session_row(Scope::Registry(&b), "Desk").await, Err(StoreError::NotFound)));
    db.delete_session_row(Scope::Registry(&a), "Desk").await.unwrap();
    assert!(!db.session_exists("Desk").await.unwrap());
    assert!(db.session_exists("desk").await.unwrap());
}

async fn migrations_are_idempotent(db: &Db) {
    db.migrate().await.unwrap();
    db.ping().await.unwrap();
}

mod on_all {
    use crate::testing::on_every_db;
    on_every_db!(
        users_roundtrip,
        keys_are_scoped_to_their_user,
        deleting_a_user_deletes_its_keys_and_sessions,
        docs_sessions_expire,
        sessions_roundtrip_scoped_to_their_registry,
        migrations_are_idempotent,
    );
}

#[tokio::test]
async fn mysql_is_covered_when_configured() {
    let Some(t) = TestDb::mysql().await else { return };
    assert_eq!(t.db.kind(), crate::store::DbKind::Mysql);
    // The session settings the dialect relies on took.
    let mode: String =
        sqlx::Row::try_get(&sqlx::query("SELECT @@SESSION.sql_mode AS m").fetch_one(t.db.pool()).await.unwrap(), "m")
            .unwrap();
    assert!(mode.contains("ANSI_QUOTES") && mode.contains("PIPES_AS_CONCAT"), "{mode}");
    t.cleanup().await;
}

#[tokio::test]
async fn postgres_is_covered_when_configured() {
    // CI sets the URL and WAREST_TEST_REQUIRE_ALL: a missing or unreachable server fails
    // loudly instead of silently shrinking the suite to SQLite.
    let Some(t) = TestDb::postgres().await else { return };
    assert_eq!(t.db.kind(), crate::store::DbKind::Postgres);
    t.cleanup().await;
}

#[test]
fn only_mariadb_with_returning_and_skip_locked_is_taken() {
    use crate::store::mysql_server_supported as ok;
    assert!(ok("10.11.6-MariaDB-0+deb12u1").is_ok());
    assert!(ok("11.4.2-MariaDB").is_ok());
    assert!(ok("10.6.0-MariaDB-log").is_ok());
    let err = ok("10.5.23-MariaDB").unwrap_err();
    assert!(err.contains("MariaDB 10.6 or later"), "{err}");
    // MySQL has no INSERT … RETURNING.
    assert!(ok("8.0.36").is_err());
    assert!(ok("8.4.0-commercial").is_err());
}
