//! whatsapp-rust's pending-inbound buffer (`wa_pending_inbound`, migration 0014): the
//! decrypted copy of each inbound message between "decrypted" and "our durability hook
//! committed it". A crash in between leaves the row and the stanza unacked; when the
//! server redelivers it, the client finds the row and runs the hook again from it.
//!
//! Batches are one transaction each, as the trait asks: the offline drain buffers a whole
//! commit batch per call.

use whatsapp_rust::wacore::store::traits::{PendingInboundKey, PendingInboundRow};

use super::{SqlDeviceStore, WaResult, col, db_err, now_secs};

impl SqlDeviceStore {
    /// Insert or replace: a replayed batch re-buffers rows that may still be there.
    pub(super) async fn pending_store(&self, rows: &[PendingInboundRow<'_>]) -> WaResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let gate = self.writer()?;
        let mut tx = gate.begin().await.map_err(db_err)?;
        let now = now_secs();
        for r in rows {
            sqlx::query(self.db.sql(
                "INSERT INTO wa_pending_inbound (session_id, chat, sender, msg_id, message, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (session_id, chat, sender, msg_id) DO UPDATE SET message = excluded.message,
                     created_at = excluded.created_at",
            ))
            .bind(&self.session)
            .bind(r.chat)
            .bind(r.sender)
            .bind(r.id)
            .bind(r.message)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }

    pub(super) async fn pending_get(&self, chat: &str, sender: &str, id: &str) -> WaResult<Option<Vec<u8>>> {
        let row = sqlx::query(
            self.db.sql("SELECT message FROM wa_pending_inbound WHERE session_id = $1 AND chat = $2 AND sender = $3 AND msg_id = $4"),
        )
        .bind(&self.session)
        .bind(chat)
        .bind(sender)
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        row.map(|r| col(&r, "message")).transpose()
    }

    pub(super) async fn pending_delete(&self, keys: &[PendingInboundKey<'_>]) -> WaResult<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let gate = self.writer()?;
        let mut tx = gate.begin().await.map_err(db_err)?;
        for k in keys {
            sqlx::query(self.db.sql(
                "DELETE FROM wa_pending_inbound WHERE session_id = $1 AND chat = $2 AND sender = $3 AND msg_id = $4",
            ))
            .bind(&self.session)
            .bind(k.chat)
            .bind(k.sender)
            .bind(k.id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }

    pub(super) async fn pending_delete_expired(&self, cutoff_timestamp: i64) -> WaResult<u32> {
        let done = sqlx::query(self.db.sql("DELETE FROM wa_pending_inbound WHERE session_id = $1 AND created_at < $2"))
            .bind(&self.session)
            .bind(cutoff_timestamp)
            .execute(&*self.writer()?)
            .await
            .map_err(db_err)?;
        Ok(u32::try_from(done.rows_affected()).unwrap_or(u32::MAX))
    }
}
