//! Reads and flag updates on the message store's `chats` and `messages` tables (written
//! by `messages::inbound`). Every query is scoped to one session; the caller has already
//! checked that the session belongs to the tenant.

use serde_json::Value;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::store::{Db, RowText, StoreResult, now_ms};

/// Content types that carry media (as `inbound::normalize::content` names them).
pub const MEDIA_TYPES: [&str; 6] = ["image", "video", "audio", "ptt", "document", "sticker"];

/// One chat row plus its last message, as stored.
#[derive(Debug, Clone)]
pub struct ChatRow {
    pub jid: String,
    pub name: Option<String>,
    pub last_message_id: Option<String>,
    pub last_message_at: Option<i64>,
    pub unread_count: i64,
    pub muted_until: Option<i64>,
    pub archived: bool,
    pub pinned: bool,
    pub updated_at: i64,
    pub last_type: Option<String>,
    pub last_content: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatSort {
    LastMessage,
    UnreadCount,
    Name,
}

/// Filters of the chat list; `None` means "either".
#[derive(Debug, Clone, Default)]
pub struct ChatFilter {
    pub unread: Option<bool>,
    pub archived: Option<bool>,
    pub groups: Option<bool>,
    pub has_media: bool,
    pub search: Option<String>,
}

/// A bind value for queries assembled at run time.
enum Arg {
    I(i64),
    S(String),
}

fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    args: &'q [Arg],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for a in args {
        q = match a {
            Arg::I(i) => q.bind(*i),
            Arg::S(s) => q.bind(s.as_str()),
        };
    }
    q
}

/// `LIKE` pattern matching `s` anywhere, with `%`/`_` taken literally.
fn contains_pattern(s: &str) -> String {
    let escaped = s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

const CHAT_COLUMNS: &str = "c.jid, c.name, c.last_message_id, c.last_message_at, c.unread_count, c.muted_until, \
                            c.archived, c.pinned, c.updated_at, m.content_type AS last_type, m.content AS last_content";

fn chat_row(r: &AnyRow) -> StoreResult<ChatRow> {
    let content = r.text_opt("last_content")?;
    Ok(ChatRow {
        jid: r.text("jid")?,
        name: r.text_opt("name")?,
        last_message_id: r.text_opt("last_message_id")?,
        last_message_at: r.try_get("last_message_at")?,
        unread_count: r.try_get("unread_count")?,
        muted_until: r.try_get("muted_until")?,
        archived: r.try_get::<i64, _>("archived")? != 0,
        pinned: r.try_get::<i64, _>("pinned")? != 0,
        updated_at: r.try_get("updated_at")?,
        last_type: r.text_opt("last_type")?,
        last_content: content.and_then(|c| serde_json::from_str(&c).ok()),
    })
}

/// A page of the session's chats and the total matching the filter.
pub async fn list_chats(
    db: &Db,
    session: &str,
    f: &ChatFilter,
    sort: ChatSort,
    asc: bool,
    limit: i64,
    offset: i64,
) -> StoreResult<(Vec<ChatRow>, i64)> {
    let mut args = vec![Arg::S(session.to_string())];
    let mut cond = String::from("c.session_id = $1");
    if let Some(u) = f.unread {
        cond.push_str(if u { " AND c.unread_count > 0" } else { " AND c.unread_count = 0" });
    }
    if let Some(a) = f.archived {
        cond.push_str(if a { " AND c.archived = 1" } else { " AND c.archived = 0" });
    }
    if let Some(g) = f.groups {
        cond.push_str(if g { " AND c.jid LIKE '%@g.us'" } else { " AND c.jid NOT LIKE '%@g.us'" });
    }
    if f.has_media {
        let types = MEDIA_TYPES.iter().map(|t| format!("'{t}'")).collect::<Vec<_>>().join(", ");
        cond.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM messages x WHERE x.session_id = c.session_id AND x.chat_jid = c.jid \
               AND x.content_type IN ({types}))"
        ));
    }
    if let Some(s) = &f.search {
        // Bound once per use: MySQL binds by position.
        let pattern = contains_pattern(&s.to_lowercase());
        args.push(Arg::S(pattern.clone()));
        args.push(Arg::S(pattern));
        let n = args.len();
        cond.push_str(&format!(
            " AND (LOWER(c.jid) LIKE ${} ESCAPE '\\' OR LOWER(COALESCE(c.name, '')) LIKE ${n} ESCAPE '\\')",
            n - 1
        ));
    }
    let total_sql = db.sql_string(format!("SELECT COUNT(*) AS n FROM chats c WHERE {cond}"));
    let total: i64 = bind_all(sqlx::query(&total_sql), &args).fetch_one(db.pool()).await?.try_get("n")?;

    let key = match sort {
        ChatSort::LastMessage => "COALESCE(c.last_message_at, 0)",
        ChatSort::UnreadCount => "c.unread_count",
        ChatSort::Name => "LOWER(COALESCE(c.name, c.jid))",
    };
    let dir = if asc { "ASC" } else { "DESC" };
    let n = args.len();
    let sql = db.sql_string(format!(
        "SELECT {CHAT_COLUMNS} FROM chats c LEFT JOIN messages m
           ON m.session_id = c.session_id AND m.chat_jid = c.jid AND m.id = c.last_message_id
         WHERE {cond} ORDER BY {key} {dir}, c.jid {dir} LIMIT ${} OFFSET ${}",
        n + 1,
        n + 2
    ));
    args.push(Arg::I(limit));
    args.push(Arg::I(offset));
    let rows = bind_all(sqlx::query(&sql), &args).fetch_all(db.pool()).await?;
    Ok((rows.iter().map(chat_row).collect::<StoreResult<_>>()?, total))
}

