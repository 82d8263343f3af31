//! `/api/v1/messages/action/{mute,unmute,archive,unarchive,clear-all}`: chat-level
//! app-state actions for one or more chats (the reference spec's `DestinationSelector`
//! body), answered with one `MessageActionResult` per chat. The work is in
//! `crate::chats::actions`; this file validates, resolves the live session and renders.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::Principal;
use crate::chats::actions::{ChatVerb, MAX_MUTE_MINUTES, run};
use crate::http::auth::Tenant;
use crate::http::envelope::Envelope;
use crate::http::error::{ApiError, ApiResult, Code};
use crate::http::extract::ApiJson;
use crate::http::routes::messages::Recipients;
use crate::http::routes::sessions::views::SessionQuery;
use crate::http::session;
use crate::outbound::recipient::{Recipient, normalize_all};
use crate::sessions::live::LiveSession;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(mute))
        .routes(routes!(unmute))
        .routes(routes!(archive))
        .routes(routes!(unarchive))
        .routes(routes!(clear_all))
}

crate::error_set!(
    /// Errors of the chat actions.
    pub ChatActionErrors = [SessionNotFound, NotFound, MessageNotFound, SessionNotLinked, SessionNotConnected, AppStateKeysMissing, ChatActionFailed]
);

/// The session and the chats to act on.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatTargets {
    pub session_id: String,
    /// Phone numbers, user JIDs, LIDs or group JIDs; comma-separated or an array, at most 50.
    #[schema(schema_with = crate::http::wire::chat_list)]
    pub to: Recipients,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MuteBody {
    #[serde(flatten)]
    pub targets: ChatTargets,
    /// Minutes, 1 - 43200 (default 60).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 43200)]
    pub duration: Option<i64>,
}

/// One chat's outcome, as the reference spec's `MessageActionResult`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatActionResult {
    pub session_id: String,
    /// The session owner's phone.
    pub phone: Option<String>,
    pub to: String,
    pub to_jid: String,
    /// Always null: chat actions send no chat message.
    pub message_id: Option<String>,
    /// `chat muted success`, …
    pub status: String,
}

/// The session named in a body, linked and connected.
pub(super) async fn live(state: &AppState, who: &Principal, session_id: &str) -> ApiResult<LiveSession> {
    let session_id = SessionQuery { session_id: Some(session_id.to_string()), id: None, session: None }.required()?;
    session::live(state, who, &session_id).await
}

/// A chat named in a path (`chatId`): a phone number, user JID, LID or group JID.
pub(super) fn chat_id(state: &AppState, raw: &str) -> ApiResult<Recipient> {
    Ok(crate::chats::actions::chat("chatId", raw, state.config.outbound.default_country_code.as_deref())?)
}

async fn act(
    state: &AppState,
    who: &Principal,
    t: &ChatTargets,
    verb: ChatVerb,
    done: &str,
) -> ApiResult<Vec<ChatActionResult>> {
    let items = match &t.to {
        Recipients::One(s) => vec![s.clone()],
        Recipients::Many(v) => v.clone(),
    };
    let chats = normalize_all(&items, state.config.outbound.default_country_code.as_deref())
        .map_err(|(field, why)| ApiError::field(field, why))?;
    let live = live(state, who, &t.session_id).await?;
    let mut out = Vec::with_capacity(chats.len());
    for (i, chat) in chats.iter().enumerate() {
        run(&state.db, &live, &format!("to[{i}]"), chat, verb).await?;
        out.push(ChatActionResult {
            session_id: live.id().to_string(),
            phone: Some(live.phone.clone()),
            to: chat.user.clone(),
            to_jid: chat.jid.clone(),
            message_id: None,
            status: format!("chat {done} success"),
        });
    }
    Ok(out)
}

fn reply(message: &str, results: Vec<ChatActionResult>) -> axum::Json<Envelope<ChatActionResult>> {
    axum::Json(Envelope { status: true, code: Code::Ok.number(), message: message.into(), results: Some(results) })
}

