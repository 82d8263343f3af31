//! Group settings: name, description, locked (who edits info), announcement (who
//! sends), the disappearing-message timer (a WAREST addition shaped like the locked and
//! announcement routes: the reference has no route for it), join approval (also a
//! WAREST addition: the reference shows `joinApprovalMode` but cannot set it) and the
//! picture.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::groups::{self, Description, Jpeg, MAX_PICTURE_BYTES, Subject, Timer};
use crate::http::auth::Tenant;
use crate::http::envelope::{Envelope, Reply};
use crate::http::error::{ApiError, ApiResult, Code};
use crate::http::extract::{ApiJson, ApiQuery};
use crate::http::routes::groups::{GroupDefault, GroupErrors, GroupQuery, GroupSelector};
use crate::media::fetch::{MediaError, MediaLimits, load};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(set_name))
        .routes(routes!(set_description))
        .routes(routes!(set_locked))
        .routes(routes!(set_announcement))
        .routes(routes!(set_ephemeral))
        .routes(routes!(set_join_approval))
        .routes(routes!(get_picture, set_picture, delete_picture))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NameBody {
    #[serde(flatten)]
    pub group: GroupSelector,
    /// 1-100 characters.
    #[schema(example = "Team Squad")]
    #[schema(pattern = "\\S", max_length = 100)]
    pub group_name: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NameResult {
    pub session_id: String,
    pub phone: Option<String>,
    pub group_id: String,
    pub group_name: String,
    pub status: String,
}

#[utoipa::path(post, path = "/api/v1/group/name", tag = "Groups", operation_id = "postGroupName",
    summary = "Rename a group", description = "Update the group's name; members are notified.",
    request_body = NameBody,
    responses((status = 200, description = "Group name updated", body = Envelope<NameResult>), GroupErrors))]
async fn set_name(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiJson(body): ApiJson<NameBody>,
) -> ApiResult<Reply<NameResult>> {
    let name = Subject::parse("groupName", &body.group_name)?;
    let (live, group) = body.group.open(&state, &who).await?;
    let group_name = name.as_str().to_string();
    groups::set_subject(&live, &group, name).await?;
    let result = NameResult {
        session_id: live.id().into(),
        phone: Some(live.phone),
        group_id: group.to_string(),
        group_name,
        status: "success update group name".into(),
    };
    Ok(Reply::ok("Group name updated", result))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DescriptionBody {
    #[serde(flatten)]
    pub group: GroupSelector,
    /// Up to 2048 characters; an empty string removes the description.
    #[schema(example = "Internal chat")]
    pub group_description: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DescriptionResult {
    pub session_id: String,
    pub phone: Option<String>,
    pub group_id: String,
    pub group_description: String,
    pub status: String,
}

#[utoipa::path(post, path = "/api/v1/group/description", tag = "Groups", operation_id = "postGroupDescription",
    summary = "Update group description", description = "Set (or, with an empty string, remove) the description; members are notified.",
    request_body = DescriptionBody,
    responses((status = 200, description = "Group description updated", body = Envelope<DescriptionResult>), GroupErrors))]
async fn set_description(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiJson(body): ApiJson<DescriptionBody>,
) -> ApiResult<Reply<DescriptionResult>> {
    let text = body.group_description.trim().to_string();
    let description = Description::parse("groupDescription", &text)?;
    let (live, group) = body.group.open(&state, &who).await?;
    groups::description(&live, &group, description).await?;
    let status = if text.is_empty() { "success delete group description" } else { "success update group description" };
    let result = DescriptionResult {
        session_id: live.id().into(),
        phone: Some(live.phone),
        group_id: group.to_string(),
        group_description: text,
        status: status.into(),
    };
    Ok(Reply::ok("Group description updated", result))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LockedBody {
    #[serde(flatten)]
    pub group: GroupSelector,
    /// true restricts edits of the group's info to admins.
    pub locked: bool,
}

#[utoipa::path(post, path = "/api/v1/group/locked", tag = "Groups", operation_id = "postGroupLocked",
    summary = "Set edit permissions", description = "Toggle whether only admins may edit the group's info (admins only).",
    request_body = LockedBody,
    responses((status = 200, description = "Lock flag updated", body = Envelope<GroupDefault>), GroupErrors))]