pub async fn get_chat(db: &Db, session: &str, jid: &str) -> StoreResult<Option<ChatRow>> {
    let sql = db.sql_string(format!(
        "SELECT {CHAT_COLUMNS} FROM chats c LEFT JOIN messages m
           ON m.session_id = c.session_id AND m.chat_jid = c.jid AND m.id = c.last_message_id
         WHERE c.session_id = $1 AND c.jid = $2"
    ));
    let row = sqlx::query(&sql).bind(session).bind(jid).fetch_optional(db.pool()).await?;
    row.as_ref().map(chat_row).transpose()
}

/// One stored message.
#[derive(Debug, Clone)]
pub struct MessageRow {
    pub id: String,
    pub chat_jid: String,
    pub sender_jid: Option<String>,
    pub from_me: bool,
    pub content_type: String,
    pub content: Value,
    pub ts: i64,
    pub edited_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub status: Option<String>,
    pub created_at: i64,
}

/// Where a page of messages starts: strictly older than `(ts, created_at, id)`.
/// WhatsApp timestamps have whole seconds, so the time the store took the message
/// orders messages of the same second.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub ts: i64,
    pub created_at: i64,
    pub id: String,
}

#[derive(Debug, Clone, Default)]
pub struct MessageFilter {
    pub content_type: Option<String>,
    pub media_only: bool,
    pub from_me: Option<bool>,
    /// Milliseconds, exclusive bounds.
    pub after: Option<i64>,
    pub before: Option<i64>,
    pub search: Option<String>,
}

fn message_row(r: &AnyRow) -> StoreResult<MessageRow> {
    let content = r.text("content")?;
    Ok(MessageRow {
        id: r.text("id")?,
        chat_jid: r.text("chat_jid")?,
        sender_jid: r.text_opt("sender_jid")?,
        from_me: r.try_get::<i64, _>("from_me")? != 0,
        content_type: r.text("content_type")?,
        content: serde_json::from_str(&content).unwrap_or(Value::Null),
        ts: r.try_get("ts")?,
        edited_at: r.try_get("edited_at")?,
        revoked_at: r.try_get("revoked_at")?,
        status: r.text_opt("status")?,
        created_at: r.try_get("created_at")?,
    })
}