type Answer = ApiResult<axum::Json<Envelope<ChatActionResult>>>;

#[utoipa::path(post, path = "/api/v1/messages/action/mute", tag = "Messages - Actions", operation_id = "postMessagesActionMute",
    summary = "Mute a chat",
    description = "Mutes the chats for `duration` minutes through app-state sync, so the phone and every linked device \
                   see it. Needs the app-state keys the phone shares after linking (else 409, code 3102).",
    request_body = MuteBody,
    responses((status = 200, description = "Chat muted for requested period", body = Envelope<ChatActionResult>), ChatActionErrors))]
async fn mute(State(state): State<AppState>, Tenant(who): Tenant, ApiJson(body): ApiJson<MuteBody>) -> Answer {
    let minutes = body.duration.unwrap_or(60);
    if !(1..=MAX_MUTE_MINUTES).contains(&minutes) {
        return Err(ApiError::field("duration", format!("must be 1-{MAX_MUTE_MINUTES} minutes")));
    }
    Ok(reply("Chat muted", act(&state, &who, &body.targets, ChatVerb::Mute(minutes), "muted").await?))
}

#[utoipa::path(post, path = "/api/v1/messages/action/unmute", tag = "Messages - Actions", operation_id = "postMessagesActionUnmute",
    summary = "Unmute a chat", description = "Unmutes the chats through app-state sync.",
    request_body = ChatTargets,
    responses((status = 200, description = "Chat unmuted", body = Envelope<ChatActionResult>), ChatActionErrors))]
async fn unmute(State(state): State<AppState>, Tenant(who): Tenant, ApiJson(body): ApiJson<ChatTargets>) -> Answer {
    Ok(reply("Chat unmuted", act(&state, &who, &body, ChatVerb::Unmute, "unmuted").await?))
}

#[utoipa::path(post, path = "/api/v1/messages/action/archive", tag = "Messages - Actions", operation_id = "postMessagesActionArchive",
    summary = "Archive a chat", description = "Archives the chats through app-state sync.",
    request_body = ChatTargets,
    responses((status = 200, description = "Chat archived", body = Envelope<ChatActionResult>), ChatActionErrors))]
async fn archive(State(state): State<AppState>, Tenant(who): Tenant, ApiJson(body): ApiJson<ChatTargets>) -> Answer {
    Ok(reply("Chat archived", act(&state, &who, &body, ChatVerb::Archive, "archived").await?))
}

#[utoipa::path(post, path = "/api/v1/messages/action/unarchive", tag = "Messages - Actions", operation_id = "postMessagesActionUnarchive",
    summary = "Unarchive a chat", description = "Takes the chats out of the archive through app-state sync.",
    request_body = ChatTargets,
    responses((status = 200, description = "Chat unarchived", body = Envelope<ChatActionResult>), ChatActionErrors))]
async fn unarchive(State(state): State<AppState>, Tenant(who): Tenant, ApiJson(body): ApiJson<ChatTargets>) -> Answer {
    Ok(reply("Chat unarchived", act(&state, &who, &body, ChatVerb::Unarchive, "unarchived").await?))
}

#[utoipa::path(delete, path = "/api/v1/messages/action/clear-all", tag = "Messages - Actions", operation_id = "deleteMessagesActionClearAll",
    summary = "Clear chat history",
    description = "Clears the chats' history for this account (app-state `clearChat`, seen by every linked device) and \
                   deletes their messages from the gateway's message store; the chats stay.",
    request_body = ChatTargets,
    responses((status = 200, description = "Chat cleared", body = Envelope<ChatActionResult>), ChatActionErrors))]
async fn clear_all(State(state): State<AppState>, Tenant(who): Tenant, ApiJson(body): ApiJson<ChatTargets>) -> Answer {
    Ok(reply("Chat cleared", act(&state, &who, &body, ChatVerb::Clear, "cleared").await?))
}
