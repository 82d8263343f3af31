//! The device-store conformance suite: each case is written once against `&dyn Backend`
//! and runs on whatsapp-rust's `InMemoryBackend` (the reference), on [`SqlDeviceStore`]
//! over SQLite, and over Postgres and MySQL/MariaDB when `WAREST_TEST_POSTGRES_URL` and
//! `WAREST_TEST_MYSQL_URL` are set. Where the
//! reference defines the contract, every backend must give the same answers; the few
//! places the SQL store deliberately differs are tested in `sql_only` and named there.
//!
//! [`SqlDeviceStore`]: super::SqlDeviceStore

/// Generates `in_memory::case`, `sqlite::case`, `postgres::case` and `mysql::case` tests for each case
/// of the invoking module; each SQL test gets a fresh database.
macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod in_memory {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(&whatsapp_rust::wacore::store::InMemoryBackend::new()).await;
                }
            )*
        }

        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    let t = $crate::testing::TestDb::sqlite().await;
                    super::$case(&$crate::sessions::device_store::SqlDeviceStore::new(t.db.clone(), "sess-1")).await;
                    t.cleanup().await;
                }
            )*
        }

        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    // Unset URL: skipped here; `store::tests::postgres_is_covered_when_configured`
                    // makes a set-but-unreachable server fail loudly.
                    let Some(t) = $crate::testing::TestDb::postgres().await else { return };
                    super::$case(&$crate::sessions::device_store::SqlDeviceStore::new(t.db.clone(), "sess-1")).await;
                    t.cleanup().await;
                }
            )*
        }

        mod mysql {
            $(
                #[tokio::test]
                async fn $case() {
                    let Some(t) = $crate::testing::TestDb::mysql().await else { return };
                    super::$case(&$crate::sessions::device_store::SqlDeviceStore::new(t.db.clone(), "sess-1")).await;
                    t.cleanup().await;
                }
            )*
        }
    };
}

mod appsync;
mod pending_inbound;
mod protocol;
mod secrets_and_device;
mod signal;
mod sql_only;
mod tc_and_sent;
