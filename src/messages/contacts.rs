//! The `contacts` table: accounts that wrote to a session, with their LID and push name
//! (written by [`super::inbound`]).

use crate::store::{Db, RowText, StoreResult};

/// A contact as the store knows it.
pub struct Contact {
    pub jid: String,
    pub lid: Option<String>,
    pub push_name: Option<String>,
}

/// The session's contacts, most recently seen first.
pub async fn recent(db: &Db, session_id: &str, limit: i64) -> StoreResult<Vec<Contact>> {
    let rows = sqlx::query(
        db.sql("SELECT jid, lid, push_name FROM contacts WHERE session_id = $1 ORDER BY updated_at DESC, jid LIMIT $2"),
    )
    .bind(session_id)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Contact {
                jid: r.text_opt("jid")?.unwrap_or_default(),
                lid: r.text_opt("lid")?,
                push_name: r.text_opt("push_name")?,
            })
        })
        .collect()
}