/// Messages of one chat, newest first: after `cursor` when given, else from `offset`.
/// Returns the page and the total matching the filter (cursor aside).
pub async fn list_messages(
    db: &Db,
    session: &str,
    chat: &str,
    f: &MessageFilter,
    cursor: Option<&Cursor>,
    limit: i64,
    offset: i64,
) -> StoreResult<(Vec<MessageRow>, i64)> {
    let mut args = vec![Arg::S(session.to_string()), Arg::S(chat.to_string())];
    let mut cond = String::from("session_id = $1 AND chat_jid = $2");
    if let Some(t) = &f.content_type {
        args.push(Arg::S(t.clone()));
        cond.push_str(&format!(" AND content_type = ${}", args.len()));
    }
    if f.media_only {
        let types = MEDIA_TYPES.iter().map(|t| format!("'{t}'")).collect::<Vec<_>>().join(", ");
        cond.push_str(&format!(" AND content_type IN ({types})"));
    }
    if let Some(me) = f.from_me {
        cond.push_str(if me { " AND from_me = 1" } else { " AND from_me = 0" });
    }
    if let Some(a) = f.after {
        args.push(Arg::I(a));
        cond.push_str(&format!(" AND ts > ${}", args.len()));
    }
    if let Some(b) = f.before {
        args.push(Arg::I(b));
        cond.push_str(&format!(" AND ts < ${}", args.len()));
    }
    if let Some(s) = &f.search {
        args.push(Arg::S(contains_pattern(&s.to_lowercase())));
        cond.push_str(&format!(" AND LOWER(content) LIKE ${} ESCAPE '\\'", args.len()));
    }
    let total_sql = db.sql_string(format!("SELECT COUNT(*) AS n FROM messages WHERE {cond}"));
    let total: i64 = bind_all(sqlx::query(&total_sql), &args).fetch_one(db.pool()).await?.try_get("n")?;

    let mut page_cond = cond;
    if let Some(c) = cursor {
        // Each value bound once per use, in order: MySQL binds by position.
        let t = args.len() + 1;
        args.extend([Arg::I(c.ts), Arg::I(c.ts), Arg::I(c.created_at), Arg::I(c.created_at), Arg::S(c.id.clone())]);
        page_cond.push_str(&format!(
            " AND (ts < ${t} OR (ts = ${} AND (created_at < ${} OR (created_at = ${} AND id < ${}))))",
            t + 1,
            t + 2,
            t + 3,
            t + 4
        ));
    }
    let n = args.len();
    let sql = db.sql_string(format!(
        "SELECT id, chat_jid, sender_jid, from_me, content_type, content, ts, edited_at, revoked_at, status, created_at
         FROM messages WHERE {page_cond} ORDER BY ts DESC, created_at DESC, id DESC LIMIT ${} OFFSET ${}",
        n + 1,
        n + 2
    ));
    args.push(Arg::I(limit));
    args.push(Arg::I(if cursor.is_some() { 0 } else { offset }));
    let rows = bind_all(sqlx::query(&sql), &args).fetch_all(db.pool()).await?;
    Ok((rows.iter().map(message_row).collect::<StoreResult<_>>()?, total))
}

pub async fn get_message(db: &Db, session: &str, chat: &str, id: &str) -> StoreResult<Option<MessageRow>> {
    let row = sqlx::query(db.sql(
        "SELECT id, chat_jid, sender_jid, from_me, content_type, content, ts, edited_at, revoked_at, status, created_at
         FROM messages WHERE session_id = $1 AND chat_jid = $2 AND id = $3",
    ))
    .bind(session)
    .bind(chat)
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    row.as_ref().map(message_row).transpose()
}

