//! Group reads: the session's groups, one group's info and participants, its invite
//! link and its pending join requests (`crate::groups` reads them from WhatsApp).

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::groups::{self, GroupInfo, JoinRequest, Participant};
use crate::http::auth::Tenant;
use crate::http::envelope::{Envelope, Reply};
use crate::http::error::ApiResult;
use crate::http::extract::ApiQuery;
use crate::http::routes::groups::{GroupErrors, GroupQuery};
use crate::http::routes::sessions::views::SessionQuery;
use crate::http::session;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_groups))
        .routes(routes!(group_info))
        .routes(routes!(participants))
        .routes(routes!(invite_link))
        .routes(routes!(join_requests))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupList {
    pub session_id: String,
    pub phone: Option<String>,
    pub data: Vec<GroupInfo>,
}

#[utoipa::path(get, path = "/api/v1/groups", tag = "Groups", operation_id = "getGroups",
    summary = "List groups", description = "Groups the session is a member of, with high level metadata and counts.",
    params(SessionQuery),
    responses((status = 200, description = "Groups listed", body = Envelope<GroupList>), GroupErrors))]
async fn list_groups(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiQuery(q): ApiQuery<SessionQuery>,
) -> ApiResult<Reply<GroupList>> {
    let live = session::live(&state, &who, &q.required()?).await?;
    let data = groups::list(&live).await?;
    Ok(Reply::ok("Groups listed", GroupList { session_id: live.id().into(), phone: Some(live.phone), data }))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupInfoResult {
    pub session_id: String,
    pub phone: Option<String>,
    pub data: GroupInfo,
}

#[utoipa::path(get, path = "/api/v1/group/info", tag = "Groups", operation_id = "getGroupInfo",
    summary = "Get group info", description = "Full group metadata, read from WhatsApp.",
    params(GroupQuery),
    responses((status = 200, description = "Group info retrieved", body = Envelope<GroupInfoResult>), GroupErrors))]
async fn group_info(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiQuery(q): ApiQuery<GroupQuery>,
) -> ApiResult<Reply<GroupInfoResult>> {
    let (live, group) = q.open(&state, &who).await?;
    let data = groups::info(&live, &group).await?;
    Ok(Reply::ok(
        "Group info retrieved",
        GroupInfoResult { session_id: live.id().into(), phone: Some(live.phone), data },
    ))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ParticipantList {
    pub session_id: String,
    pub phone: Option<String>,
    pub group_id: String,
    pub participants: Vec<Participant>,
}

#[utoipa::path(get, path = "/api/v1/group/participants", tag = "Groups", operation_id = "getGroupParticipants",
    summary = "List participants", description = "Participants with admin flags.",
    params(GroupQuery),
    responses((status = 200, description = "Participants fetched", body = Envelope<ParticipantList>), GroupErrors))]
async fn participants(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiQuery(q): ApiQuery<GroupQuery>,
) -> ApiResult<Reply<ParticipantList>> {
    let (live, group) = q.open(&state, &who).await?;
    let participants = groups::participants(&live, &group).await?;
    let result = ParticipantList {
        session_id: live.id().into(),
        phone: Some(live.phone),
        group_id: group.to_string(),
        participants,
    };
    Ok(Reply::ok("Participants fetched", result))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InviteResult {
    pub session_id: String,
    pub phone: Option<String>,
    pub group_id: String,
    pub invite_link: Option<String>,
    pub status: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/group/invite", tag = "Groups", operation_id = "getGroupInvite",
    summary = "Get invite link", description = "The group's invite link (admins only).",
    params(GroupQuery),
    responses((status = 200, description = "Invite link fetched", body = Envelope<InviteResult>), GroupErrors))]
async fn invite_link(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiQuery(q): ApiQuery<GroupQuery>,
) -> ApiResult<Reply<InviteResult>> {
    let (live, group) = q.open(&state, &who).await?;
    let link = groups::invite_link(&live, &group, false).await?;
    let result = InviteResult {
        session_id: live.id().into(),
        phone: Some(live.phone),
        group_id: group.to_string(),
        invite_link: Some(link),
        status: None,
    };
    Ok(Reply::ok("Invite link fetched", result))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JoinRequestList {
    pub session_id: String,
    pub phone: Option<String>,
    pub group_id: String,
    pub join_requests: Vec<JoinRequest>,
}

#[utoipa::path(get, path = "/api/v1/group/participants/requests", tag = "Groups", operation_id = "getGroupParticipantsRequests",
    summary = "List join requests", description = "Pending join requests awaiting an admin's approval (admins only).",
    params(GroupQuery),
    responses((status = 200, description = "Pending join requests", body = Envelope<JoinRequestList>), GroupErrors))]
async fn join_requests(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiQuery(q): ApiQuery<GroupQuery>,
) -> ApiResult<Reply<JoinRequestList>> {
    let (live, group) = q.open(&state, &who).await?;
    let join_requests = groups::join_requests(&live, &group).await?;
    let result = JoinRequestList {
        session_id: live.id().into(),
        phone: Some(live.phone),
        group_id: group.to_string(),
        join_requests,
    };
    Ok(Reply::ok("Pending join requests", result))
}

/// `?sessionId=&inviteLink=`.
#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct InviteQuery {
    pub session_id: Option<String>,
    #[param(ignore)]
    pub id: Option<String>,
    #[param(ignore)]
    pub session: Option<String>,
    /// Full invite URL (`https://chat.whatsapp.com/<code>`) or the bare code.
    pub invite_link: Option<String>,
}
