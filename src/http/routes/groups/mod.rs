//! `/api/v1/groups` and `/api/v1/group/*` (the reference spec's paths, fields and
//! envelope): what every group route shares. The session is the caller's (another
//! tenant's is not found); the work is done by `crate::groups` on the session's live
//! client. Reads live in `read.rs`, changes in `write.rs` and `settings.rs`, membership
//! in `members.rs`.

pub mod members;
pub mod read;
pub mod settings;
pub mod write;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use crate::app::AppState;
use crate::auth::Principal;
use crate::groups::GroupId;
use crate::http::error::{ApiError, ApiResult};
use crate::http::routes::sessions::views::SessionQuery;
use crate::http::session;
use crate::sessions::live::LiveSession;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().merge(read::router()).merge(write::router()).merge(settings::router()).merge(members::router())
}

crate::error_set!(
    /// Errors of the group routes.
    pub GroupErrors = [SessionNotFound, SessionNotLinked, SessionNotConnected, GroupNotFound, GroupForbidden, GroupConflict, GroupInviteInvalid, GroupRequestFailed,
        MediaUrlForbidden, MediaFetchFailed, MediaTooLarge, MediaUnsupported]
);

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

    pub fn group(&self) -> ApiResult<GroupId> {
        let raw = self.group_id.as_deref().ok_or_else(|| ApiError::field("groupId", "is required"))?;
        Ok(GroupId::parse("groupId", raw)?)
    }

    /// The caller's live session and the group named.
    pub async fn open(&self, state: &AppState, who: &Principal) -> ApiResult<(LiveSession, GroupId)> {
        let id = self.session()?;
        let group = self.group()?;
        Ok((session::live(state, who, &id).await?, group))
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
    pub fn new(live: &LiveSession, group: &GroupId, status: impl Into<String>) -> Self {
        GroupDefault {
            session_id: live.id().to_string(),
            phone: Some(live.phone.clone()),
            group_id: group.to_string(),
            status: status.into(),
        }
    }
}

impl GroupSelector {
    /// The caller's live session and the group named.
    pub async fn open(&self, state: &AppState, who: &Principal) -> ApiResult<(LiveSession, GroupId)> {
        let id = session_id(&self.session_id)?;
        let group = GroupId::parse("groupId", &self.group_id)?;
        Ok((session::live(state, who, &id).await?, group))
    }
}

/// A session id given in a body field.
pub fn session_id(raw: &str) -> ApiResult<String> {
    SessionQuery { session_id: Some(raw.to_string()), id: None, session: None }.required()
}
