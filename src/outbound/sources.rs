//! Reads the send path needs from the message stores: the unread messages of a chat (to
//! mark them read before a paced send) and the content of a stored message (to forward it).

use base64::Engine;
use serde_json::Value;
use sqlx::Row;

use super::content::{Card, Common, Content};

use crate::store::{Db, StoreError, StoreResult};

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
            sqlx::query_scalar("SELECT unread_count FROM chats WHERE session_id = $1 AND jid = $2")
                .bind(session)
                .bind(chat)
                .fetch_optional(self.pool())
                .await?;
        let n = unread.unwrap_or(0).min(MARK_READ_LIMIT);
        if n <= 0 {
            return Ok(vec![]);
        }
        let rows = sqlx::query(
            "SELECT id, sender_jid FROM messages WHERE session_id = $1 AND chat_jid = $2 AND from_me = 0
             ORDER BY ts DESC LIMIT $3",
        )
        .bind(session)
        .bind(chat)
        .bind(n)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("sender_jid")?))).collect()
    }

    /// The chat was read (by a paced send): its unread count drops to zero.
    pub async fn chat_mark_read(&self, session: &str, chat: &str) -> StoreResult<()> {
        sqlx::query("UPDATE chats SET unread_count = 0 WHERE session_id = $1 AND jid = $2")
            .bind(session)
            .bind(chat)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The content of message `id` of `session`: the queue's own record first (it keeps
    /// the full payload), then the inbound store.
    pub async fn stored_message(&self, session: &str, id: &str) -> StoreResult<Stored> {
        let payload: Option<String> = sqlx::query_scalar(
            "SELECT payload FROM outbound_messages WHERE session_id = $1 AND message_id = $2 ORDER BY seq LIMIT 1",
        )
        .bind(session)
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        if let Some(payload) = payload {
            return Ok(Stored::Outbound { payload });
        }
        let row = sqlx::query(
            "SELECT content_type, content FROM messages WHERE session_id = $1 AND id = $2 AND revoked_at IS NULL
             ORDER BY ts DESC LIMIT 1",
        )
        .bind(session)
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        let content: String = row.try_get("content")?;
        Ok(Stored::Inbound {
            content_type: row.try_get("content_type")?,
            content: serde_json::from_str(&content).unwrap_or(serde_json::Value::Null),
        })
    }
}

fn unsupported(kind: &str) -> String {
    format!("a received {kind} message cannot be forwarded: the gateway keeps its text only")
}

/// The content to send again, from what the store kept.
fn content_of(stored: Stored) -> Result<Content, String> {
    match stored {
        Stored::Outbound { payload } => {
            let mut c: Content =
                serde_json::from_str(&payload).map_err(|_| "the stored message is unreadable".to_string())?;
            if let Content::Poll { secret, .. } = &mut c {
                // A poll is a new poll for its new chat: votes are encrypted with its own secret.
                let fresh: [u8; 32] = rand::random();
                *secret = base64::engine::general_purpose::STANDARD.encode(fresh);
            }
            Ok(c)
        }
        Stored::Inbound { content_type, content } => {
            let m = &content["message"];
            let s = |v: &Value| v.as_str().map(str::to_string);
            let common = Common::default();
            match content_type.as_str() {
                "text" | "extended_text" => match s(&m["text"]).filter(|t| !t.is_empty()) {
                    Some(text) => Ok(Content::Text { text, preview: None, common }),
                    None => Err(unsupported(&content_type)),
                },
                "location" => match (m["latitude"].as_f64(), m["longitude"].as_f64()) {
                    (Some(latitude), Some(longitude)) => Ok(Content::Location {
                        latitude,
                        longitude,
                        name: s(&m["name"]),
                        address: s(&m["address"]),
                        url: None,
                        common,
                    }),
                    _ => Err(unsupported(&content_type)),
                },
                "contact" | "contacts" => {
                    let list = match m["contacts"].as_array() {
                        Some(l) => l.clone(),
                        None => vec![m.clone()],
                    };
                    let cards: Vec<Card> = list
                        .iter()
                        .filter_map(|c| Some(Card { display_name: s(&c["displayName"])?, vcard: s(&c["vcard"])? }))
                        .collect();
                    if cards.is_empty() {
                        return Err(unsupported(&content_type));
                    }
                    Ok(Content::Contact { cards, common })
                }
                other => Err(unsupported(other)),
            }
        }
    }
}

/// What a forward of `stored` sends: its content, marked forwarded, quoting nothing
/// (mentions stay with the text they belong to). Err: why it cannot be forwarded.
pub fn forward_content(stored: Stored) -> Result<Content, String> {
    content_of(stored).map(forwarded)
}

/// `content` marked forwarded, quoting nothing.
pub fn forwarded(mut content: Content) -> Content {
    let c = content.common_mut();
    c.reply_to = None;
    c.forwarded = true;
    content
}
