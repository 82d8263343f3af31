//! Per-chat actions on a live session: `POST /api/v1/chats/{chatId}/read` (read receipts
//! for the chat's unread inbound messages), `…/pin` (pin the chat, through app-state) and
//! `…/messages/{messageId}/pin` (a `PinInChatMessage` every member of the chat sees).

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::chats::actions::{self, ChatVerb, ReadSelection, pin_message, run};
use crate::http::auth::Tenant;
use crate::http::envelope::{Envelope, Reply};
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::routes::chats::actions::{ChatActionErrors, chat_id, live};
use crate::store::now_ms;
use crate::store::sessions::Scope;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(read_chat)).routes(routes!(pin_chat)).routes(routes!(pin_chat_message))
}

/// A read request acknowledges at most this many messages.
const MAX_READ: i64 = 1_000;
const MAX_READ_DAYS: i64 = 365;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatReadBody {
    pub session_id: String,
    /// Inbound messages to acknowledge, newest first (0 = no limit; at most 1000).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1000)]
    pub messages: i64,
    /// With `messages` = 0: only messages of the last N days (0 = any age; at most 365).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 365)]
    pub days: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MarkedMessage {
    pub id: String,
    pub from_me: bool,
    pub timestamp: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatReadResult {
    pub session_id: String,
    pub phone: Option<String>,
    pub chat_id: String,
    pub total_marked: usize,
    /// `by_count`, `by_days` or `all`.
    pub mode: String,
    #[schema(value_type = Object)]
    pub parameters: Value,
    pub marked: Vec<MarkedMessage>,
    /// Whether the chat was also marked read in app state (the phone's other devices clear
    /// their unread badge); false when the phone has not shared its app-state keys yet.
    pub app_state_synced: bool,
}

#[utoipa::path(post, path = "/api/v1/chats/{chatId}/read", tag = "Chats", operation_id = "postChatsChatIdRead",
    summary = "Mark chat as read",
    description = "Sends read receipts (blue ticks) for the chat's unread inbound messages in the message store, \
                   zeroes its unread count and marks the chat read in app state for the phone's other devices \
                   (`appStateSynced`).",
    params(("chatId" = String, Path, description = "Phone number, user JID, LID or group JID")),
    request_body = ChatReadBody,
    responses((status = 200, description = "Read receipt summary", body = Envelope<ChatReadResult>), ChatActionErrors))]
async fn read_chat(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiPath(raw_chat): ApiPath<String>,
    ApiJson(body): ApiJson<ChatReadBody>,
) -> ApiResult<Reply<ChatReadResult>> {
    let chat = chat_id(&state, &raw_chat)?;
    if !(0..=MAX_READ).contains(&body.messages) {
        return Err(ApiError::field("messages", format!("must be 0-{MAX_READ}")));
    }
    if !(0..=MAX_READ_DAYS).contains(&body.days) {
        return Err(ApiError::field("days", format!("must be 0-{MAX_READ_DAYS}")));
    }
    let live = live(&state, &who, &body.session_id).await?;
    let (limit, since, mode) = match (body.messages, body.days) {
        (n, _) if n > 0 => (n, None, "by_count"),
        (_, d) if d > 0 => (MAX_READ, Some(now_ms() - d * 86_400_000), "by_days"),
        _ => (MAX_READ, None, "all"),
    };
    let done = actions::read(&state.db, &live, &chat, ReadSelection { limit, since }).await?;
    let (unread, synced) = (done.marked, done.synced);
    let marked: Vec<_> =
        unread.iter().map(|m| MarkedMessage { id: m.id.clone(), from_me: false, timestamp: m.ts / 1000 }).collect();
    let message = format!("Marked {} inbound message(s) as read", marked.len());
    Ok(Reply::ok(
        message,
        ChatReadResult {
            session_id: live.id().into(),
            phone: Some(live.phone),
            chat_id: chat.jid,
            total_marked: marked.len(),
            mode: mode.into(),
            parameters: json!({ "messages": body.messages, "days": body.days }),
            marked,
            app_state_synced: synced,
        },
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatPinBody {
    pub session_id: String,
    /// true pins, false unpins.
    pub pin: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatPinResult {
    pub session_id: String,
    pub phone: Option<String>,
    pub chat_id: String,
    /// For a message pin: the pinned message, and the id of the pin message sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pin_message_id: Option<String>,
    pub pinned: bool,
    pub message: String,
    /// Unix seconds.
    pub updated_at: i64,
}

#[utoipa::path(post, path = "/api/v1/chats/{chatId}/pin", tag = "Chats", operation_id = "postChatsChatIdPin",
    summary = "Pin or unpin a chat",
    description = "Pins the chat to the top of the list through app-state sync (the phone and linked devices follow). \
                   Needs the phone's app-state keys (else 409, code 3102).",
    params(("chatId" = String, Path, description = "Phone number, user JID, LID or group JID")),
    request_body = ChatPinBody,
    responses((status = 200, description = "Pin status payload", body = Envelope<ChatPinResult>), ChatActionErrors))]
async fn pin_chat(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiPath(raw_chat): ApiPath<String>,
    ApiJson(body): ApiJson<ChatPinBody>,
) -> ApiResult<Reply<ChatPinResult>> {
    let chat = chat_id(&state, &raw_chat)?;
    let live = live(&state, &who, &body.session_id).await?;
    let verb = if body.pin { ChatVerb::Pin } else { ChatVerb::Unpin };
    run(&state.db, &live, "chatId", &chat, verb).await?;
    let done = if body.pin { "Chat pinned" } else { "Chat unpinned" };
    Ok(Reply::ok(
        done,
        ChatPinResult {
            session_id: live.id().into(),
            phone: Some(live.phone),
            chat_id: chat.jid,
            message_id: None,
            pin_message_id: None,
            pinned: body.pin,
            message: format!("{done} successfully"),
            updated_at: now_ms() / 1000,
        },
    ))
}

#[utoipa::path(post, path = "/api/v1/chats/{chatId}/messages/{messageId}/pin", tag = "Chats",
    operation_id = "postChatsChatIdMessagesMessageIdPin",
    summary = "Pin or unpin a message",
    description = "Sends a pin-in-chat message for a message of this chat (one received and stored, or one this \
                   session sent): every member sees it pinned (7 days) or unpinned.",
    params(("chatId" = String, Path, description = "Phone number, user JID, LID or group JID"),
           ("messageId" = String, Path, description = "The message to pin", pattern = "^[A-Za-z0-9]{1,128}$")),
    request_body = ChatPinBody,
    responses((status = 200, description = "Message pin status payload", body = Envelope<ChatPinResult>), ChatActionErrors))]
async fn pin_chat_message(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiPath((raw_chat, message_id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<ChatPinBody>,
) -> ApiResult<Reply<ChatPinResult>> {
    let chat = chat_id(&state, &raw_chat)?;
    actions::message_id(&message_id)?;
    let live = live(&state, &who, &body.session_id).await?;
    let pin_id = pin_message(&state.db, Scope::of(&who), &live, &chat, &message_id, body.pin).await?;
    let done = if body.pin { "Message pinned" } else { "Message unpinned" };
    Ok(Reply::ok(
        done,
        ChatPinResult {
            session_id: live.id().into(),
            phone: Some(live.phone),
            chat_id: chat.jid,
            message_id: Some(message_id),
            pin_message_id: Some(pin_id),
            pinned: body.pin,
            message: format!("{done} successfully"),
            updated_at: now_ms() / 1000,
        },
    ))
}
