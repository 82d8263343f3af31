//! `/api/v1/groups` and `/api/v1/group/*` (the reference spec's paths, fields and
//! envelope): what every group route shares. The session is the caller's (another
//! tenant's is not found); the work is whatsapp-rust's `Groups` feature on the session's
//! live client, whose answers are mapped to WAREST codes here.
//! Reads live in `groups_read.rs`, changes in `groups_write.rs` and
//! `groups_settings.rs`, membership in `groups_members.rs`.
pub mod members;
pub mod read;
pub mod settings;
pub mod write;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, IntoResponses, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use whatsapp_rust::Client;
use whatsapp_rust::IqError;
use whatsapp_rust::features::{GroupError, GroupMetadata};
use whatsapp_rust::{Jid, Server};

use crate::app::AppState;
use crate::auth::Principal;
use crate::http::envelope::ErrorEnvelope;
use crate::http::error::{ApiError, ApiResult, Code};
use crate::http::routes::sessions::views::{SessionQuery, load};
use crate::store::sessions::SessionRow;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(crate::http::routes::groups::read::router())
        .merge(crate::http::routes::groups::write::router())
        .merge(crate::http::routes::groups::settings::router())
        .merge(crate::http::routes::groups::members::router())
}

/// At most this many participants per request (WhatsApp's own group cap is 257).
pub const MAX_PARTICIPANTS: usize = 256;

/// Errors of the group routes.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum GroupErrors {
    /// Invalid input; `results[0].field` names the field.
    #[response(status = 400)]
    BadRequest(#[to_schema] ErrorEnvelope),
    #[response(status = 401)]
    Unauthorized(ErrorEnvelope),
    /// The session is not a member, or not an admin, of the group (4101).
    #[response(status = 403)]
    Forbidden(ErrorEnvelope),
    /// Unknown session (1101) or group (4100).
    #[response(status = 404)]
    NotFound(ErrorEnvelope),
    /// The session is not linked (3002) or not connected (3104); the description changed meanwhile (4104).
    #[response(status = 409)]
    Conflict(ErrorEnvelope),
    /// The invite link was revoked or is unknown (4103).
    #[response(status = 410)]
    Gone(ErrorEnvelope),
    #[response(status = 429)]
    TooMany(ErrorEnvelope),
    #[response(status = 500)]
    Internal(ErrorEnvelope),
    /// WhatsApp did not answer or refused the request for another reason (4106).
    #[response(status = 502)]
    BadGateway(ErrorEnvelope),
}

/// `?sessionId=&groupId=` (the session id also as `id` or `session`).
#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct GroupQuery {
    /// The session id. Aliases: `id`, `session`.
    pub session_id: Option<String>,
    #[param(ignore)]
    pub id: Option<String>,
    #[param(ignore)]
    pub session: Option<String>,
    /// Raw group id or full JID such as `1203630...@g.us`.
    pub group_id: Option<String>,
}

impl GroupQuery {
    pub fn session(&self) -> ApiResult<String> {
        SessionQuery { session_id: self.session_id.clone(), id: self.id.clone(), session: self.session.clone() }
            .required()
    }

    pub fn group(&self) -> ApiResult<Jid> {
        parse_group_id(self.group_id.as_deref().ok_or_else(|| ApiError::field("groupId", "is required"))?)
    }
}

/// `{sessionId, groupId}`: the body of routes acting on one group.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupSelector {
    #[schema(example = "main")]
    pub session_id: String,
    /// Raw id or value ending with `@g.us`.
    #[schema(example = "120363111111111111@g.us")]
    pub group_id: String,
}

/// A group id as `<digits>` or `<digits>-<digits>`, with or without `@g.us`.
pub fn parse_group_id(raw: &str) -> ApiResult<Jid> {
    let raw = raw.trim();
    let user = match raw.split_once('@') {
        Some((user, "g.us")) => user,
        Some(_) => return Err(ApiError::field("groupId", "must be a group id ending with @g.us")),
        None => raw,
    };
    let digits = |s: &str| !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_digit());
    if user.split('-').count() > 2 || !user.split('-').all(digits) {
        return Err(ApiError::field("groupId", format!("{raw:?} is not a group id")));
    }
    Ok(Jid::group(user))
}

