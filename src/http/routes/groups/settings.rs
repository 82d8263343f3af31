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
use whatsapp_rust::features::{GroupDescription, PreviousDescription};

use crate::app::AppState;
use crate::http::auth::Tenant;
use crate::http::envelope::{Envelope, Reply};
use crate::http::error::{ApiError, ApiResult, Code};
use crate::http::extract::{ApiJson, ApiQuery};
use crate::http::routes::groups::read::open;
use crate::http::routes::groups::write::subject;
use crate::http::routes::groups::{
    GroupDefault, GroupErrors, GroupQuery, GroupSelector, Live, group_error, live, parse_group_id,
};
use crate::http::routes::sessions::views::SessionQuery;
use crate::outbound::fetch::{MediaError, MediaLimits, load};

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

/// Timers WhatsApp offers (seconds): off, 24 hours, 7 days, 90 days.
pub const EPHEMERAL_CHOICES: [u32; 4] = [0, 86_400, 604_800, 7_776_000];

/// Largest group picture accepted (WhatsApp's are 640x640 JPEGs, far smaller).
pub const MAX_PICTURE_BYTES: usize = 2 * 1024 * 1024;

async fn open_body(
    state: &AppState,
    who: &crate::auth::Principal,
    sel: &GroupSelector,
) -> ApiResult<(Live, whatsapp_rust::Jid)> {
    let session = SessionQuery { session_id: Some(sel.session_id.clone()), id: None, session: None }.required()?;
    let group = parse_group_id(&sel.group_id)?;
    Ok((live(state, who, &session).await?, group))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NameBody {
    #[serde(flatten)]
    pub group: GroupSelector,
    /// 1-100 characters.
    #[schema(example = "Team Squad")]
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
    let name = subject(&body.group_name, "groupName")?;
    let (live, group) = open_body(&state, &who, &body.group).await?;
    let group_name = name.as_str().to_string();
    live.client.groups().set_subject(group.clone(), name).await.map_err(group_error)?;
    let result = NameResult {
        session_id: live.session_id,
        phone: live.phone,
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
    let description = if text.is_empty() {
        None
    } else {
        Some(GroupDescription::new(text.as_str()).map_err(|_| {
            ApiError::field(
                "groupDescription",
                format!(
                    "must be at most {} characters",
                    whatsapp_rust::wacore::iq::groups::GROUP_DESCRIPTION_MAX_LENGTH
                ),
            )
        })?)
    };
    let (live, group) = open_body(&state, &who, &body.group).await?;
    live.client
        .groups()
        .set_description(group.clone(), description, PreviousDescription::Resolve)
        .await
        .map_err(group_error)?;
    let status = if text.is_empty() { "success delete group description" } else { "success update group description" };
    let result = DescriptionResult {
        session_id: live.session_id,
        phone: live.phone,
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
    let (live, group) = open_body(&state, &who, &body.group).await?;
    live.client.groups().set_locked(group.clone(), body.locked).await.map_err(group_error)?;
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
    let (live, group) = open_body(&state, &who, &body.group).await?;
    live.client.groups().set_announce(group.clone(), body.announcement).await.map_err(group_error)?;
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
    if !EPHEMERAL_CHOICES.contains(&body.expiration) {
        return Err(ApiError::field("expiration", "must be 0, 86400, 604800 or 7776000 seconds"));
    }
    let (live, group) = open_body(&state, &who, &body.group).await?;
    live.client.groups().set_ephemeral(group.clone(), body.expiration).await.map_err(group_error)?;
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
    use whatsapp_rust::features::MembershipApprovalMode;
    let (live, group) = open_body(&state, &who, &body.group).await?;
    let mode = if body.join_approval_mode { MembershipApprovalMode::On } else { MembershipApprovalMode::Off };
    live.client.groups().set_membership_approval(group.clone(), mode).await.map_err(group_error)?;
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
    let (live, group) = open(&state, &who, &q).await?;
    let picture = live.client.contacts().get_profile_picture(&group, false).await.map_err(|e| match e {
        whatsapp_rust::features::ContactError::Iq(iq) => group_error(iq.into()),
        other => group_error(whatsapp_rust::features::GroupError::InvalidRequest(other.to_string())),
    })?;
    let result = PictureResult {
        session_id: live.session_id,
        phone: live.phone,
        group_id: group.to_string(),
        picture_url: picture.as_ref().map(|p| p.url.clone()),
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
    #[schema(example = "data:image/jpeg;base64,...")]
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
    if crate::outbound::fetch::sniff(&loaded.bytes) != Some("image/jpeg") {
        return Err(ApiError::field("picture", "must be a JPEG image"));
    }
    let (live, group) = open_body(&state, &who, &body.group).await?;
    let set = live.client.groups().set_profile_picture(group.clone(), loaded.bytes).await.map_err(group_error)?;
    let result = PictureResult {
        session_id: live.session_id,
        phone: live.phone,
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
    let (live, group) = open_body(&state, &who, &body).await?;
    live.client.groups().remove_profile_picture(group.clone()).await.map_err(group_error)?;
    Ok(Reply::ok("Group picture removed", GroupDefault::new(&live, &group, "success delete group picture")))
}
