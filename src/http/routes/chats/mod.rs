//! `GET /api/v1/chats` and `GET /api/v1/chats/{chatId}/messages`: the chat list and a
//! chat's messages, from the message store, so they need no live connection. Actions on a
//! chat (read, pin, pin a message, presence) are in `chat_ops.rs` and `chat_presence.rs`.

pub mod actions;
pub mod ops;
pub mod presence;

use axum::extract::State;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::auth::Tenant;
use crate::http::envelope::{Envelope, Reply};
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{ApiPath, ApiQuery};
use crate::http::routes::chats::actions::{ChatActionErrors, chat_id};
use crate::http::routes::sessions::views::SessionQuery;
use crate::http::session;
use crate::messages::chats::{self as cs, ChatFilter, ChatRow, ChatSort, Cursor, MessageFilter, MessageRow};
use crate::sessions::live::Session;
use crate::store::now_ms;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_chats)).routes(routes!(chat_messages))
}

const MAX_LIMIT: i64 = 200;
const MAX_SEARCH: usize = 100;

fn limit_of(limit: Option<i64>, default: i64) -> ApiResult<i64> {
    let l = limit.unwrap_or(default);
    if !(1..=MAX_LIMIT).contains(&l) {
        return Err(ApiError::field("limit", format!("must be 1-{MAX_LIMIT}")));
    }
    Ok(l)
}

fn offset_of(offset: Option<i64>) -> ApiResult<i64> {
    let o = offset.unwrap_or(0);
    if !(0..=1_000_000).contains(&o) {
        return Err(ApiError::field("offset", "must be 0-1000000"));
    }
    Ok(o)
}

fn search_of(search: Option<String>) -> ApiResult<Option<String>> {
    let s = search.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    if s.as_ref().is_some_and(|s| s.chars().count() > MAX_SEARCH) {
        return Err(ApiError::field("search", format!("must be at most {MAX_SEARCH} characters")));
    }
    Ok(s)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct ChatsQuery {
    /// The session id. Aliases: `id`, `session`.
    pub session_id: Option<String>,
    #[param(ignore)]
    pub id: Option<String>,
    #[param(ignore)]
    pub session: Option<String>,
    /// Chats per page, 1-200 (default 10).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// Chats to skip (default 0).
    #[param(minimum = 0, maximum = 1000000)]
    pub offset: Option<i64>,
    /// Only chats with media messages.
    pub has_media: Option<bool>,
    /// `lastMessage` (default), `unreadCount` or `name`.
    #[param(pattern = "^(?:lastMessage|unreadCount|name)$")]
    pub sort_by: Option<String>,
    /// `desc` (default) or `asc`.
    #[param(pattern = "^(?:asc|desc)$")]
    pub sort_order: Option<String>,
    /// Part of the chat's name or JID.
    pub search: Option<String>,
    /// true: only chats with unread messages; false: only read ones.
    pub unread: Option<bool>,
    /// true: only archived chats; false: only chats not archived.
    pub archived: Option<bool>,
    /// true: only groups; false: only 1:1 chats.
    pub is_group: Option<bool>,
}

/// The `sessionId` of a query (aliases `id`, `session`), required. A flattened struct
/// would be simpler, but serde's `flatten` loses the number types of a query string.
fn session_of(session_id: &Option<String>, id: &Option<String>, session: &Option<String>) -> ApiResult<String> {
    SessionQuery { session_id: session_id.clone(), id: id.clone(), session: session.clone() }.required()
}

/// One chat of the list (the reference spec's chat object plus its flags).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatView {
    pub id: String,
    pub jid: String,
    pub name: Option<String>,
    pub is_group: bool,
    pub unread_count: i64,
    /// Text (or caption) of the last message, when it has one.
    pub last_message: Option<String>,
    pub last_message_id: Option<String>,
    pub last_message_type: Option<String>,
    /// Unix seconds.
    pub last_message_timestamp: Option<i64>,
    pub archived: bool,
    pub pinned: bool,
    pub muted: bool,
    /// Unix milliseconds; -1 muted indefinitely.
    pub muted_until: Option<i64>,
    /// Unix seconds.
    pub updated_at: i64,
}

fn body_text(content: &Value) -> Option<String> {
    let m = &content["message"];
    m["text"].as_str().or_else(|| m["caption"].as_str()).or_else(|| m["name"].as_str()).map(str::to_string)
}

