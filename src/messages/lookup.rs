//! Finds a message by id among a session's messages: the message store (what the session
//! received, and what its other devices sent) first, then the send queue's records (what
//! this gateway sent).

use sqlx::Row;

use crate::store::{Db, RowText, StoreResult};

/// What an operation needs to address a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsgRef {
    pub session_id: String,
    /// The chat's JID (the other party in a 1:1 chat, or the group).
    pub chat: String,
    pub id: String,
    /// Who sent it (groups need it to address someone else's message).
    pub sender: Option<String>,
    pub from_me: bool,
    /// When it was sent, Unix milliseconds.
    pub ts_ms: i64,
    /// False for a message still waiting in the send queue.
    pub sent: bool,
}

impl MsgRef {
    pub fn is_group(&self) -> bool {
        self.chat.ends_with("@g.us")
    }
}

/// The message `id` of `session_id`; with `chat`, a message of that chat is preferred
/// (ids are unique per sender, not globally), else any message with the id.
pub async fn find(db: &Db, session_id: &str, id: &str, chat: Option<&str>) -> StoreResult<Option<MsgRef>> {
    let rows = sqlx::query(
        db.sql("SELECT chat_jid, sender_jid, from_me, ts FROM messages WHERE session_id = $1 AND id = $2 ORDER BY ts DESC LIMIT 20"),
    )
    .bind(session_id)
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    let mut found: Vec<MsgRef> = rows
        .iter()
        .map(|r| {
            Ok(MsgRef {
                session_id: session_id.to_string(),
                chat: r.text("chat_jid")?,
                id: id.to_string(),
                sender: r.text_opt("sender_jid")?,
                from_me: r.try_get::<i64, _>("from_me")? != 0,
                ts_ms: r.try_get("ts")?,
                sent: true,
            })
        })
        .collect::<StoreResult<_>>()?;
    let sent = sqlx::query(db.sql(
        "SELECT to_jid, status, created_at, sent_at FROM outbound_messages WHERE session_id = $1 AND message_id = $2",
    ))
    .bind(session_id)
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    if let Some(r) = sent {
        let status = r.text("status")?;
        let sent_at: Option<i64> = r.try_get("sent_at")?;
        found.push(MsgRef {
            session_id: session_id.to_string(),
            chat: r.text("to_jid")?,
            id: id.to_string(),
            sender: None,
            from_me: true,
            ts_ms: sent_at.unwrap_or(r.try_get("created_at")?),
            sent: !matches!(status.as_str(), "queued" | "sending" | "failed"),
        });
    }
    let preferred = chat.and_then(|c| found.iter().position(|m| m.chat == c));
    Ok(match preferred {
        Some(i) => Some(found.swap_remove(i)),
        None => found.into_iter().next(),
    })
}
