//! The three migration sets describe one schema: `migrations/sqlite/`,
//! `migrations/postgres/` and `migrations/mysql/` have the same steps (file names), and once
//! applied to real databases their catalogs list the same tables with the same columns.
//! Column types differ on purpose (`INTEGER` vs `BIGINT`, `BLOB` vs `BYTEA`, MySQL's
//! `VARCHAR(191)` for keyed text) and are not compared. Postgres and MySQL come from
//! `WAREST_TEST_POSTGRES_URL` and `WAREST_TEST_MYSQL_URL`; without one, that part is
//! skipped with one line (a failure in CI).

use std::collections::{BTreeMap, BTreeSet};

use sqlx::Row;
use warest::store::Db;
use warest::testing::TestDb;

type Catalog = BTreeMap<String, BTreeSet<String>>;

/// sqlx's own bookkeeping table; not part of the schema.
const SQLX_TABLE: &str = "_sqlx_migrations";

fn steps(dialect: &str) -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(dialect);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

async fn catalog(db: &Db, sql: &str) -> Catalog {
    let mut out = Catalog::new();
    for row in sqlx::query(sql).bind(SQLX_TABLE).fetch_all(db.pool()).await.unwrap() {
        out.entry(row.get::<String, _>("t")).or_default().insert(row.get::<String, _>("c"));
    }
    out
}

async fn sqlite_catalog(db: &Db) -> Catalog {
    catalog(
        db,
        "SELECT m.name AS t, p.name AS c FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND m.name <> $1",
    )
    .await
}

async fn postgres_catalog(db: &Db) -> Catalog {
    catalog(
        db,
        "SELECT c.table_name::text AS t, c.column_name::text AS c FROM information_schema.columns c \
         JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
         WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' AND c.table_name <> $1",
    )
    .await
}

async fn mysql_catalog(db: &Db) -> Catalog {
    catalog(
        db,
        "SELECT CAST(c.table_name AS CHAR(64)) AS t, CAST(c.column_name AS CHAR(64)) AS c FROM information_schema.columns c \
         JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
         WHERE c.table_schema = DATABASE() AND t.table_type = 'BASE TABLE' AND c.table_name <> ?",
    )
    .await
}

/// What one catalog has and the other lacks, table by table, for the failure message.
fn differences(sqlite: &Catalog, other: &Catalog, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for table in sqlite.keys().chain(other.keys()).collect::<BTreeSet<_>>() {
        match (sqlite.get(table), other.get(table)) {
            (Some(_), None) => out.push(format!("table {table}: only in SQLite")),
            (None, Some(_)) => out.push(format!("table {table}: only in {name}")),
            (Some(s), Some(p)) => {
                let only_s: Vec<_> = s.difference(p).collect();
                let only_p: Vec<_> = p.difference(s).collect();
                if !only_s.is_empty() || !only_p.is_empty() {
                    out.push(format!("table {table}: columns only in SQLite {only_s:?}, only in {name} {only_p:?}"));
                }
            }
            (None, None) => unreachable!(),
        }
    }
    out
}

#[test]
fn every_dialect_has_the_same_migration_steps() {
    let (sqlite, postgres, mysql) = (steps("sqlite"), steps("postgres"), steps("mysql"));
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, postgres, "migrations/sqlite and migrations/postgres must have the same step files");
    assert_eq!(sqlite, mysql, "migrations/sqlite and migrations/mysql must have the same step files");
}

#[tokio::test]
async fn every_dialect_declares_the_same_tables_and_columns() {
    let lite = TestDb::sqlite().await;
    let sqlite = sqlite_catalog(&lite.db).await;
    lite.cleanup().await;
    // The SQLite catalog query itself must see the schema, or the comparison proves nothing.
    for table in ["users", "api_keys", "sessions", "messages", "outbound_messages", "webhook_events"] {
        assert!(sqlite.contains_key(table), "{table} missing from the SQLite catalog: {:?}", sqlite.keys());
    }
    assert!(!sqlite.contains_key(SQLX_TABLE));

    if let Some(pg) = TestDb::postgres().await {
        let postgres = postgres_catalog(&pg.db).await;
        pg.cleanup().await;
        let diff = differences(&sqlite, &postgres, "Postgres");
        assert!(diff.is_empty(), "the SQLite and Postgres migrations disagree:\n{}", diff.join("\n"));
    }
    if let Some(my) = TestDb::mysql().await {
        let mysql = mysql_catalog(&my.db).await;
        my.cleanup().await;
        let diff = differences(&sqlite, &mysql, "MySQL");
        assert!(diff.is_empty(), "the SQLite and MySQL migrations disagree:\n{}", diff.join("\n"));
    }
}

#[test]
fn a_difference_is_named_by_table_and_column() {
    let cat = |t: &[(&str, &[&str])]| -> Catalog {
        t.iter().map(|(n, cols)| (n.to_string(), cols.iter().map(|c| c.to_string()).collect())).collect()
    };
    let a = cat(&[("users", &["id", "name"]), ("keys", &["id"])]);
    let b = cat(&[("users", &["id", "email"]), ("tags", &["id"])]);
    assert_eq!(
        differences(&a, &b, "Postgres"),
        [
            "table keys: only in SQLite",
            "table tags: only in Postgres",
            "table users: columns only in SQLite [\"name\"], only in Postgres [\"email\"]",
        ]
    );
}