/// The caller's session with its live WhatsApp client.
pub struct Live {
    pub session_id: String,
    /// The session owner's phone number.
    pub phone: Option<String>,
    pub client: Arc<Client>,
    pub row: SessionRow,
}

/// Loads the caller's session and its connected client.
pub async fn live(state: &AppState, who: &Principal, session_id: &str) -> ApiResult<Live> {
    let (row, handle) = load(state, who, session_id).await?;
    let Some(me) = row.me.jid.clone() else {
        return Err(ApiError::new(Code::SessionNotLinked, "the session is not linked to a WhatsApp account yet"));
    };
    let client = handle
        .client()
        .filter(|c| c.is_connected())
        .ok_or_else(|| ApiError::new(Code::SessionNotConnected, "the session is not connected to WhatsApp"))?;
    let phone = me.split(['@', ':']).next().map(str::to_string);
    Ok(Live { session_id: session_id.to_string(), phone, client, row })
}

/// Maps a whatsapp-rust group failure to the WAREST answer.
pub fn group_error(e: GroupError) -> ApiError {
    match e {
        GroupError::Iq(IqError::ServerError { code, text, .. }) => match code {
            404 => ApiError::new(Code::GroupNotFound, "Group not found"),
            403 | 401 => ApiError::new(Code::GroupForbidden, "The session is not allowed to do this in the group"),
            406 | 410 => {
                ApiError::new(Code::GroupInviteInvalid, "The invite link is invalid, revoked or the group is full")
            }
            409 => ApiError::new(Code::GroupConflict, "The group changed meanwhile; read it again and retry"),
            400 => ApiError::new(Code::Validation, format!("WhatsApp refused the request as malformed ({text})")),
            _ => ApiError::new(Code::GroupRequestFailed, format!("WhatsApp answered {code} ({text})")),
        },
        GroupError::Iq(IqError::NotConnected | IqError::Disconnected(_) | IqError::InternalChannelClosed) => {
            ApiError::new(Code::SessionNotConnected, "the session is not connected to WhatsApp")
        }
        GroupError::Iq(IqError::Timeout) => ApiError::new(Code::GroupRequestFailed, "WhatsApp did not answer in time"),
        GroupError::DescriptionConflict => {
            ApiError::new(Code::GroupConflict, "The description changed meanwhile; read it again and retry")
        }
        GroupError::InvalidRequest(why) => ApiError::new(Code::Validation, why),
        other => {
            tracing::warn!(error = %other, "group request failed");
            ApiError::new(Code::GroupRequestFailed, "The group request failed")
        }
    }
}

/// A user JID without device, server and `@`: the spec's `phone`.
pub fn phone_of(jid: &Jid) -> String {
    jid.user.to_string()
}

/// A user JID (`s.whatsapp.net` or `lid`) as a string without device.
pub fn user_jid(jid: &Jid) -> String {
    jid.to_non_ad().to_string()
}

/// The spec's `GroupInfo`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupInfo {
    pub id: String,
    /// `pn` or `lid`.
    pub addressing_mode: String,
    pub subject: String,
    pub subject_owner: Option<String>,
    pub subject_owner_jid: Option<String>,
    pub subject_time: Option<u64>,
    pub creation: Option<u64>,
    pub owner: Option<String>,
    pub owner_jid: Option<String>,
    #[serde(rename = "owner_country_code")]
    pub owner_country_code: Option<String>,
    pub desc: Option<String>,
    pub desc_id: Option<String>,
    pub desc_owner: Option<String>,
    pub desc_owner_jid: Option<String>,
    pub desc_time: Option<u64>,
    /// Only admins may edit the group's info.
    pub restrict: bool,
    /// Only admins may send messages.
    pub announce: bool,
    pub is_community: bool,
    pub is_community_announce: bool,
    pub join_approval_mode: bool,
    /// True when only admins may add members.
    pub member_add_mode: bool,
    pub participants_count: usize,
    /// Disappearing-message timer in seconds (0 = off).
    pub ephemeral_duration: u32,
}

