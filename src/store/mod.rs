//! The SQL store: one pool, migrations for SQLite, Postgres and MySQL/MariaDB,
//! tenant-scoped queries.
//!
//! Every database goes through sqlx's `Any` driver with one set of queries written in the
//! common dialect (`$N` placeholders, `ON CONFLICT`, `RETURNING`, integers and text only), so
//! every query runs on each and the same test suite covers each. MySQL reads that dialect
//! through [`Db::sql`] (`dialect.rs`). Where the dialects must differ (row locking),
//! [`Db::kind`] says which one is live. Owns no HTTP semantics: callers map [`StoreError`]
//! to status codes.

pub mod api_keys;
mod dialect;
pub mod docs_sessions;
pub mod sessions;
pub mod users;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

use crate::config::Database;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
static MYSQL_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/mysql");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("already exists: {0}")]
    Conflict(&'static str),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbKind {
    Sqlite,
    Postgres,
    /// MySQL or MariaDB (InnoDB).
    Mysql,
}

impl DbKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DbKind::Sqlite => "sqlite",
            DbKind::Postgres => "postgres",
            DbKind::Mysql => "mysql",
        }
    }
}

/// A cheap, cloneable handle to the pool.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    kind: DbKind,
    /// SQLite's connections commit with `synchronous = FULL` (`WAREST_SQLITE_SYNCHRONOUS`).
    full_sync: bool,
}

impl Db {
    /// Opens the pool; for SQLite, creates the file (and its directory) on first start and
    /// switches it to WAL so readers never block the writer.
    pub async fn connect(database: &Database, pool_max: u32) -> StoreResult<Db> {
        Self::connect_with(database, pool_max, true).await
    }

    /// As `connect`; `full_sync` false relaxes SQLite to `synchronous = NORMAL`.
    ///
    /// FULL by default because a commit here acknowledges something outside: an inbound
    /// batch acked to WhatsApp (which then deletes it from its offline queue), a send
    /// answered "queued", an event promised to a receiver. In WAL mode, NORMAL syncs only
    /// at checkpoints, so after a power loss or an OS crash (not a gateway crash) the last
    /// commits can be gone though their acks went out.
    pub async fn connect_with(database: &Database, pool_max: u32, full_sync: bool) -> StoreResult<Db> {
        sqlx::any::install_default_drivers();
        let (url, kind) = match database {
            Database::Sqlite { path } => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| StoreError::Db(sqlx::Error::Io(e)))?;
                }
                (format!("sqlite://{}?mode=rwc", path.display()), DbKind::Sqlite)
            }
            Database::Postgres { url } => (url.expose().to_string(), DbKind::Postgres),
            Database::Mysql { url } => (url.expose().to_string(), DbKind::Mysql),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        // SQLite has one writer. With several connections, concurrent writers (the HTTP
        // accept, the queue's claims, acks and receipts, the outbox) wait for each other in
        // SQLite's busy handler, which sleeps in steps of milliseconds; one connection makes
        // them queue in the pool instead. Measured with the send benchmark (1 session, 1000
        // messages): 1279 msg/s and 4 ms p50 with one connection, 1015 msg/s and 284 ms with ten.
        let pool_max = if kind == DbKind::Sqlite { 1 } else { pool_max };
        let pool = AnyPoolOptions::new()
            .max_connections(pool_max)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if kind == DbKind::Sqlite {
                        // busy_timeout: concurrent writers wait instead of failing at once.
                        let sync = if full_sync { "FULL" } else { "NORMAL" };
                        let pragmas = format!(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync}; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;"
                        );
                        conn.execute(pragmas.as_str()).await?;
                    }
                    if kind == DbKind::Mysql {
                        // The common dialect's spelling: "quoted" identifiers, `||`
                        // concatenation and standard string literals (a backslash is a
                        // character), as on Postgres; STRICT so an over-long value is an
                        // error, not a silent truncation; UTC so NOW() agrees with now_ms().
                        conn.execute(
                            "SET SESSION sql_mode = 'ANSI_QUOTES,PIPES_AS_CONCAT,NO_BACKSLASH_ESCAPES,STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION', time_zone = '+00:00'",
                        )
                        .await?;
                        // Postgres's level: no gap locks, each statement sees what has
                        // committed when it starts.
                        conn.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        if kind == DbKind::Mysql {
            let row = sqlx::query("SELECT VERSION() AS v").fetch_one(&pool).await?;
            mysql_server_supported(&row.text("v")?)
                .map_err(|why| StoreError::Db(sqlx::Error::Configuration(why.into())))?;
        }
        Ok(Db { pool, kind, full_sync: full_sync && kind == DbKind::Sqlite })
    }

    pub async fn migrate(&self) -> StoreResult<()> {
        match self.kind {
            DbKind::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await?,
            DbKind::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
            DbKind::Mysql => MYSQL_MIGRATIONS.run(&self.pool).await?,
        }
        Ok(())
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Whether SQLite commits wait for the disk (`synchronous = FULL`).
    pub fn sqlite_full_sync(&self) -> bool {
        self.full_sync
    }

    pub fn kind(&self) -> DbKind {
        self.kind
    }

    /// A round trip to the database, for health checks.
    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A queue's depth and the creation time (Unix ms) of its oldest waiting row, for
/// `/metrics` and the health checks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backlog {
    pub depth: i64,
    pub oldest_at: Option<i64>,
}

