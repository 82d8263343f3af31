//! `/api/v1/messages/{messageId}/action/*`: star, unstar, reaction, unreaction, delete (for
//! me), revoke (for everyone), edit and mark-as-read, with the reference spec's fields and
//! envelope. The message is found in the session's stored messages; the work is done by
//! `crate::message_ops`.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::auth::Tenant;
use crate::http::envelope::{Envelope, Reply};
use crate::http::error::{ApiError, ApiResult, Code};
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::routes::messages::Recipients;
use crate::http::routes::sessions::views::SessionQuery;
use crate::http::session;
use crate::message_ops::{self, MsgRef};
use crate::sessions::live::LiveSession;
use crate::store::now_ms;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(star))
        .routes(routes!(unstar))
        .routes(routes!(reaction))
        .routes(routes!(unreaction))
        .routes(routes!(delete_for_me))
        .routes(routes!(revoke))
        .routes(routes!(edit))
        .routes(routes!(mark_as_read))
}

crate::error_set!(
    /// Errors of the message actions.
    pub ActionErrors = [SessionNotFound, MessageNotFound, MessageNotYours, SessionNotLinked, SessionNotConnected, AppStateKeysMissing, EditWindowExpired, MessageActionFailed]
);

/// `DestinationSelector`: the session and the chat of the message.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub session_id: String,
    /// The chat: phone number, user JID, LID or group JID (the first one if a list).
    #[schema(schema_with = crate::http::wire::chat_target)]
    pub to: Recipients,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReactionBody {
    #[serde(flatten)]
    pub target: Target,
    /// The emoji to apply.
    #[schema(pattern = "\\S", max_length = 64)]
    pub emoji: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeleteBody {
    #[serde(flatten)]
    pub target: Target,
    /// Delete the media blob too (default true).
    #[serde(default)]
    pub with_media: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevokeBody {
    #[serde(flatten)]
    pub target: Target,
    /// Also delete it for this account (needs app-state keys).
    #[serde(default)]
    pub delete_for_me: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EditBody {
    #[serde(flatten)]
    pub target: Target,
    /// The replacement text.
    #[schema(pattern = "\\S", max_length = 65536)]
    pub message: String,
}

/// `MessageActionResult` of the reference spec.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageActionResult {
    pub session_id: String,
    /// The session owner's phone.
    pub phone: Option<String>,
    pub to: String,
    pub to_jid: String,
    pub message_id: String,
    /// e.g. `message starred success`.
    pub status: String,
}

/// The session's live client and the message, or the error that stops the action.
struct Resolved {
    live: LiveSession,
    msg: MsgRef,
    result: MessageActionResult,
}

async fn resolve(state: &AppState, who: &crate::auth::Principal, message_id: &str, t: &Target) -> ApiResult<Resolved> {
    if message_id.trim().is_empty() || message_id.len() > 128 {
        return Err(ApiError::field("messageId", "must be 1-128 characters"));
    }
    let session_id = SessionQuery { session_id: Some(t.session_id.clone()), id: None, session: None }.required()?;
    let live = session::live(state, who, &session_id).await?;
    let first = match &t.to {
        Recipients::One(s) => s.split(',').next().unwrap_or_default().to_string(),
        Recipients::Many(v) => v.first().cloned().unwrap_or_default(),
    };
    let to = crate::outbound::recipient::normalize(&first, state.config.outbound.default_country_code.as_deref())
        .map_err(|why| ApiError::field("to", why))?;
    let msg = crate::messages::lookup::find(&state.db, &session_id, message_id, Some(&to.jid))
        .await?
        .ok_or_else(|| ApiError::new(Code::MessageNotFound, "no message with this id in the session's chats"))?;
    let result = MessageActionResult {
        session_id,
        phone: Some(live.phone.clone()),
        to: to.user,
        to_jid: to.jid,
        message_id: message_id.to_string(),
        status: String::new(),
    };
    Ok(Resolved { live, msg, result })
}

fn done(mut r: MessageActionResult, status: &str, message: &str) -> Reply<MessageActionResult> {
    r.status = status.to_string();
    Reply::ok(message, r)
}

#[utoipa::path(post, path = "/api/v1/messages/{messageId}/action/star", tag = "Messages - Actions",
    operation_id = "postMessagesMessageIdActionStar", summary = "Star a message",
    description = "An app-state mutation: needs the app-state keys the phone shares after linking (3102 until then).",
    params(("messageId" = String, Path)), request_body = Target,
    responses((status = 200, description = "Message starred", body = Envelope<MessageActionResult>), ActionErrors))]
async fn star(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiPath(message_id): ApiPath<String>,
    ApiJson(b): ApiJson<Target>,
) -> ApiResult<Reply<MessageActionResult>> {
    let r = resolve(&state, &who, &message_id, &b).await?;
    message_ops::star(&r.live, &r.msg, true).await?;
    Ok(done(r.result, "message starred success", "Message starred"))
}

#[utoipa::path(post, path = "/api/v1/messages/{messageId}/action/unstar", tag = "Messages - Actions",
    operation_id = "postMessagesMessageIdActionUnstar", summary = "Unstar a message",
    description = "An app-state mutation: needs the app-state keys the phone shares after linking (3102 until then).",
    params(("messageId" = String, Path)), request_body = Target,
    responses((status = 200, description = "Message unstarred", body = Envelope<MessageActionResult>), ActionErrors))]
