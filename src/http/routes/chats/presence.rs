//! `POST /api/v1/chats/{chatId}/presence`: show "typing…" or "recording audio…" in a chat
//! (or stop showing it). The reference spec has no such route, only the `presence` flag of
//! the send routes; this is the standalone form for bots that type before they answer.
//! Chat states are live only: WhatsApp never queues them for an offline recipient.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::chats::actions::{Typing, chat_state};
use crate::http::auth::Tenant;
use crate::http::envelope::{Envelope, Reply};
use crate::http::error::ApiResult;
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::routes::chats::actions::{ChatActionErrors, chat_id, live};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(chat_presence))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatPresenceBody {
    pub session_id: String,
    /// `composing` (typing), `recording` (recording audio) or `paused` (stop).
    #[schema(pattern = "^(?:composing|recording|paused)$")]
    pub state: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatPresenceResult {
    pub session_id: String,
    pub phone: Option<String>,
    pub chat_id: String,
    pub state: String,
}

#[utoipa::path(post, path = "/api/v1/chats/{chatId}/presence", tag = "Chats", operation_id = "postChatsChatIdPresence",
    summary = "Show typing or recording in a chat",
    description = "Sends a chat state to the chat: `composing` shows \"typing…\", `recording` shows \"recording \
                   audio…\", `paused` clears it. Delivered live only, never queued for an offline recipient.",
    params(("chatId" = String, Path, description = "Phone number, user JID, LID or group JID")),
    request_body = ChatPresenceBody,
    responses((status = 200, description = "Chat state sent", body = Envelope<ChatPresenceResult>), ChatActionErrors))]
async fn chat_presence(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiPath(raw_chat): ApiPath<String>,
    ApiJson(body): ApiJson<ChatPresenceBody>,
) -> ApiResult<Reply<ChatPresenceResult>> {
    let chat = chat_id(&state, &raw_chat)?;
    let typing = Typing::parse("state", &body.state)?;
    let live = live(&state, &who, &body.session_id).await?;
    chat_state(&live, &chat, typing).await?;
    Ok(Reply::ok(
        "Chat state sent",
        ChatPresenceResult {
            session_id: live.id().into(),
            phone: Some(live.phone),
            chat_id: chat.jid,
            state: body.state,
        },
    ))
}
