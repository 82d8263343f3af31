//! [`MsgSecretStore`] for [`SqlDeviceStore`]: the 32-byte message secrets that let later
//! add-ons (poll votes, reactions, edits) be decrypted, with their retention deadlines.

use whatsapp_rust::async_trait;
use whatsapp_rust::wacore::store::traits::{MsgSecretEntry, MsgSecretStore};

use super::{SqlDeviceStore, WaResult, col, db_err};

#[async_trait]
impl MsgSecretStore for SqlDeviceStore {
    /// One transaction per batch. On conflict the merge is the trait's
    /// `merge_msg_secret_expiry` (0 = never wins, else the later deadline) and
    /// `merge_msg_secret_message_ts` (the larger time), spelled as CASE because SQLite
    /// and Postgres disagree on the two-argument max.
    async fn put_msg_secrets(&self, entries: Vec<MsgSecretEntry>) -> WaResult<usize> {
        if entries.is_empty() {
            return Ok(0);
        }
        let gate = self.writer()?;
        let mut tx = gate.begin().await.map_err(db_err)?;
        for e in &entries {
            sqlx::query(self.db.sql(
                "INSERT INTO wa_msg_secrets (session_id, chat, sender, msg_id, secret, expires_at, message_ts)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (session_id, chat, sender, msg_id) DO UPDATE SET secret = excluded.secret,
                     expires_at = CASE
                         WHEN wa_msg_secrets.expires_at = 0 OR excluded.expires_at = 0 THEN 0
                         WHEN excluded.expires_at > wa_msg_secrets.expires_at THEN excluded.expires_at
                         ELSE wa_msg_secrets.expires_at END,
                     message_ts = CASE
                         WHEN excluded.message_ts > wa_msg_secrets.message_ts THEN excluded.message_ts
                         ELSE wa_msg_secrets.message_ts END",
            ))
            .bind(&self.session)
            .bind(&*e.chat)
            .bind(&*e.sender)
            .bind(&*e.msg_id)
            .bind(&e.secret[..])
            .bind(e.expires_at)
            .bind(e.message_ts)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(entries.len())
    }

    async fn get_msg_secret(&self, chat: &str, sender: &str, msg_id: &str) -> WaResult<Option<Vec<u8>>> {
        Ok(self.get_msg_secret_with_ts(chat, sender, msg_id).await?.map(|(secret, _)| secret))
    }

    async fn get_msg_secret_with_ts(&self, chat: &str, sender: &str, msg_id: &str) -> WaResult<Option<(Vec<u8>, i64)>> {
        let row = sqlx::query(self.db.sql(
            "SELECT secret, message_ts FROM wa_msg_secrets
             WHERE session_id = $1 AND chat = $2 AND sender = $3 AND msg_id = $4",
        ))
        .bind(&self.session)
        .bind(chat)
        .bind(sender)
        .bind(msg_id)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        row.map(|r| Ok((col(&r, "secret")?, col(&r, "message_ts")?))).transpose()
    }

    /// Rows with a deadline at or before the cutoff go; `expires_at = 0` (never) stays.
    async fn delete_expired_msg_secrets(&self, cutoff_timestamp: i64) -> WaResult<u32> {
        let done = sqlx::query(
            self.db.sql("DELETE FROM wa_msg_secrets WHERE session_id = $1 AND expires_at <> 0 AND expires_at <= $2"),
        )
        .bind(&self.session)
        .bind(cutoff_timestamp)
        .execute(&*self.writer()?)
        .await
        .map_err(db_err)?;
        Ok(u32::try_from(done.rows_affected()).unwrap_or(u32::MAX))
    }
}
