//! The trusted-contact token and sent-message parts of [`ProtocolStore`] for
//! [`SqlDeviceStore`], as inherent helpers the trait impl in `protocol.rs` delegates to.
//!
//! The two tc-token writers (sender-side issuance and received-token notifications) each
//! own one field of the same row and must not clobber each other, so both are single
//! atomic upserts here rather than the trait's read-modify-write defaults.
//!
//! [`ProtocolStore`]: whatsapp_rust::wacore::store::traits::ProtocolStore

use whatsapp_rust::wacore::store::traits::TcTokenEntry;

use super::{SqlDeviceStore, WaResult, col, db_err, now_secs, text_col};

/// A row count as the trait's `u32`; saturates instead of wrapping on absurd counts.
fn count(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl SqlDeviceStore {
    pub(super) async fn tc_get(&self, jid: &str) -> WaResult<Option<TcTokenEntry>> {
        let row = sqlx::query(self.db.sql(
            "SELECT token, token_timestamp, sender_timestamp FROM wa_tc_tokens WHERE session_id = $1 AND jid = $2",
        ))
        .bind(&self.session)
        .bind(jid)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(TcTokenEntry {
            token: col(&row, "token")?,
            token_timestamp: col(&row, "token_timestamp")?,
            sender_timestamp: col(&row, "sender_timestamp")?,
        }))
    }

    pub(super) async fn tc_put(&self, jid: &str, entry: &TcTokenEntry) -> WaResult<()> {
        sqlx::query(self.db.sql(
            "INSERT INTO wa_tc_tokens (session_id, jid, token, token_timestamp, sender_timestamp)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (session_id, jid) DO UPDATE SET token = excluded.token,
                 token_timestamp = excluded.token_timestamp, sender_timestamp = excluded.sender_timestamp",
        ))
        .bind(&self.session)
        .bind(jid)
        .bind(&entry.token[..])
        .bind(entry.token_timestamp)
        .bind(entry.sender_timestamp)
        .execute(&*self.writer()?)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    pub(super) async fn tc_all_jids(&self) -> WaResult<Vec<String>> {
        let rows = sqlx::query(self.db.sql("SELECT jid FROM wa_tc_tokens WHERE session_id = $1 ORDER BY jid"))
            .bind(&self.session)
            .fetch_all(self.pool())
            .await
            .map_err(db_err)?;
        rows.iter().map(|r| text_col(r, "jid")).collect()
    }

    /// Drops a row only when both its received token (empty or older than
    /// `token_cutoff`) and its sender bucket (null or older than `sender_cutoff`) are
    /// stale: the negation of InMemoryBackend's `token_live || sender_live`.
    pub(super) async fn tc_delete_expired(&self, token_cutoff: i64, sender_cutoff: i64) -> WaResult<u32> {
        let done = sqlx::query(self.db.sql(
            "DELETE FROM wa_tc_tokens WHERE session_id = $1
               AND NOT (length(token) > 0 AND token_timestamp >= $2)
               AND NOT (sender_timestamp IS NOT NULL AND sender_timestamp >= $3)",
        ))
        .bind(&self.session)
        .bind(token_cutoff)
        .bind(sender_cutoff)
        .execute(&*self.writer()?)
        .await
        .map_err(db_err)?;
        Ok(count(done.rows_affected()))
    }

    /// Inserts a byte-less placeholder, or only ever moves an existing sender bucket
    /// forward, leaving the token bytes alone.
    pub(super) async fn tc_touch_sender(&self, jid: &str, sender_timestamp: i64) -> WaResult<()> {
        sqlx::query(self.db.sql(
            "INSERT INTO wa_tc_tokens (session_id, jid, token, token_timestamp, sender_timestamp)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (session_id, jid) DO UPDATE SET sender_timestamp = CASE
                 WHEN wa_tc_tokens.sender_timestamp IS NULL OR wa_tc_tokens.sender_timestamp < excluded.sender_timestamp
                 THEN excluded.sender_timestamp ELSE wa_tc_tokens.sender_timestamp END",
        ))
        .bind(&self.session)
        .bind(jid)
        .bind(Vec::<u8>::new())
        .bind(sender_timestamp)
        .bind(sender_timestamp)
        .execute(&*self.writer()?)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// Newer wins: the token pair is replaced only over a placeholder or by a token at
    /// least as new; the sender bucket is never touched.
    pub(super) async fn tc_store_received(&self, jid: &str, token: &[u8], token_timestamp: i64) -> WaResult<()> {
        sqlx::query(self.db.pick(
            "INSERT INTO wa_tc_tokens (session_id, jid, token, token_timestamp, sender_timestamp)
                 VALUES ($1, $2, $3, $4, NULL)
                 ON CONFLICT (session_id, jid) DO UPDATE SET token = excluded.token,
                     token_timestamp = excluded.token_timestamp
                 WHERE length(wa_tc_tokens.token) = 0 OR excluded.token_timestamp >= wa_tc_tokens.token_timestamp",
            // MySQL has no WHERE here and applies assignments left to right: the
            // timestamp moves first under the condition, and the token follows exactly
            // when it did (an unchanged timestamp equal to the new one also passed it).
            "INSERT INTO wa_tc_tokens (session_id, jid, token, token_timestamp, sender_timestamp)
                 VALUES (?, ?, ?, ?, NULL)
                 ON DUPLICATE KEY UPDATE
                     token_timestamp = IF(length(token) = 0 OR VALUES(token_timestamp) >= token_timestamp,
                                          VALUES(token_timestamp), token_timestamp),
                     token = IF(token_timestamp = VALUES(token_timestamp), VALUES(token), token)",
        ))
        .bind(&self.session)
        .bind(jid)
        .bind(token)
        .bind(token_timestamp)
        .execute(&*self.writer()?)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// Unlike InMemoryBackend there is no count cap: the cap only bounds RAM, and rows
    /// here are pruned by the keepalive sweep (`sent_delete_expired`).
    pub(super) async fn sent_store(&self, chat_jid: &str, message_id: &str, payload: &[u8]) -> WaResult<()> {
        sqlx::query(self.db.sql(
            "INSERT INTO wa_sent_messages (session_id, chat_jid, message_id, payload, created_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (session_id, chat_jid, message_id) DO UPDATE SET payload = excluded.payload,
                 created_at = excluded.created_at",
        ))
        .bind(&self.session)
        .bind(chat_jid)
        .bind(message_id)
        .bind(payload)
        .bind(now_secs())
        .execute(&*self.writer()?)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// Select and delete in one statement, so two retry receipts racing for the same
    /// message never both get the payload.
    pub(super) async fn sent_take(&self, chat_jid: &str, message_id: &str) -> WaResult<Option<Vec<u8>>> {
        let row = sqlx::query(self.db.sql(
            "DELETE FROM wa_sent_messages WHERE session_id = $1 AND chat_jid = $2 AND message_id = $3
             RETURNING payload",
        ))
        .bind(&self.session)
        .bind(chat_jid)
        .bind(message_id)
        .fetch_optional(&*self.writer()?)
        .await
        .map_err(db_err)?;
        // By position: MariaDB names no columns for a prepared `… RETURNING`.
        row.map(|r| sqlx::Row::try_get(&r, 0).map_err(db_err)).transpose()
    }

    pub(super) async fn sent_delete_expired(&self, cutoff_timestamp: i64) -> WaResult<u32> {
        let done = sqlx::query(self.db.sql("DELETE FROM wa_sent_messages WHERE session_id = $1 AND created_at < $2"))
            .bind(&self.session)
            .bind(cutoff_timestamp)
            .execute(&*self.writer()?)
            .await
            .map_err(db_err)?;
        Ok(count(done.rows_affected()))
    }
}
