//! Group membership: add, remove, promote, demote, and approve or reject join requests
//! (admins only). WhatsApp answers each named participant separately, so a request can
//! partly succeed: every answer lists each participant with its own status and code.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use whatsapp_rust::Jid;
use whatsapp_rust::features::{GroupError, ParticipantChangeResponse};

use crate::app::AppState;
use crate::http::auth::Tenant;
use crate::http::envelope::{Envelope, Reply};
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::ApiJson;
use crate::http::routes::groups::{
    GroupErrors, GroupSelector, Live, MAX_PARTICIPANTS, group_error, live, parse_group_id,
};
use crate::http::routes::sessions::views::SessionQuery;
use crate::outbound::recipient::normalize;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(add))
        .routes(routes!(remove))
        .routes(routes!(promote))
        .routes(routes!(demote))
        .routes(routes!(approve))
        .routes(routes!(reject))
}

/// Participants as user JIDs; errors name `participants` or `participants[i]`.
pub fn participant_jids(items: &[String], country: Option<&str>) -> ApiResult<Vec<Jid>> {
    if items.is_empty() {
        return Err(ApiError::field("participants", "at least one participant is required"));
    }
    if items.len() > MAX_PARTICIPANTS {
        return Err(ApiError::field("participants", format!("at most {MAX_PARTICIPANTS} participants")));
    }
    let mut out: Vec<Jid> = Vec::with_capacity(items.len());
    for (i, raw) in items.iter().enumerate() {
        let field = format!("participants[{i}]");
        let r = normalize(raw, country).map_err(|why| ApiError::field(&field, why))?;
        let jid = match r.jid.rsplit_once('@') {
            Some((user, "s.whatsapp.net")) => Jid::pn(user),
            Some((user, "lid")) => Jid::lid(user),
            _ => return Err(ApiError::field(&field, "must be a phone number or user JID, not a group")),
        };
        if !out.contains(&jid) {
            out.push(jid);
        }
    }
    Ok(out)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ParticipantsBody {
    #[serde(flatten)]
    pub group: GroupSelector,
    /// Phone numbers or user JIDs, 1-256.
    #[schema(example = json!(["6281234567890"]))]
    pub participants: Vec<String>,
}

/// One participant's outcome.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ParticipantOutcome {
    /// Phone number (or LID user) as WhatsApp answered it.
    pub phone: String,
    pub jid: Option<String>,
    /// `added`, `removed`, `promoted`, `demoted`, `approved`, `rejected`, or `failed`.
    pub status: String,
    /// WhatsApp's per-participant error code when it failed (e.g. 404, 409, 403, 406).
    pub code: Option<u16>,
    /// What the code means.
    pub reason: Option<String>,
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

/// What a per-participant code means.
fn reason(code: u16) -> &'static str {
    match code {
        400 => "bad request",
        401 | 403 => "not allowed (the user's privacy settings or the session's rights)",
        404 => "not on WhatsApp, not a member, or no pending request",
        406 => "not acceptable (the group creator, or the group is full)",
        408 => "the user left recently and cannot be re-added yet",
        409 => "already a member",
        _ => "refused by WhatsApp",
    }
}

#[derive(Clone, Copy)]
enum Action {
    Add,
    Remove,
    Promote,
    Demote,
    Approve,
    Reject,
}

impl Action {
    fn done(self) -> &'static str {
        match self {
            Action::Add => "added",
            Action::Remove => "removed",
            Action::Promote => "promoted",
            Action::Demote => "demoted",
            Action::Approve => "approved",
            Action::Reject => "rejected",
        }
    }
}

