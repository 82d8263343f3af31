//! Inbound writes to the message store: messages, chats (last message, unread count) and contacts per
//! session, written inside the same transaction as the outbox rows of the same events.

use serde_json::Value;
use sqlx::{Any, Transaction};

use crate::store::{Db, StoreResult, now_ms};

/// A write the normalizer asks for, one per event that changes the store.
#[derive(Debug, Clone)]
pub enum StoreOp {
    /// A new message (inbound or sent from another device of this account).
    Message {
        chat: String,
        id: String,
        sender: Option<String>,
        sender_lid: Option<String>,
        from_me: bool,
        content_type: String,
        content: Value,
        ts: i64,
        push_name: Option<String>,
    },
    Edited {
        chat: String,
        id: String,
        content: Value,
        ts: i64,
    },
    Revoked {
        chat: String,
        id: String,
        ts: i64,
    },
}

pub async fn apply(db: &Db, tx: &mut Transaction<'static, Any>, session: &str, op: &StoreOp) -> StoreResult<()> {
    let now = now_ms();
    match op {
        StoreOp::Message { chat, id, sender, sender_lid, from_me, content_type, content, ts, push_name } => {
            let inserted = sqlx::query(
                db.sql("INSERT INTO messages (session_id, chat_jid, id, sender_jid, sender_lid, from_me, direction, content_type,
                                       content, ts, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                 ON CONFLICT (session_id, chat_jid, id) DO NOTHING"),
            )
            .bind(session)
            .bind(chat)
            .bind(id)
            .bind(sender.as_deref())
            .bind(sender_lid.as_deref())
            .bind(i64::from(*from_me))
            .bind(if *from_me { "out" } else { "in" })
            .bind(content_type)
            .bind(content.to_string())
            .bind(*ts)
            .bind(now)
            .execute(&mut **tx)
            .await?
            .rows_affected();
            // A redelivered message must not count twice as unread.
            let unread = i64::from(inserted > 0 && !from_me);
            sqlx::query(db.sql(
                "INSERT INTO chats (session_id, jid, last_message_id, last_message_at, unread_count, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (session_id, jid) DO UPDATE SET
                     last_message_id = CASE WHEN excluded.last_message_at >= COALESCE(chats.last_message_at, 0)
                                            THEN excluded.last_message_id ELSE chats.last_message_id END,
                     last_message_at = CASE WHEN excluded.last_message_at >= COALESCE(chats.last_message_at, 0)
                                            THEN excluded.last_message_at ELSE chats.last_message_at END,
                     unread_count = CASE WHEN $7 = 1 THEN 0 ELSE chats.unread_count + excluded.unread_count END,
                     updated_at = excluded.updated_at",
            ))
            .bind(session)
            .bind(chat)
            .bind(id)
            .bind(*ts)
            .bind(unread)
            .bind(now)
            // Writing from another device of this account means the chat was read there.
            .bind(i64::from(*from_me))
            .execute(&mut **tx)
            .await?;
            if let (Some(jid), false) = (sender.as_deref().or(sender_lid.as_deref()), *from_me) {
                sqlx::query(db.sql(
                    "INSERT INTO contacts (session_id, jid, lid, push_name, updated_at) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (session_id, jid) DO UPDATE SET
                         lid = COALESCE(excluded.lid, contacts.lid),
                         push_name = COALESCE(excluded.push_name, contacts.push_name),
                         updated_at = excluded.updated_at",
                ))
                .bind(session)
                .bind(jid)
                .bind(sender_lid.as_deref())
                .bind(push_name.as_deref())
                .bind(now)
                .execute(&mut **tx)
                .await?;
            }
        }
        StoreOp::Edited { chat, id, content, ts } => {
            sqlx::query(db.sql(
                "UPDATE messages SET content = $1, edited_at = $2 WHERE session_id = $3 AND chat_jid = $4 AND id = $5",
            ))
            .bind(serde_json::json!({ "message": content }).to_string())
            .bind(*ts)
            .bind(session)
            .bind(chat)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        }
        StoreOp::Revoked { chat, id, ts } => {
            sqlx::query(db.sql(
                "UPDATE messages SET revoked_at = $1, content = $2 WHERE session_id = $3 AND chat_jid = $4 AND id = $5",
            ))
            .bind(*ts)
            .bind(Value::Null.to_string())
            .bind(session)
            .bind(chat)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

/// Records a receipt's state on stored messages (the outbound side keeps its own table).
pub async fn ack(
    db: &Db,
    tx: &mut Transaction<'static, Any>,
    session: &str,
    chat: &str,
    ids: &[String],
    state: &str,
) -> StoreResult<()> {
    for id in ids {
        sqlx::query(db.sql("UPDATE messages SET status = $1 WHERE session_id = $2 AND chat_jid = $3 AND id = $4"))
            .bind(state)
            .bind(session)
            .bind(chat)
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
