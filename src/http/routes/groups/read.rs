//! Group reads: the session's groups, one group's info and participants, its invite
//! link, its pending join requests, its picture, and an invite link's preview.
//! Every answer is read from WhatsApp at call time (nothing is served from a cache).

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use whatsapp_rust::Jid;

use crate::app::AppState;
use crate::http::auth::Tenant;
use crate::http::envelope::{Envelope, Reply};
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::ApiQuery;
use crate::http::routes::groups::{
    GroupErrors, GroupInfo, GroupQuery, Live, group_error, is_group, live, phone_of, user_jid,
};
use crate::http::routes::sessions::views::SessionQuery;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_groups))
        .routes(routes!(group_info))
        .routes(routes!(participants))
        .routes(routes!(invite_link))
        .routes(routes!(join_requests))
}

/// Longest invite link or code accepted.
pub const MAX_INVITE_LEN: usize = 200;

/// The link WhatsApp shows for an invite code.
pub fn invite_link_of(code: &str) -> String {
    format!("https://chat.whatsapp.com/{code}")
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
    let live = live(&state, &who, &q.required()?).await?;
    let groups = live.client.groups().get_participating().await.map_err(group_error)?;
    let mut data: Vec<GroupInfo> = groups.values().filter(|m| is_group(&m.id)).map(GroupInfo::of).collect();
    data.sort_by(|a, b| a.subject.cmp(&b.subject).then_with(|| a.id.cmp(&b.id)));
    Ok(Reply::ok("Groups listed", GroupList { session_id: live.session_id, phone: live.phone, data }))
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
    let (live, group) = open(&state, &who, &q).await?;
    let meta = live.client.groups().get_metadata(&group).await.map_err(group_error)?;
    let data = GroupInfo::of(&meta);
    Ok(Reply::ok("Group info retrieved", GroupInfoResult { session_id: live.session_id, phone: live.phone, data }))
}

pub(super) async fn open(state: &AppState, who: &crate::auth::Principal, q: &GroupQuery) -> ApiResult<(Live, Jid)> {
    let session = q.session()?;
    let group = q.group()?;
    Ok((live(state, who, &session).await?, group))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Participant {
    /// The participant's JID as the group names it (phone or LID).
    pub id: String,
    /// Phone JID, when known.
    pub jid: Option<String>,
    pub lid: Option<String>,
    pub phone: Option<String>,
    pub is_me: bool,
    pub is_admin: bool,
    pub is_super_admin: bool,
    pub name: Option<String>,
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
    let (live, group) = open(&state, &who, &q).await?;
    let meta = live.client.groups().get_metadata(&group).await.map_err(group_error)?;
    let participants = meta
        .participants
        .iter()
        .map(|p| {
            let pn = p.phone_number.as_ref().or((p.jid.server == whatsapp_rust::Server::Pn).then_some(&p.jid));
            let lid = p.lid.as_ref().or((p.jid.server == whatsapp_rust::Server::Lid).then_some(&p.jid));
            let phone = pn.map(phone_of);
            Participant {
                id: user_jid(&p.jid),
                jid: pn.map(user_jid),
                lid: lid.map(user_jid),
                is_me: phone.is_some() && phone == live.phone,
                phone,
                is_admin: p.is_admin(),
                is_super_admin: p.is_super_admin(),
                name: p.username.as_ref().map(|u| u.to_string()),
            }
        })
        .collect();
    let result = ParticipantList {
        session_id: live.session_id.clone(),
        phone: live.phone.clone(),
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
    let (live, group) = open(&state, &who, &q).await?;
    let code = live.client.groups().get_invite_link(group.clone(), false).await.map_err(group_error)?;
    let result = InviteResult {
        session_id: live.session_id,
        phone: live.phone,
        group_id: group.to_string(),
        invite_link: Some(invite_link_of(code.trim_start_matches("https://chat.whatsapp.com/"))),
        status: None,
    };
    Ok(Reply::ok("Invite link fetched", result))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JoinRequest {
    pub jid: String,
    pub lid: Option<String>,
    pub phone: String,
    /// How the request was made (`invite_link`).
    pub request_method: String,
    /// Unix seconds.
    pub request_time: Option<u64>,
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
    let (live, group) = open(&state, &who, &q).await?;
    let pending = live.client.groups().get_membership_requests(group.clone()).await.map_err(group_error)?;
    let join_requests = pending
        .iter()
        .map(|r| JoinRequest {
            jid: user_jid(&r.jid),
            lid: (r.jid.server == whatsapp_rust::Server::Lid).then(|| user_jid(&r.jid)),
            phone: phone_of(&r.jid),
            // whatsapp-rust 0.7 does not surface the method; links are the only way the
            // approval queue fills without community features.
            request_method: "invite_link".into(),
            request_time: r.request_time,
        })
        .collect();
    let result =
        JoinRequestList { session_id: live.session_id, phone: live.phone, group_id: group.to_string(), join_requests };
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

/// The code of an invite link or bare code; 400 naming `inviteLink` otherwise.
pub fn invite_code(raw: &str) -> ApiResult<String> {
    let raw = raw.trim();
    if raw.len() > MAX_INVITE_LEN {
        return Err(ApiError::field("inviteLink", format!("must be at most {MAX_INVITE_LEN} characters")));
    }
    let code = raw
        .strip_prefix("https://chat.whatsapp.com/")
        .or_else(|| raw.strip_prefix("http://chat.whatsapp.com/"))
        .or_else(|| raw.strip_prefix("chat.whatsapp.com/"))
        .unwrap_or(raw);
    let code = code.split(['?', '#']).next().unwrap_or_default().trim_end_matches('/');
    if code.is_empty() || code.len() > 64 || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(ApiError::field("inviteLink", "is not a WhatsApp invite link or code"));
    }
    Ok(code.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invite_links_and_codes_give_the_code() {
        assert_eq!(invite_code("https://chat.whatsapp.com/AbC123").unwrap(), "AbC123");
        assert_eq!(invite_code(" AbC123 ").unwrap(), "AbC123");
        assert_eq!(invite_code("chat.whatsapp.com/AbC123/?x=1").unwrap(), "AbC123");
        for bad in ["", "https://chat.whatsapp.com/", "a b", "https://evil/../x", &"a".repeat(300)] {
            assert_eq!(invite_code(bad).unwrap_err().field.as_deref(), Some("inviteLink"), "{bad}");
        }
    }
}
