//! Group membership: add, remove, promote, demote, and approve or reject join requests
//! (admins only). WhatsApp answers each named participant separately, so a request can
//! partly succeed: every answer lists each participant with its own status and code.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::groups::{self, Change, Members, ParticipantOutcome};
use crate::http::auth::Tenant;
use crate::http::envelope::{Envelope, Reply};
use crate::http::error::ApiResult;
use crate::http::extract::ApiJson;
use crate::http::routes::groups::{GroupErrors, GroupSelector};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(add))
        .routes(routes!(remove))
        .routes(routes!(promote))
        .routes(routes!(demote))
        .routes(routes!(approve))
        .routes(routes!(reject))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ParticipantsBody {
    #[serde(flatten)]
    pub group: GroupSelector,
    /// Phone numbers or user JIDs, 1-256.
    #[schema(schema_with = crate::http::wire::members)]
    pub participants: Vec<String>,
}

/// The answer of a membership change. Only the lists of the route's own action are set.
#[derive(Debug, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MembershipResult {
    pub session_id: String,
    pub phone: Option<String>,
    pub group_id: String,
    pub participants: Vec<ParticipantOutcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub added_participants: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_to_add: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed_participants: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_to_remove: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved_participants: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_to_approve: Option<Vec<String>>,
    /// `success` (all), `partial` (some) or `failed` (none).
    pub status: String,
}

async fn change(
    state: &AppState,
    who: &crate::auth::Principal,
    body: &ParticipantsBody,
    change: Change,
) -> ApiResult<MembershipResult> {
    let members = Members::parse(&body.participants, state.config.outbound.default_country_code.as_deref())?;
    let (live, group) = body.group.open(state, who).await?;
    let participants = groups::change(&live, &group, &members, change).await?;
    Ok(MembershipResult::of(live.id(), &live.phone, &group.to_string(), participants, change))
}

impl MembershipResult {
    fn of(session: &str, phone: &str, group: &str, participants: Vec<ParticipantOutcome>, change: Change) -> Self {
        let ok: Vec<String> = participants.iter().filter(|p| p.ok()).map(|p| p.phone.clone()).collect();
        let failed: Vec<String> = participants.iter().filter_map(ParticipantOutcome::failure).collect();
        let status = match (ok.len(), failed.len()) {
            (_, 0) => "success",
            (0, _) => "failed",
            _ => "partial",
        };
        let mut result = MembershipResult {
            session_id: session.to_string(),
            phone: Some(phone.to_string()),
            group_id: group.to_string(),
            participants,
            status: status.into(),
            ..Default::default()
        };
        match change {
            Change::Add => (result.added_participants, result.failed_to_add) = (Some(ok), Some(failed)),
            Change::Remove => (result.removed_participants, result.failed_to_remove) = (Some(ok), Some(failed)),
            Change::Approve => (result.approved_participants, result.failed_to_approve) = (Some(ok), Some(failed)),
            _ => {}
        }
        result
    }
}

#[utoipa::path(post, path = "/api/v1/group/participants/add", tag = "Groups", operation_id = "postGroupParticipantsAdd",
    summary = "Add participants", description = "Add participants (admins only). Each participant is answered \
        separately: `participants[].code` says why one failed (e.g. 404 not on WhatsApp, 409 already a member).",
    request_body = ParticipantsBody,
    responses((status = 200, description = "Participants added", body = Envelope<MembershipResult>), GroupErrors))]
async fn add(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiJson(body): ApiJson<ParticipantsBody>,
) -> ApiResult<Reply<MembershipResult>> {
    Ok(Reply::ok("Participants added", change(&state, &who, &body, Change::Add).await?))
}

#[utoipa::path(delete, path = "/api/v1/group/participants/remove", tag = "Groups", operation_id = "deleteGroupParticipantsRemove",
    summary = "Remove participants", description = "Remove participants (admins only); each is answered separately.",
    request_body = ParticipantsBody,
    responses((status = 200, description = "Participants removed", body = Envelope<MembershipResult>), GroupErrors))]
async fn remove(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiJson(body): ApiJson<ParticipantsBody>,
) -> ApiResult<Reply<MembershipResult>> {
    Ok(Reply::ok("Participants removed", change(&state, &who, &body, Change::Remove).await?))
}

#[utoipa::path(post, path = "/api/v1/group/participants/promote", tag = "Groups", operation_id = "postGroupParticipantsPromote",
    summary = "Promote participants", description = "Make participants admins (admins only); each is answered separately.",
    request_body = ParticipantsBody,
    responses((status = 200, description = "Participants promoted", body = Envelope<MembershipResult>), GroupErrors))]
async fn promote(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiJson(body): ApiJson<ParticipantsBody>,
) -> ApiResult<Reply<MembershipResult>> {
    Ok(Reply::ok("Participants promoted", change(&state, &who, &body, Change::Promote).await?))
}

#[utoipa::path(post, path = "/api/v1/group/participants/demote", tag = "Groups", operation_id = "postGroupParticipantsDemote",
    summary = "Demote participants", description = "Take admin rights away (admins only); each is answered separately.",
    request_body = ParticipantsBody,
    responses((status = 200, description = "Participants demoted", body = Envelope<MembershipResult>), GroupErrors))]
async fn demote(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiJson(body): ApiJson<ParticipantsBody>,
) -> ApiResult<Reply<MembershipResult>> {
    Ok(Reply::ok("Participants demoted", change(&state, &who, &body, Change::Demote).await?))
}

#[utoipa::path(post, path = "/api/v1/group/participants/request/approve", tag = "Groups", operation_id = "postGroupParticipantsRequestApprove",
    summary = "Approve join requests", description = "Approve pending join requests (admins only); each is answered separately.",
    request_body = ParticipantsBody,
    responses((status = 200, description = "Join requests approved", body = Envelope<MembershipResult>), GroupErrors))]
async fn approve(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiJson(body): ApiJson<ParticipantsBody>,
) -> ApiResult<Reply<MembershipResult>> {
    Ok(Reply::ok("Join requests approved", change(&state, &who, &body, Change::Approve).await?))
}

#[utoipa::path(post, path = "/api/v1/group/participants/request/reject", tag = "Groups", operation_id = "postGroupParticipantsRequestReject",
    summary = "Reject join requests", description = "Reject pending join requests (admins only); each is answered separately.",
    request_body = ParticipantsBody,
    responses((status = 200, description = "Join requests rejected", body = Envelope<MembershipResult>), GroupErrors))]
async fn reject(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiJson(body): ApiJson<ParticipantsBody>,
) -> ApiResult<Reply<MembershipResult>> {
    Ok(Reply::ok("Join requests rejected", change(&state, &who, &body, Change::Reject).await?))
}
