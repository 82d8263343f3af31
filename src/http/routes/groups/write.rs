//! Group lifecycle: create, leave, delete (disband, leave, forget the local rows),
//! reset the invite link, preview and join through an invite link.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::groups::{self, InviteCode, Members, Subject};
use crate::http::auth::Tenant;
use crate::http::envelope::{Envelope, Reply};
use crate::http::error::{ApiError, ApiResult, Code};
use crate::http::extract::{ApiJson, ApiQuery};
use crate::http::routes::groups::read::{InviteQuery, InviteResult};
use crate::http::routes::groups::{GroupDefault, GroupErrors, GroupSelector, session_id};
use crate::http::routes::sessions::views::SessionQuery;
use crate::http::session;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_group))
        .routes(routes!(delete_group))
        .routes(routes!(leave_group))
        .routes(routes!(revoke_invite))
        .routes(routes!(preview_invite, join_via_link))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateBody {
    #[schema(example = "main")]
    pub session_id: String,
    /// The group's name, 1-100 characters.
    #[schema(example = "New Squad")]
    #[schema(pattern = "\\S", max_length = 100)]
    pub group_name: String,
    /// Phone numbers or JIDs to add (at most 256).
    #[serde(default)]
    #[schema(schema_with = crate::http::wire::new_members)]
    pub participants: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Created {
    pub session_id: String,
    pub phone: Option<String>,
    /// Newly created group identifier.
    pub group_id: String,
    pub group_name: String,
    /// Participants WhatsApp put in the group (the creator included).
    pub participants: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/group/create", tag = "Groups", operation_id = "postGroupCreate",
    summary = "Create a group", description = "Create a new group; the session becomes its super admin.",
    request_body = CreateBody,
    responses((status = 200, description = "Group created", body = Envelope<Created>), GroupErrors))]
async fn create_group(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiJson(body): ApiJson<CreateBody>,
) -> ApiResult<Reply<Created>> {
    let id = session_id(&body.session_id)?;
    let name = Subject::parse("groupName", &body.group_name)?;
    let members = Members::parse_any(&body.participants, state.config.outbound.default_country_code.as_deref())?;
    let live = session::live(&state, &who, &id).await?;
    let made = groups::create(&live, name, members).await?;
    let result = Created {
        session_id: live.id().into(),
        phone: Some(live.phone),
        group_id: made.group_id,
        group_name: made.subject,
        participants: made.participants,
    };
    Ok(Reply::ok("Group created", result))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Deleted {
    pub session_id: String,
    pub phone: Option<String>,
    pub group_id: String,
    /// Members removed before leaving.
    pub removed_participants: Vec<String>,
    /// Members WhatsApp refused to remove, as `<jid>: <code>`.
    pub failed_to_remove: Vec<String>,
    /// Stored messages of the group that were forgotten.
    pub forgotten_messages: u64,
    pub status: String,
}

#[utoipa::path(delete, path = "/api/v1/group/delete", tag = "Groups", operation_id = "deleteGroupDelete",
    summary = "Delete a group", description = "Disband a group: remove every other member (admins only), leave it, \
        and forget its stored messages and chat row.",
    request_body = GroupSelector,
    responses((status = 200, description = "Group disbanded", body = Envelope<Deleted>), GroupErrors))]
async fn delete_group(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiJson(body): ApiJson<GroupSelector>,
) -> ApiResult<Reply<Deleted>> {
    let (live, group) = body.open(&state, &who).await?;
    let done = groups::disband(&live, &state.db, &group).await?;
    let result = Deleted {
        session_id: live.id().into(),
        phone: Some(live.phone),
        group_id: group.to_string(),
        removed_participants: done.removed,
        failed_to_remove: done.failed,
        forgotten_messages: done.forgotten_messages,
        status: "success delete group".into(),
    };
    Ok(Reply::ok("Group disbanded", result))
}

#[utoipa::path(post, path = "/api/v1/group/leave", tag = "Groups", operation_id = "postGroupLeave",
    summary = "Leave a group", description = "The session leaves the group; the other members are notified.",
    request_body = GroupSelector,
    responses((status = 200, description = "Left group", body = Envelope<GroupDefault>), GroupErrors))]
async fn leave_group(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiJson(body): ApiJson<GroupSelector>,
) -> ApiResult<Reply<GroupDefault>> {
    let (live, group) = body.open(&state, &who).await?;
    groups::leave(&live, &group).await?;
    Ok(Reply::ok("Left group", GroupDefault::new(&live, &group, "success leave")))
}

