//! The whatsapp-rust storage [`Backend`] on our sqlx pool: [`SqlDeviceStore`] is one
//! session's Signal keys, app-state sync state, protocol caches, message secrets and
//! device identity, in the `wa_*` tables of migration `0002_device_store.sql` (and the
//! pending-inbound buffer of `0014_inbound_durability.sql`).
//!
//! One store instance serves exactly one WhatsApp session; every row carries its
//! `session_id` and every query filters on it, so sessions sharing a database never see
//! each other's rows. Queries use the dialect common to SQLite and Postgres (see
//! [`crate::store`]). Owns no session lifecycle: creating, running and deleting sessions
//! belongs to the sessions component, which calls [`Db::delete_session_device_rows`].
//!
//! The trait impls are split by sub-trait: `signal`, `appsync`, `protocol` (with the tc
//! token and sent-message parts in `tc_tokens`), `msg_secret` and `device`.

mod appsync;
mod device;
mod msg_secret;
mod pending_inbound;
mod protocol;
mod signal;
mod tc_tokens;

#[cfg(test)]
mod conformance;

use std::sync::Arc;

use sqlx::any::AnyRow;
use whatsapp_rust::wacore::store::error::StoreError as WaStoreError;

use crate::store::{Db, StoreResult};

/// Results as the whatsapp-rust traits want them.
pub(crate) type WaResult<T> = Result<T, WaStoreError>;

/// Every device-store table; each has a `session_id` column. Deleting a session clears
/// all of them, and the deletion test counts rows in each.
pub(crate) const DEVICE_TABLES: &[&str] = &[
    "wa_devices",
    "wa_identities",
    "wa_signal_sessions",
    "wa_prekeys",
    "wa_signed_prekeys",
    "wa_sender_keys",
    "wa_sync_keys",
    "wa_app_state_versions",
    "wa_mutation_macs",
    "wa_sender_key_devices",
    "wa_lid_mappings",
    "wa_base_keys",
    "wa_device_lists",
    "wa_group_metadata",
    "wa_tc_tokens",
    "wa_sent_messages",
    "wa_msg_secrets",
    "wa_pending_inbound",
];

/// Most bind parameters one dynamic `IN (...)` list uses; well under both databases'
/// limits (SQLite 32766, Postgres 65535), leaving room for the fixed parameters.
pub(crate) const IN_CHUNK: usize = 500;

/// One WhatsApp session's device store. Cheap to clone; clones share the pool.
#[derive(Clone, Debug)]
pub struct SqlDeviceStore {
    db: Db,
    session: String,
    /// Closed when the session's keys are wiped or a newer store replaces this one:
    /// whatsapp-rust's detached background tasks (app-state sync, prekey upload) can
    /// outlive the client and would otherwise write rows back after the wipe. Every write
    /// holds a read guard; closing takes the write lock, so it also waits for writes
    /// already under way. A closed store refuses every write.
    gate: WriteGate,
}

/// `true` once closed. See [`SqlDeviceStore`].
pub type WriteGate = Arc<tokio::sync::RwLock<bool>>;

/// The pool, borrowed for one write while the store is open.
pub(crate) struct Writer {
    pool: sqlx::AnyPool,
    _open: tokio::sync::OwnedRwLockReadGuard<bool>,
}

impl std::ops::Deref for Writer {
    type Target = sqlx::AnyPool;
    fn deref(&self) -> &sqlx::AnyPool {
        &self.pool
    }
}

impl SqlDeviceStore {
    pub fn new(db: Db, session_id: impl Into<String>) -> SqlDeviceStore {
        Self::with_gate(db, session_id, WriteGate::default())
    }

    pub fn with_gate(db: Db, session_id: impl Into<String>, gate: WriteGate) -> SqlDeviceStore {
        SqlDeviceStore { db, session: session_id.into(), gate }
    }

    pub fn session_id(&self) -> &str {
        &self.session
    }

    fn pool(&self) -> &sqlx::AnyPool {
        self.db.pool()
    }

    /// The pool, for one write; an error once the store is closed (or while it closes).
    fn writer(&self) -> WaResult<Writer> {
        let closed = || WaStoreError::Validation(format!("device store of session {} is closed", self.session));
        let open = self.gate.clone().try_read_owned().map_err(|_| closed())?;
        if *open {
            return Err(closed());
        }
        Ok(Writer { pool: self.db.pool().clone(), _open: open })
    }
}

impl Db {
    /// Deletes every device-store row of one session, in one transaction so a crash never
    /// leaves half a Signal identity behind. Returns the number of rows removed.
    pub async fn delete_session_device_rows(&self, session_id: &str) -> StoreResult<u64> {
        let mut tx = self.pool().begin().await?;
        let mut removed = 0;
        for table in DEVICE_TABLES {
            let done = sqlx::query(&self.sql_string(format!("DELETE FROM {table} WHERE session_id = $1")))
                .bind(session_id)
                .execute(&mut *tx)
                .await?;
            removed += done.rows_affected();
        }
        tx.commit().await?;
        Ok(removed)
    }

    /// How many device-store rows a session has (0 after logout or delete).
    pub async fn count_session_device_rows(&self, session_id: &str) -> StoreResult<i64> {
        let mut total = 0;
        for table in DEVICE_TABLES {
            let row = sqlx::query(&self.sql_string(format!("SELECT COUNT(*) AS n FROM {table} WHERE session_id = $1")))
                .bind(session_id)
                .fetch_one(self.pool())
                .await?;
            total += sqlx::Row::try_get::<i64, _>(&row, "n")?;
        }
        Ok(total)
    }
}

/// A database failure, keeping sqlx's error as the typed source.
pub(crate) fn db_err(err: sqlx::Error) -> WaStoreError {
    WaStoreError::Database(Box::new(err))
}

pub(crate) fn ser_err(err: serde_json::Error) -> WaStoreError {
    WaStoreError::Serialization(Box::new(err))
}

/// Reads a column, mapping a missing column or type mismatch to a store error.
pub(crate) fn col<'r, T>(row: &'r AnyRow, name: &str) -> WaResult<T>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    sqlx::Row::try_get(row, name).map_err(db_err)
}

/// Reads a text column; MySQL's `LONGTEXT` arrives as a blob (see `store::RowText`).
pub(crate) fn text_col(row: &AnyRow, name: &str) -> WaResult<String> {
    crate::store::RowText::text(row, name).map_err(db_err)
}

/// A u32 (prekey id, ...) stored as i64; a value out of range means a corrupted row.
pub(crate) fn to_u32(value: i64, what: &str) -> WaResult<u32> {
    u32::try_from(value).map_err(|_| WaStoreError::Validation(format!("{what} out of range: {value}")))
}

/// `$start, $start+1, ...` for `n` parameters of a dynamic `IN (...)` list.
pub(crate) fn placeholders(start: usize, n: usize) -> String {
    (start..start + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// Unix seconds, the unit of the sent-message and pending cutoffs whatsapp-rust passes.
pub(crate) fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}