impl Backlog {
    /// Age of the oldest waiting row at `now` (Unix ms); 0 when nothing waits.
    pub fn oldest_age_ms(&self, now: i64) -> i64 {
        self.oldest_at.map_or(0, |t| (now - t).max(0))
    }

    pub(crate) fn from_row(r: &sqlx::any::AnyRow) -> StoreResult<Backlog> {
        use sqlx::Row;
        Ok(Backlog { depth: r.try_get("depth")?, oldest_at: r.try_get("oldest")? })
    }
}

/// Whether the MySQL-family server (its `VERSION()`) has what the store uses: MariaDB 10.6
/// or later (`INSERT`/`DELETE … RETURNING` from 10.5, `SKIP LOCKED` from 10.6). MySQL itself
/// has no `RETURNING` and is refused at start rather than failing on the first event.
pub fn mysql_server_supported(version: &str) -> Result<(), String> {
    let refuse = || {
        Err(format!("MySQL server {version:?} is not supported: WAREST_DB_CLIENT=mysql needs MariaDB 10.6 or later"))
    };
    if !version.to_ascii_lowercase().contains("mariadb") {
        return refuse();
    }
    let mut parts = version.split(['.', '-']).map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if (major, minor) < (10, 6) { refuse() } else { Ok(()) }
}

/// Text columns read the same way on every database. Through the `Any` driver MySQL's
/// `LONGTEXT` (every text column outside a key, see `migrations/mysql`) arrives as a blob,
/// which `try_get::<String>` refuses; these read it as UTF-8 instead.
pub trait RowText {
    fn text_opt(&self, col: &str) -> Result<Option<String>, sqlx::Error>;

    /// By position: for `RETURNING` rows, whose columns MariaDB leaves unnamed.
    fn text_at(&self, index: usize) -> Result<String, sqlx::Error>;

    fn text(&self, col: &str) -> Result<String, sqlx::Error> {
        self.text_opt(col)?
            .ok_or_else(|| sqlx::Error::ColumnDecode { index: col.to_string(), source: "unexpected NULL".into() })
    }
}

impl RowText for sqlx::any::AnyRow {
    fn text_opt(&self, col: &str) -> Result<Option<String>, sqlx::Error> {
        use sqlx::Row;
        match self.try_get::<Option<String>, _>(col) {
            Err(sqlx::Error::ColumnDecode { .. }) => self
                .try_get::<Option<Vec<u8>>, _>(col)?
                .map(|b| String::from_utf8(b).map_err(|e| sqlx::Error::Decode(Box::new(e))))
                .transpose(),
            other => other,
        }
    }

    fn text_at(&self, index: usize) -> Result<String, sqlx::Error> {
        use sqlx::Row;
        match self.try_get::<String, _>(index) {
            Err(sqlx::Error::ColumnDecode { .. }) => {
                String::from_utf8(self.try_get::<Vec<u8>, _>(index)?).map_err(|e| sqlx::Error::Decode(Box::new(e)))
            }
            other => other,
        }
    }
}

/// Milliseconds since the Unix epoch: every timestamp column stores this, the one time
/// type both databases agree on through the `Any` driver.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Maps a unique-constraint violation to `Conflict(what)`, anything else to `Db`.
pub(crate) fn conflict_or(err: sqlx::Error, what: &'static str) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
        _ => StoreError::Db(err),
    }
}

#[cfg(test)]
mod tests;
