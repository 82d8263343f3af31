//! Test support shared by unit tests, integration tests and benches: fresh databases of
//! either kind, in-memory device stores, and `require` (skip, with one visible line, what
//! needs a tool or service that is absent). Not part of a production build: compiled for
//! the crate's own unit tests, and behind the `testing` feature, which only the crate's
//! dev-dependency on itself turns on (see `Cargo.toml`).
//!
//! Postgres tests read `WAREST_TEST_POSTGRES_URL` (CI sets it and fails if the server is
//! unreachable) and each get a database of their own, so tests run in parallel safely.

#![allow(clippy::disallowed_methods, reason = "test support reads the test environment (WAREST_TEST_*, PATH)")]

pub mod require;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use whatsapp_rust::wacore::store::InMemoryBackend;
use whatsapp_rust::wacore::store::traits::Backend;

use crate::config::{Database, Secret};
use crate::sessions::stores::DeviceStores;
use crate::store::Db;

/// Prefix of the throw-away Postgres databases; `.ci/run` drops leftovers by it.
pub const PG_TEST_DB_PREFIX: &str = "warest_t_";

pub struct TestDb {
    pub db: Db,
    pub database: Database,
    pg_admin: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let database = Database::Sqlite { path: dir.path().join("warest.db") };
        let db = Db::connect(&database, 5).await.expect("open sqlite");
        db.migrate().await.expect("migrate sqlite");
        TestDb { db, database, pg_admin: None, _dir: Some(dir) }
    }

    /// A fresh, migrated Postgres database, or `None` (after a `SKIP` line; a panic under
    /// `WAREST_TEST_REQUIRE_ALL`) when no test server is configured.
    pub async fn postgres() -> Option<TestDb> {
        let base = require::service_url(require::POSTGRES_URL, "Postgres")?;
        Some(Self::postgres_at(base).await)
    }

    async fn postgres_at(base: String) -> TestDb {
        let name = format!("{PG_TEST_DB_PREFIX}{}", uuid::Uuid::new_v4().simple());
        let admin = Db::connect(&Database::Postgres { url: Secret::new(base.clone()) }, 1)
            .await
            .expect("WAREST_TEST_POSTGRES_URL is set but Postgres is unreachable");
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(admin.pool()).await.expect("create test database");
        admin.close().await;
        let database = Database::Postgres { url: Secret::new(with_database(&base, &name)) };
        let db = Db::connect(&database, 5).await.expect("open test database");
        db.migrate().await.expect("migrate postgres");
        TestDb { db, database, pg_admin: Some((base, name)), _dir: None }
    }

    /// Every database kind available here: SQLite always, Postgres when configured (a
    /// `SKIP` line says when its Postgres run is left out).
    pub async fn all() -> Vec<TestDb> {
        let mut all = vec![TestDb::sqlite().await];
        if let Some(base) = require::postgres_run() {
            all.push(Self::postgres_at(base).await);
        }
        all
    }

    pub fn data_dir(&self) -> Option<PathBuf> {
        self._dir.as_ref().map(|d| d.path().to_path_buf())
    }

    /// Closes the pool and drops the Postgres test database.
    pub async fn cleanup(self) {
        self.db.close().await;
        let Some((base, name)) = self.pg_admin else { return };
        if let Ok(admin) = Db::connect(&Database::Postgres { url: Secret::new(base) }, 1).await {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(admin.pool()).await;
            admin.close().await;
        }
    }
}

/// Replaces the database name in a Postgres URL, keeping any query string.
pub fn with_database(url: &str, name: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (url, None),
    };
    let scheme_end = head.find("://").map_or(0, |i| i + 3);
    let base = match head[scheme_end..].find('/') {
        Some(slash) => &head[..scheme_end + slash],
        None => head,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// Device state in memory, lost on restart: for tests that run many clients without a
/// database each.
#[derive(Default)]
pub struct MemoryStores {
    stores: Mutex<HashMap<String, Arc<InMemoryBackend>>>,
}

#[whatsapp_rust::async_trait]
impl DeviceStores for MemoryStores {
    fn open(&self, session_id: &str) -> Arc<dyn Backend> {
        let mut s = self.stores.lock().unwrap_or_else(|e| e.into_inner());
        s.entry(session_id.to_string()).or_insert_with(|| Arc::new(InMemoryBackend::new())).clone()
    }

    async fn wipe(&self, session_id: &str) -> anyhow::Result<()> {
        self.stores.lock().unwrap_or_else(|e| e.into_inner()).remove(session_id);
        Ok(())
    }
}
