//! Test support shared by unit tests, integration tests and benches: fresh databases of
//! either kind, in-memory device stores, and `require` (skip, with one visible line, what
//! needs a tool or service that is absent). Not part of a production build: compiled for
//! the crate's own unit tests, and behind the `testing` feature, which only the crate's
//! dev-dependency on itself turns on (see `Cargo.toml`).
//!
//! Postgres tests read `WAREST_TEST_POSTGRES_URL`, MySQL/MariaDB tests
//! `WAREST_TEST_MYSQL_URL` (CI sets both and fails if a server is unreachable); each test
//! gets a database of its own, so tests run in parallel safely.

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

/// Generates one test per case (an `async fn(&Db)` in the invoking module's parent) that
/// runs it on every database available here, each on a fresh database: SQLite, and
/// Postgres and MySQL/MariaDB when configured.
#[cfg(test)]
macro_rules! on_every_db {
    ($($case:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $case() {
            for t in $crate::testing::TestDb::all_with_mysql().await {
                super::$case(&t.db).await;
                t.cleanup().await;
            }
        }
    )*};
}
#[cfg(test)]
pub(crate) use on_every_db;

/// Prefix of the throw-away Postgres databases; `.ci/run` drops leftovers by it.
pub const PG_TEST_DB_PREFIX: &str = "warest_t_";

pub struct TestDb {
    pub db: Db,
    pub database: Database,
    /// The server's URL without a database, and this test's database on it.
    admin: Option<(Database, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let database = Database::Sqlite { path: dir.path().join("warest.db") };
        let db = Db::connect(&database, 5).await.expect("open sqlite");
        db.migrate().await.expect("migrate sqlite");
        TestDb { db, database, admin: None, _dir: Some(dir) }
    }

    /// A fresh, migrated Postgres database, or `None` (after a `SKIP` line; a panic under
    /// `WAREST_TEST_REQUIRE_ALL`) when no test server is configured.
    pub async fn postgres() -> Option<TestDb> {
        let base = require::service_url(require::POSTGRES_URL, "Postgres")?;
        Some(Self::postgres_at(base).await)
    }

    async fn postgres_at(base: String) -> TestDb {
        Self::server_at(Database::Postgres { url: Secret::new(base) }).await
    }

    /// A fresh, migrated MySQL/MariaDB database, or `None` as for [`TestDb::postgres`].
    pub async fn mysql() -> Option<TestDb> {
        let base = require::service_url(require::MYSQL_URL, "MySQL")?;
        Some(Self::server_at(Database::Mysql { url: Secret::new(base) }).await)
    }

    /// A database of its own on the server `admin` points at (Postgres or MySQL).
    async fn server_at(admin: Database) -> TestDb {
        let name = format!("{PG_TEST_DB_PREFIX}{}", uuid::Uuid::new_v4().simple());
        let server = Db::connect(&admin, 1)
            .await
            .unwrap_or_else(|e| panic!("the {} test server is unreachable: {e}", admin.kind()));
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(server.pool()).await.expect("create test database");
        server.close().await;
        let database = match &admin {
            Database::Mysql { url } => Database::Mysql { url: Secret::new(with_database(url.expose(), &name)) },
            Database::Postgres { url } => Database::Postgres { url: Secret::new(with_database(url.expose(), &name)) },
            Database::Sqlite { .. } => unreachable!("SQLite has no server"),
        };
        let db = Db::connect(&database, 5).await.expect("open test database");
        db.migrate().await.unwrap_or_else(|e| panic!("migrate {}: {e}", admin.kind()));
        TestDb { db, database, admin: Some((admin, name)), _dir: None }
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

    /// [`TestDb::all`] and MySQL/MariaDB when configured: for the parts of the store that
    /// run on MySQL so far (the account store; the rest follows, see `store/dialect.rs`).
    pub async fn all_with_mysql() -> Vec<TestDb> {
        let mut all = Self::all().await;
        if let Some(base) = require::mysql_run() {
            all.push(Self::server_at(Database::Mysql { url: Secret::new(base) }).await);
        }
        all
    }

    pub fn data_dir(&self) -> Option<PathBuf> {
        self._dir.as_ref().map(|d| d.path().to_path_buf())
    }

    /// Closes the pool and drops the server's test database.
    pub async fn cleanup(self) {
        self.db.close().await;
        let Some((admin, name)) = self.admin else { return };
        let force = if matches!(admin, Database::Postgres { .. }) { " WITH (FORCE)" } else { "" };
        if let Ok(server) = Db::connect(&admin, 1).await {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name}{force}")).execute(server.pool()).await;
            server.close().await;
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
