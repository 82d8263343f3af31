//! What the send path reads from the message store: the unread messages of a chat (to
//! mark them read before a paced send) and the content of a stored message (to forward it).
//! The queue's own records of sent messages are read too, since a forward may start from
//! a message this gateway sent.

use crate::store::{Db, RowText, StoreError, StoreResult};

/// A stored message a forward can start from.
#[derive(Debug, Clone)]
pub enum Stored {
    /// Sent through this gateway's queue: the job's own payload (JSON of `Content`).
    Outbound { payload: String },
    /// Received (or sent from another device): the inbound store's normalized content.
    Inbound { content_type: String, content: serde_json::Value },
}

/// Unread messages marked read at most per paced send (WhatsApp apps mark the visible ones).
const MARK_READ_LIMIT: i64 = 50;

impl Db {
    /// The newest unread incoming messages of `chat` as (id, sender), empty when the chat
    /// has nothing unread.
    pub async fn unread_in_chat(&self, session: &str, chat: &str) -> StoreResult<Vec<(String, Option<String>)>> {
        let unread: Option<i64> =
            sqlx::query_scalar(self.sql("SELECT unread_count FROM chats WHERE session_id = $1 AND jid = $2"))
                .bind(session)
                .bind(chat)
                .fetch_optional(self.pool())
                .await?;
        let n = unread.unwrap_or(0).min(MARK_READ_LIMIT);
        if n <= 0 {
            return Ok(vec![]);
        }
        let rows = sqlx::query(self.sql(
            "SELECT id, sender_jid FROM messages WHERE session_id = $1 AND chat_jid = $2 AND from_me = 0
             ORDER BY ts DESC LIMIT $3",
        ))
        .bind(session)
        .bind(chat)
        .bind(n)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| Ok((r.text("id")?, r.text_opt("sender_jid")?))).collect()
    }

    /// The chat was read (by a paced send): its unread count drops to zero.
    pub async fn chat_mark_read(&self, session: &str, chat: &str) -> StoreResult<()> {
        sqlx::query(self.sql("UPDATE chats SET unread_count = 0 WHERE session_id = $1 AND jid = $2"))
            .bind(session)
            .bind(chat)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The content of message `id` of `session`: the queue's own record first (it keeps
    /// the full payload), then the inbound store.
    pub async fn stored_message(&self, session: &str, id: &str) -> StoreResult<Stored> {
        let payload = sqlx::query(self.sql(
            "SELECT payload FROM outbound_messages WHERE session_id = $1 AND message_id = $2 ORDER BY seq LIMIT 1",
        ))
        .bind(session)
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .map(|r| r.text("payload"))
        .transpose()?;
        if let Some(payload) = payload {
            return Ok(Stored::Outbound { payload });
        }
        let row = sqlx::query(self.sql(
            "SELECT content_type, content FROM messages WHERE session_id = $1 AND id = $2 AND revoked_at IS NULL
             ORDER BY ts DESC LIMIT 1",
        ))
        .bind(session)
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        let content = row.text("content")?;
        Ok(Stored::Inbound {
            content_type: row.text("content_type")?,
            content: serde_json::from_str(&content).unwrap_or(serde_json::Value::Null),
        })
    }
}
