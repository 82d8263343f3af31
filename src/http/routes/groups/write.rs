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
use whatsapp_rust::Jid;
use whatsapp_rust::features::{GroupCreateOptions, GroupParticipantOptions, GroupSubject, JoinGroupResult};

use crate::app::AppState;
use crate::http::auth::Tenant;
use crate::http::envelope::{Envelope, Reply};
use crate::http::error::{ApiError, ApiResult, Code};
use crate::http::extract::{ApiJson, ApiQuery};
use crate::http::routes::groups::members::participant_jids;
use crate::http::routes::groups::read::{InviteQuery, InviteResult, invite_code, invite_link_of};
use crate::http::routes::groups::{
    GroupDefault, GroupErrors, GroupSelector, MAX_PARTICIPANTS, group_error, live, parse_group_id,
};
use crate::http::routes::sessions::views::SessionQuery;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_group))
        .routes(routes!(delete_group))
        .routes(routes!(leave_group))
        .routes(routes!(revoke_invite))
        .routes(routes!(preview_invite, join_via_link))
}

fn session_of(raw: &str) -> ApiResult<String> {
    SessionQuery { session_id: Some(raw.to_string()), id: None, session: None }.required()
}

/// The group subject: 1–100 characters (WhatsApp's limit).
pub fn subject(raw: &str, field: &str) -> ApiResult<GroupSubject> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(ApiError::field(field, "must not be empty"));
    }
    GroupSubject::new(s).map_err(|_| {
        ApiError::field(
            field,
            format!("must be at most {} characters", whatsapp_rust::wacore::iq::groups::GROUP_SUBJECT_MAX_LENGTH),
        )
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateBody {
    #[schema(example = "main")]
    pub session_id: String,
    /// The group's name, 1-100 characters.
    #[schema(example = "New Squad")]
    pub group_name: String,
    /// Phone numbers or JIDs to add (at most 256).
    #[serde(default)]
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
    let session = session_of(&body.session_id)?;
    let name = subject(&body.group_name, "groupName")?;
    if body.participants.len() > MAX_PARTICIPANTS {
        return Err(ApiError::field("participants", format!("at most {MAX_PARTICIPANTS} participants")));
    }
    let country = state.config.outbound.default_country_code.clone();
    let members = if body.participants.is_empty() {
        Vec::new()
    } else {
        participant_jids(&body.participants, country.as_deref())?
    };
    let live = live(&state, &who, &session).await?;
    let options = GroupCreateOptions::builder()
        .subject(name.as_str())
        .participants(members.into_iter().map(GroupParticipantOptions::from_phone).collect())
        .build();
    let made = live.client.groups().create_group(options).await.map_err(group_error)?;
    let meta = made.metadata;
    let result = Created {
        session_id: live.session_id,
        phone: live.phone,
        group_id: meta.id.to_string(),
        group_name: meta.subject,
        participants: meta.participants.iter().map(|p| p.jid.user.to_string()).collect(),
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
    let session = session_of(&body.session_id)?;
    let group = parse_group_id(&body.group_id)?;
    let live = live(&state, &who, &session).await?;
    let groups = live.client.groups();
    let meta = groups.get_metadata(&group).await.map_err(group_error)?;
    let me = live.phone.clone().unwrap_or_default();
    let mine = meta.participants.iter().find(|p| participant_phone(p) == me);
    if !mine.is_some_and(|p| p.is_admin()) {
        return Err(ApiError::new(Code::GroupForbidden, "Only a group admin can delete the group"));
    }
    let others: Vec<Jid> =
        meta.participants.iter().filter(|p| participant_phone(p) != me).map(|p| p.jid.to_non_ad()).collect();
    let (mut removed, mut failed) = (Vec::new(), Vec::new());
    if !others.is_empty() {
        for r in groups.remove_participants(group.clone(), &others).await.map_err(group_error)? {
            match r.error {
                None => removed.push(r.jid.to_non_ad().to_string()),
                Some(code) => failed.push(format!("{}: {code}", r.jid.to_non_ad())),
            }
        }
    }
    groups.leave(group.clone()).await.map_err(group_error)?;
    let forgotten_messages = state.db.forget_chat(&live.session_id, &group.to_string()).await?;
    let result = Deleted {
        session_id: live.session_id,
        phone: live.phone,
        group_id: group.to_string(),
        removed_participants: removed,
        failed_to_remove: failed,
        forgotten_messages,
        status: "success delete group".into(),
    };
    Ok(Reply::ok("Group disbanded", result))
}

fn participant_phone(p: &whatsapp_rust::features::GroupParticipant) -> String {
    p.phone_number.as_ref().unwrap_or(&p.jid).user.to_string()
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
    let session = session_of(&body.session_id)?;
    let group = parse_group_id(&body.group_id)?;
    let live = live(&state, &who, &session).await?;
    // Leaving a group one is not in is answered as a success by WhatsApp; ask first so
    // the caller learns the group id was wrong.
    live.client.groups().get_metadata(&group).await.map_err(group_error)?;
    live.client.groups().leave(group.clone()).await.map_err(group_error)?;
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
    let session = session_of(&body.session_id)?;
    let group = parse_group_id(&body.group_id)?;
    let live = live(&state, &who, &session).await?;
    let link = live.client.groups().get_invite_link(group.clone(), true).await.map_err(group_error)?;
    let result = InviteResult {
        session_id: live.session_id,
        phone: live.phone,
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
    let session =
        SessionQuery { session_id: q.session_id.clone(), id: q.id.clone(), session: q.session.clone() }.required()?;
    let code = invite_code(q.invite_link.as_deref().ok_or_else(|| ApiError::field("inviteLink", "is required"))?)?;
    let live = live(&state, &who, &session).await?;
    let meta = live.client.groups().get_invite_info(&code).await.map_err(group_error)?;
    let result = InvitePreview {
        session_id: live.session_id,
        phone: live.phone,
        group_id: meta.id.to_string(),
        group_name: meta.subject.clone(),
        group_description: meta.description.clone(),
        participants_count: meta.participants.len().max(meta.size.unwrap_or(0) as usize),
        is_group_locked: meta.is_locked,
        is_announcement: meta.is_announcement,
        is_ephemeral: meta.ephemeral.as_ref().and_then(|e| e.expiration).unwrap_or(0) > 0,
        join_approval_mode: meta.membership_approval,
        invite_link: invite_link_of(&code),
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
    let session = session_of(&body.session_id)?;
    let code = invite_code(&body.invite_link)?;
    let live = live(&state, &who, &session).await?;
    let outcome = live.client.groups().join_with_invite_code(&code).await.map_err(group_error)?;
    let (code, status) = match &outcome {
        JoinGroupResult::Joined(_) => (Code::Ok, "success joined group"),
        JoinGroupResult::PendingApproval(_) => (Code::Created, "pending approval to join"),
    };
    let result = Joined {
        session_id: live.session_id,
        phone: live.phone,
        group_id: outcome.group_jid().to_string(),
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