async fn change(
    state: &AppState,
    who: &crate::auth::Principal,
    body: &ParticipantsBody,
    action: Action,
) -> ApiResult<MembershipResult> {
    let session =
        SessionQuery { session_id: Some(body.group.session_id.clone()), id: None, session: None }.required()?;
    let group = parse_group_id(&body.group.group_id)?;
    let jids = participant_jids(&body.participants, state.config.outbound.default_country_code.as_deref())?;
    let live = live(state, who, &session).await?;
    let groups = live.client.groups();
    let g = group.clone();
    let answers: Result<Vec<ParticipantChangeResponse>, GroupError> = match action {
        Action::Add => groups.add_participants(g, &jids).await,
        Action::Remove => groups.remove_participants(g, &jids).await,
        Action::Promote => groups.promote_participants(g, &jids).await,
        Action::Demote => groups.demote_participants(g, &jids).await,
        Action::Approve => groups.approve_membership_requests(g, &jids).await,
        Action::Reject => groups.reject_membership_requests(g, &jids).await,
    };
    Ok(summarize(&live, &group, &jids, answers.map_err(group_error)?, action))
}

fn summarize(
    live: &Live,
    group: &Jid,
    asked: &[Jid],
    answers: Vec<ParticipantChangeResponse>,
    action: Action,
) -> MembershipResult {
    let mut participants = Vec::with_capacity(asked.len());
    for jid in asked {
        let answer = answers
            .iter()
            .find(|r| r.jid.user == jid.user || r.phone_number.as_ref().is_some_and(|p| p.user == jid.user));
        let (status, code) = match answer {
            Some(r) if r.is_ok() => (action.done().to_string(), None),
            Some(r) => ("failed".to_string(), Some(r.error.as_deref().and_then(|e| e.parse().ok()).unwrap_or(500))),
            // WhatsApp named no outcome for this participant: report it, do not guess success.
            None => ("failed".to_string(), Some(500)),
        };
        participants.push(ParticipantOutcome {
            phone: jid.user.to_string(),
            jid: Some(jid.to_string()),
            status,
            reason: code.map(|c| reason(c).to_string()),
            code,
        });
    }
    let ok: Vec<String> = participants.iter().filter(|p| p.code.is_none()).map(|p| p.phone.clone()).collect();
    let failed: Vec<String> =
        participants.iter().filter_map(|p| p.code.map(|c| format!("{}: {c} {}", p.phone, reason(c)))).collect();
    let status = match (ok.len(), failed.len()) {
        (_, 0) => "success",
        (0, _) => "failed",
        _ => "partial",
    };
    let mut result = MembershipResult {
        session_id: live.session_id.clone(),
        phone: live.phone.clone(),
        group_id: group.to_string(),
        participants,
        status: status.into(),
        ..Default::default()
    };
    match action {
        Action::Add => (result.added_participants, result.failed_to_add) = (Some(ok), Some(failed)),
        Action::Remove => (result.removed_participants, result.failed_to_remove) = (Some(ok), Some(failed)),
        Action::Approve => (result.approved_participants, result.failed_to_approve) = (Some(ok), Some(failed)),
        _ => {}
    }
    result
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
    Ok(Reply::ok("Participants added", change(&state, &who, &body, Action::Add).await?))
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
    Ok(Reply::ok("Participants removed", change(&state, &who, &body, Action::Remove).await?))
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
    Ok(Reply::ok("Participants promoted", change(&state, &who, &body, Action::Promote).await?))
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
    Ok(Reply::ok("Participants demoted", change(&state, &who, &body, Action::Demote).await?))
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
    Ok(Reply::ok("Join requests approved", change(&state, &who, &body, Action::Approve).await?))
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
    Ok(Reply::ok("Join requests rejected", change(&state, &who, &body, Action::Reject).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn participants_are_validated_by_position() {
        let field = |items: &[&str]| {
            let v: Vec<String> = items.iter().map(|s| s.to_string()).collect();
            participant_jids(&v, None).unwrap_err().field.unwrap()
        };
        assert_eq!(field(&[]), "participants");
        assert_eq!(field(&["15550001111", "nope"]), "participants[1]");
        assert_eq!(field(&["120363@g.us"]), "participants[0]");
        let many: Vec<String> = (0..=MAX_PARTICIPANTS).map(|i| format!("1555{i:07}")).collect();
        assert_eq!(participant_jids(&many, None).unwrap_err().field.as_deref(), Some("participants"));
        let ok = participant_jids(&["+1 555 000 1111".into(), "15550001111@s.whatsapp.net".into()], None).unwrap();
        assert_eq!(ok, vec![Jid::pn("15550001111")]);
    }
}