impl GroupInfo {
    pub fn of(m: &GroupMetadata) -> GroupInfo {
        let owner = m.creator_pn.as_ref().or(m.creator.as_ref());
        let subject_owner = m.subject_owner_pn.as_ref().or(m.subject_owner.as_ref());
        let desc_owner = m.description_owner_pn.as_ref().or(m.description_owner.as_ref());
        GroupInfo {
            id: m.id.to_string(),
            addressing_mode: format!("{:?}", m.addressing_mode).to_ascii_lowercase(),
            subject: m.subject.clone(),
            subject_owner: subject_owner.map(phone_of),
            subject_owner_jid: subject_owner.map(user_jid),
            subject_time: m.subject_time,
            creation: m.creation_time,
            owner: owner.map(phone_of),
            owner_jid: owner.map(user_jid),
            owner_country_code: m.creator_country_code.clone(),
            desc: m.description.clone(),
            desc_id: m.description_id.clone(),
            desc_owner: desc_owner.map(phone_of),
            desc_owner_jid: desc_owner.map(user_jid),
            desc_time: m.description_time,
            restrict: m.is_locked,
            announce: m.is_announcement,
            is_community: m.is_parent_group,
            is_community_announce: m.is_default_sub_group,
            join_approval_mode: m.membership_approval,
            member_add_mode: matches!(m.member_add_mode, Some(whatsapp_rust::features::MemberAddMode::AdminAdd)),
            participants_count: m.participants.len().max(m.size.unwrap_or(0) as usize),
            ephemeral_duration: m.ephemeral.as_ref().and_then(|e| e.expiration).unwrap_or(0),
        }
    }
}

/// Is `jid` a group JID (used by the list to skip anything else).
pub fn is_group(jid: &Jid) -> bool {
    jid.server == Server::Group
}

/// The result most changes answer with: `{sessionId, phone, groupId, status}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupDefault {
    pub session_id: String,
    pub phone: Option<String>,
    pub group_id: String,
    pub status: String,
}

impl GroupDefault {
    pub fn new(live: &Live, group: &Jid, status: impl Into<String>) -> Self {
        GroupDefault {
            session_id: live.session_id.clone(),
            phone: live.phone.clone(),
            group_id: group.to_string(),
            status: status.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whatsapp_answers_map_to_group_codes() {
        let server = |code: u16| {
            GroupError::Iq(IqError::ServerError { code, text: "x".into(), error_type: None, backoff: None })
        };
        let code = |e: GroupError| group_error(e).code;
        assert_eq!(code(server(404)), Code::GroupNotFound);
        assert_eq!(code(server(403)), Code::GroupForbidden);
        assert_eq!(code(server(410)), Code::GroupInviteInvalid);
        assert_eq!(code(server(406)), Code::GroupInviteInvalid);
        assert_eq!(code(server(409)), Code::GroupConflict);
        assert_eq!(code(server(400)), Code::Validation);
        assert_eq!(code(server(500)), Code::GroupRequestFailed);
        assert_eq!(code(GroupError::Iq(IqError::Timeout)), Code::GroupRequestFailed);
        assert_eq!(code(GroupError::Iq(IqError::NotConnected)), Code::SessionNotConnected);
        assert_eq!(code(GroupError::DescriptionConflict), Code::GroupConflict);
        assert_eq!(Code::GroupInviteInvalid.status().as_u16(), 410);
        assert_eq!(Code::GroupRequestFailed.status().as_u16(), 502);
    }

    #[test]
    fn group_ids_are_parsed_or_named_as_the_bad_field() {
        assert_eq!(parse_group_id("120363111").unwrap().to_string(), "120363111@g.us");
        assert_eq!(parse_group_id(" 120363111@g.us ").unwrap().to_string(), "120363111@g.us");
        assert_eq!(parse_group_id("15551234-1690000000").unwrap().to_string(), "15551234-1690000000@g.us");
        for bad in ["", "abc", "123@s.whatsapp.net", "1-2-3", "12 3", &"9".repeat(40), "@g.us"] {
            assert_eq!(parse_group_id(bad).unwrap_err().field.as_deref(), Some("groupId"), "{bad}");
        }
    }
}