async fn unstar(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiPath(message_id): ApiPath<String>,
    ApiJson(b): ApiJson<Target>,
) -> ApiResult<Reply<MessageActionResult>> {
    let r = resolve(&state, &who, &message_id, &b).await?;
    message_ops::star(&r.live, &r.msg, false).await?;
    Ok(done(r.result, "message unstarred success", "Message unstarred"))
}

#[utoipa::path(post, path = "/api/v1/messages/{messageId}/action/reaction", tag = "Messages - Actions",
    operation_id = "postMessagesMessageIdActionReaction", summary = "Add a reaction",
    params(("messageId" = String, Path)), request_body = ReactionBody,
    responses((status = 200, description = "Reaction applied", body = Envelope<MessageActionResult>), ActionErrors))]
async fn reaction(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiPath(message_id): ApiPath<String>,
    ApiJson(b): ApiJson<ReactionBody>,
) -> ApiResult<Reply<MessageActionResult>> {
    if b.emoji.trim().is_empty() {
        return Err(ApiError::field("emoji", "must not be empty (use /action/unreaction to remove)"));
    }
    let r = resolve(&state, &who, &message_id, &b.target).await?;
    message_ops::react(&r.live, &r.msg, &b.emoji).await?;
    Ok(done(r.result, "reaction applied success", "Reaction applied"))
}

#[utoipa::path(post, path = "/api/v1/messages/{messageId}/action/unreaction", tag = "Messages - Actions",
    operation_id = "postMessagesMessageIdActionUnreaction", summary = "Remove a reaction",
    params(("messageId" = String, Path)), request_body = Target,
    responses((status = 200, description = "Reaction removed", body = Envelope<MessageActionResult>), ActionErrors))]
async fn unreaction(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiPath(message_id): ApiPath<String>,
    ApiJson(b): ApiJson<Target>,
) -> ApiResult<Reply<MessageActionResult>> {
    let r = resolve(&state, &who, &message_id, &b).await?;
    message_ops::react(&r.live, &r.msg, "").await?;
    Ok(done(r.result, "reaction removed success", "Reaction removed"))
}

#[utoipa::path(delete, path = "/api/v1/messages/{messageId}/action/delete", tag = "Messages - Actions",
    operation_id = "deleteMessagesMessageIdActionDelete", summary = "Delete a message for me",
    description = "An app-state mutation: needs the app-state keys the phone shares after linking (3102 until then).",
    params(("messageId" = String, Path)), request_body = DeleteBody,
    responses((status = 200, description = "Message deleted for me", body = Envelope<MessageActionResult>), ActionErrors))]
async fn delete_for_me(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiPath(message_id): ApiPath<String>,
    ApiJson(b): ApiJson<DeleteBody>,
) -> ApiResult<Reply<MessageActionResult>> {
    let r = resolve(&state, &who, &message_id, &b.target).await?;
    message_ops::delete_for_me(&r.live, &r.msg, b.with_media.unwrap_or(true)).await?;
    Ok(done(r.result, "message deleted success", "Message deleted for me"))
}

#[utoipa::path(post, path = "/api/v1/messages/{messageId}/action/revoke", tag = "Messages - Actions",
    operation_id = "postMessagesMessageIdActionRevoke", summary = "Revoke a message for everyone",
    description = "Only messages this session sent (3100 otherwise).",
    params(("messageId" = String, Path)), request_body = RevokeBody,
    responses((status = 200, description = "Message revoked", body = Envelope<MessageActionResult>), ActionErrors))]
async fn revoke(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiPath(message_id): ApiPath<String>,
    ApiJson(b): ApiJson<RevokeBody>,
) -> ApiResult<Reply<MessageActionResult>> {
    let r = resolve(&state, &who, &message_id, &b.target).await?;
    message_ops::revoke(&r.live, &r.msg).await?;
    if b.delete_for_me {
        message_ops::delete_for_me(&r.live, &r.msg, true).await?;
    }
    Ok(done(r.result, "message revoked success", "Message revoked"))
}

#[utoipa::path(post, path = "/api/v1/messages/{messageId}/action/edit", tag = "Messages - Actions",
    operation_id = "postMessagesMessageIdActionEdit", summary = "Edit a message",
    description = "Only text messages this session sent (3100 otherwise), within 15 minutes (3101).",
    params(("messageId" = String, Path)), request_body = EditBody,
    responses((status = 200, description = "Message edited", body = Envelope<MessageActionResult>), ActionErrors))]
async fn edit(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiPath(message_id): ApiPath<String>,
    ApiJson(b): ApiJson<EditBody>,
) -> ApiResult<Reply<MessageActionResult>> {
    let r = resolve(&state, &who, &message_id, &b.target).await?;
    message_ops::edit(&r.live, &r.msg, &b.message, now_ms()).await?;
    Ok(done(r.result, "message edited success", "Message edited"))
}

#[utoipa::path(post, path = "/api/v1/messages/{messageId}/action/mark-as-read", tag = "Messages - Actions",
    operation_id = "postMessagesMessageIdActionMarkAsRead", summary = "Mark a message as read",
    description = "Sends a read receipt to the sender of a received message.",
    params(("messageId" = String, Path)), request_body = Target,
    responses((status = 200, description = "Read receipt sent", body = Envelope<MessageActionResult>), ActionErrors))]
async fn mark_as_read(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiPath(message_id): ApiPath<String>,
    ApiJson(b): ApiJson<Target>,
) -> ApiResult<Reply<MessageActionResult>> {
    let r = resolve(&state, &who, &message_id, &b).await?;
    message_ops::mark_read(&r.live, &r.msg).await?;
    Ok(done(r.result, "message read success", "Message marked as read"))
}