/// Inbound messages of a chat not yet read by us, newest first (`limit` 0: all), only
/// those newer than `since` (ms) when given.
pub async fn unread_inbound(
    db: &Db,
    session: &str,
    chat: &str,
    limit: i64,
    since: Option<i64>,
) -> StoreResult<Vec<MessageRow>> {
    let lim = if limit > 0 { limit } else { i64::MAX };
    let rows = sqlx::query(db.sql(
        "SELECT id, chat_jid, sender_jid, from_me, content_type, content, ts, edited_at, revoked_at, status, created_at
         FROM messages WHERE session_id = $1 AND chat_jid = $2 AND from_me = 0 AND ts > $3
           AND (status IS NULL OR status NOT IN ('read', 'played'))
         ORDER BY ts DESC, created_at DESC, id DESC LIMIT $4",
    ))
    .bind(session)
    .bind(chat)
    .bind(since.unwrap_or(0))
    .bind(lim)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(message_row).collect()
}

/// A chat-level state change, from our own action or from another device's app-state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatChange {
    /// `Some(ms)` muted until (`-1`: indefinitely); `None` unmuted.
    Muted(Option<i64>),
    Archived(bool),
    Pinned(bool),
    /// Read (unread count 0) or marked unread.
    Read(bool),
    /// Messages up to this time (ms) cleared; the chat stays. The bound keeps a late
    /// echo of the clear from deleting messages that arrived after it.
    Cleared(i64),
}

/// Applies `change` to the chat row (created if the chat has no messages yet).
pub async fn apply_change(db: &Db, session: &str, jid: &str, change: &ChatChange) -> StoreResult<()> {
    let now = now_ms();
    let mut tx = db.pool().begin().await?;
    sqlx::query(db.sql(
        "INSERT INTO chats (session_id, jid, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (session_id, jid) DO NOTHING",
    ))
    .bind(session)
    .bind(jid)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let set = |sql: &'static str, value: Option<i64>| (sql, value);
    let (column, value) = match change {
        ChatChange::Muted(until) => set("muted_until", *until),
        ChatChange::Archived(a) => set("archived", Some(i64::from(*a))),
        ChatChange::Pinned(p) => set("pinned", Some(i64::from(*p))),
        // Marking unread sets a count of 1, as WhatsApp shows an unread dot.
        ChatChange::Read(r) => set("unread_count", Some(if *r { 0 } else { 1 })),
        ChatChange::Cleared(upto) => {
            sqlx::query(db.sql("DELETE FROM messages WHERE session_id = $1 AND chat_jid = $2 AND ts <= $3"))
                .bind(session)
                .bind(jid)
                .bind(*upto)
                .execute(&mut *tx)
                .await?;
            sqlx::query(db.sql(
                "UPDATE chats SET unread_count = 0, last_message_id = NULL, last_message_at = NULL, updated_at = $1
                 WHERE session_id = $2 AND jid = $3 AND COALESCE(last_message_at, 0) <= $4",
            ))
            .bind(now)
            .bind(session)
            .bind(jid)
            .bind(*upto)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(());
        }
    };
    let sql =
        db.sql_string(format!("UPDATE chats SET {column} = $1, updated_at = $2 WHERE session_id = $3 AND jid = $4"));
    sqlx::query(&sql).bind(value).bind(now).bind(session).bind(jid).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

/// Marks inbound messages as read by this account (so `read` does not send twice); the
/// same state a read receipt from another of our devices leaves (`messages::inbound::ack`).
pub async fn mark_read(db: &Db, session: &str, chat: &str, ids: &[String]) -> StoreResult<()> {
    for id in ids {
        sqlx::query(db.sql("UPDATE messages SET status = 'read' WHERE session_id = $1 AND chat_jid = $2 AND id = $3"))
            .bind(session)
            .bind(chat)
            .bind(id)
            .execute(db.pool())
            .await?;
    }
    Ok(())
}
