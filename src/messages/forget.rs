//! Forgetting a chat: its stored messages and its chat row, for one session.
//!
//! Callers reach this only through a session they already loaded in the caller's tenant
//! scope (session ids are unique per gateway), so the session id is the scope here.

use crate::store::{Db, StoreResult};

impl Db {
    /// Deletes the session's stored messages of `chat_jid`, its chat row and the
    /// whatsapp-rust group cache for it; returns how many messages went.
    pub async fn forget_chat(&self, session_id: &str, chat_jid: &str) -> StoreResult<u64> {
        let mut tx = self.pool().begin().await?;
        let messages = sqlx::query(self.sql("DELETE FROM messages WHERE session_id = $1 AND chat_jid = $2"))
            .bind(session_id)
            .bind(chat_jid)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query(self.sql("DELETE FROM chats WHERE session_id = $1 AND jid = $2"))
            .bind(session_id)
            .bind(chat_jid)
            .execute(&mut *tx)
            .await?;
        sqlx::query(self.sql("DELETE FROM wa_group_metadata WHERE session_id = $1 AND group_jid = $2"))
            .bind(session_id)
            .bind(chat_jid)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(messages)
    }

    /// How many messages the session has stored for `chat_jid` (tests and diagnostics).
    pub async fn count_chat_messages(&self, session_id: &str, chat_jid: &str) -> StoreResult<i64> {
        let n: i64 =
            sqlx::query_scalar(self.sql("SELECT COUNT(*) FROM messages WHERE session_id = $1 AND chat_jid = $2"))
                .bind(session_id)
                .bind(chat_jid)
                .fetch_one(self.pool())
                .await?;
        Ok(n)
    }
}