impl From<ChatRow> for ChatView {
    fn from(c: ChatRow) -> Self {
        let muted = c.muted_until.is_some_and(|u| u == -1 || u > now_ms());
        ChatView {
            id: c.jid.clone(),
            is_group: c.jid.ends_with("@g.us"),
            jid: c.jid,
            name: c.name,
            unread_count: c.unread_count,
            last_message: c.last_content.as_ref().and_then(body_text),
            last_message_id: c.last_message_id,
            last_message_type: c.last_type,
            last_message_timestamp: c.last_message_at.map(|t| t / 1000),
            archived: c.archived,
            pinned: c.pinned,
            muted,
            muted_until: c.muted_until,
            updated_at: c.updated_at / 1000,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatPagination {
    pub limit: i64,
    pub offset: i64,
    pub total: i64,
    /// Pass as `cursor` for the next (older) page; null on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatList {
    pub session_id: String,
    pub phone: Option<String>,
    pub data: Vec<ChatView>,
    pub pagination: ChatPagination,
}

pub(super) fn phone_of(me: Option<&str>) -> Option<String> {
    me.and_then(|m| m.split(['@', ':']).next()).map(str::to_string)
}

#[utoipa::path(get, path = "/api/v1/chats", tag = "Chats", operation_id = "getChats",
    summary = "List chats",
    description = "The session's chats from the message store (works while the session is offline), filtered and \
                   paginated by offset. Archive, mute and pin flags follow app-state changes from every device.",
    params(ChatsQuery),
    responses((status = 200, description = "Chat collection with pagination info", body = Envelope<ChatList>), ChatActionErrors))]
async fn list_chats(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiQuery(q): ApiQuery<ChatsQuery>,
) -> ApiResult<Reply<ChatList>> {
    let session_id = session_of(&q.session_id, &q.id, &q.session)?;
    let limit = limit_of(q.limit, 10)?;
    let offset = offset_of(q.offset)?;
    let sort = match q.sort_by.as_deref() {
        None | Some("lastMessage") => ChatSort::LastMessage,
        Some("unreadCount") => ChatSort::UnreadCount,
        Some("name") => ChatSort::Name,
        Some(_) => return Err(ApiError::field("sortBy", "must be lastMessage, unreadCount or name")),
    };
    let asc = match q.sort_order.as_deref() {
        None | Some("desc") => false,
        Some("asc") => true,
        Some(_) => return Err(ApiError::field("sortOrder", "must be asc or desc")),
    };
    let filter = ChatFilter {
        unread: q.unread,
        archived: q.archived,
        groups: q.is_group,
        has_media: q.has_media.unwrap_or(false),
        search: search_of(q.search)?,
    };
    let Session { row, .. } = session::find(&state, &who, &session_id).await?;
    let (chats, total) = cs::list_chats(&state.db, &session_id, &filter, sort, asc, limit, offset).await?;
    Ok(Reply::ok(
        "Chats list fetched",
        ChatList {
            session_id,
            phone: phone_of(row.me.jid.as_deref()),
            data: chats.into_iter().map(ChatView::from).collect(),
            pagination: ChatPagination { limit, offset, total, next_cursor: None },
        },
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct MessagesQuery {
    /// The session id. Aliases: `id`, `session`.
    pub session_id: Option<String>,
    #[param(ignore)]
    pub id: Option<String>,
    #[param(ignore)]
    pub session: Option<String>,
    /// Messages per page, 1-200 (default 20).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// Messages to skip (ignored with `cursor`).
    #[param(minimum = 0, maximum = 1000000)]
    pub offset: Option<i64>,
    /// `nextCursor` of the previous page: continue with older messages.
    pub cursor: Option<String>,
    /// Only messages newer than this (Unix milliseconds).
    pub start_time: Option<i64>,
    /// Only messages older than this (Unix milliseconds).
    pub end_time: Option<i64>,
    /// Only media messages.
    pub media_only: Option<bool>,
    /// Only messages sent (true) or received (false) by this account.
    pub is_from_me: Option<bool>,
    /// Part of the message text.
    pub search: Option<String>,
    /// Only this content type: text, extended_text, image, video, audio, ptt, document, sticker,
    /// location, contact, contacts, poll, buttons_response, list_response.
    #[serde(rename = "type")]
    pub content_type: Option<String>,
}

const CONTENT_TYPES: [&str; 14] = [
    "text",
    "extended_text",
    "image",
    "video",
    "audio",
    "ptt",
    "document",
    "sticker",
    "location",
    "contact",
    "contacts",
    "poll",
    "buttons_response",
    "list_response",
];

/// One stored message.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatMessageView {
    pub id: String,
    pub to_jid: String,
    pub sender_jid: Option<String>,
    pub from_me: bool,
    pub message_type: String,
    pub body: Option<String>,
    /// Unix seconds.
    pub timestamp: i64,
    pub timestamp_ms: i64,
    pub is_media: bool,
    pub media_type: Option<String>,
    #[schema(value_type = Object)]
    pub media_metadata: Value,
    #[schema(value_type = Object)]
    pub content: Value,
    pub quoted_message_id: Option<String>,
    pub is_edited: bool,
    pub is_deleted: bool,
    pub deleted_at: Option<i64>,
    pub status: Option<String>,
}

impl From<MessageRow> for ChatMessageView {
    fn from(m: MessageRow) -> Self {
        let is_media = cs::MEDIA_TYPES.contains(&m.content_type.as_str());
        ChatMessageView {
            body: body_text(&m.content),
            media_metadata: m.content["media"].clone(),
            quoted_message_id: m.content["quoted"]["id"].as_str().map(str::to_string),
            media_type: is_media.then(|| m.content_type.clone()),
            is_media,
            id: m.id,
            to_jid: m.chat_jid,
            sender_jid: m.sender_jid,
            from_me: m.from_me,
            message_type: m.content_type,
            timestamp: m.ts / 1000,
            timestamp_ms: m.ts,
            is_edited: m.edited_at.is_some(),
            is_deleted: m.revoked_at.is_some(),
            deleted_at: m.revoked_at,
            status: m.status,
            content: m.content,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatMessages {
    pub session_id: String,
    pub phone: Option<String>,
    pub data: Vec<ChatMessageView>,
    pub pagination: ChatPagination,
    pub chat_info: Option<ChatView>,
}

fn encode_cursor(m: &MessageRow) -> String {
    B64.encode(format!("{}:{}:{}", m.ts, m.created_at, m.id))
}

fn decode_cursor(raw: &str) -> ApiResult<Cursor> {
    let bad = || ApiError::field("cursor", "is not a cursor this API returned");
    if raw.len() > 512 {
        return Err(bad());
    }
    let text = String::from_utf8(B64.decode(raw).map_err(|_| bad())?).map_err(|_| bad())?;
    let mut parts = text.splitn(3, ':');
    let mut number = || parts.next().and_then(|p| p.parse::<i64>().ok()).ok_or_else(bad);
    let (ts, created_at) = (number()?, number()?);
    let id = parts.next().filter(|id| !id.is_empty()).ok_or_else(bad)?;
    Ok(Cursor { ts, created_at, id: id.to_string() })
}

#[utoipa::path(get, path = "/api/v1/chats/{chatId}/messages", tag = "Chats", operation_id = "getChatsChatIdMessages",
    summary = "List chat messages",
    description = "Messages of one chat from the message store, newest first. Page with `cursor` (the previous page's \
                   `nextCursor`; stable while new messages arrive) or with `offset`.",
    params(("chatId" = String, Path, description = "Phone number, user JID, LID or group JID"), MessagesQuery),
    responses((status = 200, description = "Messages plus pagination info", body = Envelope<ChatMessages>), ChatActionErrors))]
async fn chat_messages(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiPath(raw_chat): ApiPath<String>,
    ApiQuery(q): ApiQuery<MessagesQuery>,
) -> ApiResult<Reply<ChatMessages>> {
    let session_id = session_of(&q.session_id, &q.id, &q.session)?;
    let chat = chat_id(&state, &raw_chat)?;
    let limit = limit_of(q.limit, 20)?;
    let offset = offset_of(q.offset)?;
    let cursor = q.cursor.as_deref().map(decode_cursor).transpose()?;
    if let Some(t) = q.content_type.as_deref()
        && !CONTENT_TYPES.contains(&t)
    {
        return Err(ApiError::field("type", format!("must be one of {}", CONTENT_TYPES.join(", "))));
    }
    let filter = MessageFilter {
        content_type: q.content_type,
        media_only: q.media_only.unwrap_or(false),
        from_me: q.is_from_me,
        after: q.start_time,
        before: q.end_time,
        search: search_of(q.search)?,
    };
    let Session { row, .. } = session::find(&state, &who, &session_id).await?;
    let (msgs, total) =
        cs::list_messages(&state.db, &session_id, &chat.jid, &filter, cursor.as_ref(), limit, offset).await?;
    let next_cursor = (msgs.len() as i64 == limit).then(|| msgs.last().map(encode_cursor)).flatten();
    let chat_info = cs::get_chat(&state.db, &session_id, &chat.jid).await?.map(ChatView::from);
    Ok(Reply::ok(
        "Messages list fetched",
        ChatMessages {
            session_id,
            phone: phone_of(row.me.jid.as_deref()),
            data: msgs.into_iter().map(ChatMessageView::from).collect(),
            pagination: ChatPagination { limit, offset: if cursor.is_some() { 0 } else { offset }, total, next_cursor },
            chat_info,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let m = MessageRow {
            id: "3EB0ABC".into(),
            chat_jid: "1@s.whatsapp.net".into(),
            sender_jid: None,
            from_me: false,
            content_type: "text".into(),
            content: Value::Null,
            ts: 1_700_000_000_123,
            edited_at: None,
            revoked_at: None,
            status: None,
            created_at: 1_700_000_000_456,
        };
        let c = decode_cursor(&encode_cursor(&m)).unwrap();
        assert_eq!(c, Cursor { ts: 1_700_000_000_123, created_at: 1_700_000_000_456, id: "3EB0ABC".into() });
        for bad in ["", "!!", "bm9jb2xvbg", &B64.encode("x:1:a"), &B64.encode("5:6:"), &B64.encode("5:a")] {
            assert_eq!(decode_cursor(bad).unwrap_err().field.as_deref(), Some("cursor"), "{bad}");
        }
    }
}