async fn set_locked(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiJson(body): ApiJson<LockedBody>,
) -> ApiResult<Reply<GroupDefault>> {
    let (live, group) = body.group.open(&state, &who).await?;
    groups::set_locked(&live, &group, body.locked).await?;
    let status = if body.locked { "success lock group" } else { "success unlock group" };
    Ok(Reply::ok("Group locked updated", GroupDefault::new(&live, &group, status)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnnouncementBody {
    #[serde(flatten)]
    pub group: GroupSelector,
    /// true restricts sending messages to admins.
    pub announcement: bool,
}

#[utoipa::path(post, path = "/api/v1/group/announcement", tag = "Groups", operation_id = "postGroupAnnouncement",
    summary = "Set announcement mode", description = "Toggle whether only admins may send messages (admins only).",
    request_body = AnnouncementBody,
    responses((status = 200, description = "Announcement flag updated", body = Envelope<GroupDefault>), GroupErrors))]
async fn set_announcement(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiJson(body): ApiJson<AnnouncementBody>,
) -> ApiResult<Reply<GroupDefault>> {
    let (live, group) = body.group.open(&state, &who).await?;
    groups::set_announcement(&live, &group, body.announcement).await?;
    let status = if body.announcement { "success enable announcement" } else { "success disable announcement" };
    Ok(Reply::ok("Group announcement updated", GroupDefault::new(&live, &group, status)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EphemeralBody {
    #[serde(flatten)]
    pub group: GroupSelector,
    /// Seconds: 0 (off), 86400 (24 h), 604800 (7 days) or 7776000 (90 days).
    #[schema(example = 604800)]
    #[schema(schema_with = crate::http::wire::timer)]
    pub expiration: u32,
}

#[utoipa::path(post, path = "/api/v1/group/ephemeral", tag = "Groups", operation_id = "postGroupEphemeral",
    summary = "Set disappearing messages", description = "WAREST addition: set the group's disappearing-message \
        timer (any member, or admins only when the group is locked). The current value is `ephemeralDuration` in `/group/info`.",
    request_body = EphemeralBody,
    responses((status = 200, description = "Timer updated", body = Envelope<GroupDefault>), GroupErrors))]
async fn set_ephemeral(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiJson(body): ApiJson<EphemeralBody>,
) -> ApiResult<Reply<GroupDefault>> {
    let timer = Timer::parse("expiration", body.expiration)?;
    let (live, group) = body.group.open(&state, &who).await?;
    groups::set_ephemeral(&live, &group, timer).await?;
    let status = if body.expiration == 0 { "success disable ephemeral" } else { "success enable ephemeral" };
    Ok(Reply::ok("Group ephemeral updated", GroupDefault::new(&live, &group, status)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JoinApprovalBody {
    #[serde(flatten)]
    pub group: GroupSelector,
    /// true: people joining by link wait for an admin's approval.
    pub join_approval_mode: bool,
}

#[utoipa::path(post, path = "/api/v1/group/join-approval", tag = "Groups", operation_id = "postGroupJoinApproval",
    summary = "Set join approval", description = "WAREST addition: require (or stop requiring) an admin's approval for \
        people joining by link (admins only). Pending requests are listed by `/group/participants/requests`.",
    request_body = JoinApprovalBody,
    responses((status = 200, description = "Join approval updated", body = Envelope<GroupDefault>), GroupErrors))]
async fn set_join_approval(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiJson(body): ApiJson<JoinApprovalBody>,
) -> ApiResult<Reply<GroupDefault>> {
    let (live, group) = body.group.open(&state, &who).await?;
    groups::set_join_approval(&live, &group, body.join_approval_mode).await?;
    let status = if body.join_approval_mode { "success enable join approval" } else { "success disable join approval" };
    Ok(Reply::ok("Group join approval updated", GroupDefault::new(&live, &group, status)))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PictureResult {
    pub session_id: String,
    pub phone: Option<String>,
    pub group_id: String,
    /// Full-size picture URL, or null when the group has none.
    pub picture_url: Option<String>,
    /// WhatsApp's picture id.
    pub picture_id: Option<String>,
    pub status: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/group/picture", tag = "Groups", operation_id = "getGroupPicture",
    summary = "Get group picture", description = "The group picture's URL (null when none is set).",
    params(GroupQuery),
    responses((status = 200, description = "Group picture", body = Envelope<PictureResult>), GroupErrors))]
async fn get_picture(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiQuery(q): ApiQuery<GroupQuery>,
) -> ApiResult<Reply<PictureResult>> {
    let (live, group) = q.open(&state, &who).await?;
    let picture = groups::picture(&live, &group).await?;
    let result = PictureResult {
        session_id: live.id().into(),
        phone: Some(live.phone),
        group_id: group.to_string(),
        picture_url: picture.as_ref().and_then(|p| p.url.clone()),
        picture_id: picture.map(|p| p.id),
        status: None,
    };
    Ok(Reply::ok("Group picture", result))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PictureBody {
    #[serde(flatten)]
    pub group: GroupSelector,
    /// A JPEG as an http(s) URL, base64 or a `data:` URL (at most 2 MiB). WhatsApp shows
    /// 640x640 pictures; the image is sent as given.
    #[schema(schema_with = crate::http::wire::media_source)]
    pub picture: String,
}

#[utoipa::path(post, path = "/api/v1/group/picture", tag = "Groups", operation_id = "postGroupPicture",
    summary = "Set group picture", description = "Set the group picture (a JPEG); members are notified.",
    request_body = PictureBody,
    responses((status = 200, description = "Group picture updated", body = Envelope<PictureResult>), GroupErrors))]
async fn set_picture(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiJson(body): ApiJson<PictureBody>,
) -> ApiResult<Reply<PictureResult>> {
    let limits = MediaLimits { max_bytes: MAX_PICTURE_BYTES, ..state.config.outbound.media.clone() };
    let loaded = load(&body.picture, &limits).await.map_err(|e| match e {
        MediaError::Forbidden(why) => ApiError::new(Code::MediaUrlForbidden, format!("picture: {why}")),
        MediaError::Fetch(why) => ApiError::new(Code::MediaFetchFailed, format!("picture: {why}")),
        other => ApiError::field("picture", other),
    })?;
    let jpeg = Jpeg::parse("picture", loaded.bytes)?;
    let (live, group) = body.group.open(&state, &who).await?;
    let set = groups::set_picture(&live, &group, jpeg).await?;
    let result = PictureResult {
        session_id: live.id().into(),
        phone: Some(live.phone),
        group_id: group.to_string(),
        picture_url: None,
        picture_id: Some(set.id),
        status: Some("success update group picture".into()),
    };
    Ok(Reply::ok("Group picture updated", result))
}

#[utoipa::path(delete, path = "/api/v1/group/picture", tag = "Groups", operation_id = "deleteGroupPicture",
    summary = "Delete group picture", description = "Remove the group picture; members are notified.",
    request_body = GroupSelector,
    responses((status = 200, description = "Group picture removed", body = Envelope<GroupDefault>), GroupErrors))]
async fn delete_picture(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiJson(body): ApiJson<GroupSelector>,
) -> ApiResult<Reply<GroupDefault>> {
    let (live, group) = body.open(&state, &who).await?;
    groups::remove_picture(&live, &group).await?;
    Ok(Reply::ok("Group picture removed", GroupDefault::new(&live, &group, "success delete group picture")))
}