#[utoipa::path(post, path = "/api/v1/group/invite/revoke", tag = "Groups", operation_id = "postGroupInviteRevoke",
    summary = "Reset invite link", description = "Revoke the invite link and make a new one (admins only).",
    request_body = GroupSelector,
    responses((status = 200, description = "Invite link revoked", body = Envelope<InviteResult>), GroupErrors))]
async fn revoke_invite(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiJson(body): ApiJson<GroupSelector>,
) -> ApiResult<Reply<InviteResult>> {
    let (live, group) = body.open(&state, &who).await?;
    let link = groups::invite_link(&live, &group, true).await?;
    let result = InviteResult {
        session_id: live.id().into(),
        phone: Some(live.phone),
        group_id: group.to_string(),
        invite_link: Some(link),
        status: Some("success revoke invite link".into()),
    };
    Ok(Reply::ok("Invite link revoked", result))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitePreview {
    pub session_id: String,
    pub phone: Option<String>,
    pub group_id: String,
    pub group_name: String,
    pub group_description: Option<String>,
    pub participants_count: usize,
    pub is_group_locked: bool,
    pub is_announcement: bool,
    pub is_ephemeral: bool,
    pub join_approval_mode: bool,
    pub invite_link: String,
    pub group_picture: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/group/join-via-link", tag = "Groups", operation_id = "getGroupJoinViaLink",
    summary = "Preview invite link", description = "The group behind an invite link, without joining.",
    params(InviteQuery),
    responses((status = 200, description = "Invite preview", body = Envelope<InvitePreview>), GroupErrors))]
pub(super) async fn preview_invite(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiQuery(q): ApiQuery<InviteQuery>,
) -> ApiResult<Reply<InvitePreview>> {
    let id =
        SessionQuery { session_id: q.session_id.clone(), id: q.id.clone(), session: q.session.clone() }.required()?;
    let link = q.invite_link.as_deref().ok_or_else(|| ApiError::field("inviteLink", "is required"))?;
    let code = InviteCode::parse("inviteLink", link)?;
    let live = session::live(&state, &who, &id).await?;
    let p = groups::preview_invite(&live, &code).await?;
    let result = InvitePreview {
        session_id: live.id().into(),
        phone: Some(live.phone),
        group_id: p.group_id,
        group_name: p.group_name,
        group_description: p.group_description,
        participants_count: p.participants_count,
        is_group_locked: p.is_group_locked,
        is_announcement: p.is_announcement,
        is_ephemeral: p.is_ephemeral,
        join_approval_mode: p.join_approval_mode,
        invite_link: p.invite_link,
        group_picture: None,
    };
    Ok(Reply::ok("Invite preview", result))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JoinBody {
    #[schema(example = "main")]
    pub session_id: String,
    /// Full invite URL or code.
    #[schema(example = "https://chat.whatsapp.com/ABC123")]
    pub invite_link: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Joined {
    pub session_id: String,
    pub phone: Option<String>,
    pub group_id: String,
    /// `success joined group`, or `pending approval to join` (code 1001).
    pub status: String,
}

#[utoipa::path(post, path = "/api/v1/group/join-via-link", tag = "Groups", operation_id = "postGroupJoinViaLink",
    summary = "Join via invite link", description = "Join a group using an invite link or code. When the group \
        requires approval the answer has code 1001 and status `pending approval to join`.",
    request_body = JoinBody,
    responses((status = 200, description = "Joined, or waiting for approval (1001)", body = Envelope<Joined>), GroupErrors))]
pub(super) async fn join_via_link(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiJson(body): ApiJson<JoinBody>,
) -> ApiResult<Response> {
    let id = session_id(&body.session_id)?;
    let code = InviteCode::parse("inviteLink", &body.invite_link)?;
    let live = session::live(&state, &who, &id).await?;
    let joined = groups::join(&live, &code).await?;
    let (code, status) =
        if joined.pending { (Code::Created, "pending approval to join") } else { (Code::Ok, "success joined group") };
    let result = Joined {
        session_id: live.id().into(),
        phone: Some(live.phone),
        group_id: joined.group_id,
        status: status.into(),
    };
    // The reference answers a pending join with HTTP 200 and code 1001 (not 201).
    let body = Envelope {
        status: true,
        code: code.number(),
        message: "Joined group via link".into(),
        results: Some(vec![result]),
    };
    Ok((StatusCode::OK, Json(body)).into_response())
}
