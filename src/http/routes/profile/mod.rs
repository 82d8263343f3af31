//! `/api/v1/profile/{info,picture,privacy}`: the session's own WhatsApp profile — push
//! name, about text, picture and privacy settings — read from and written to WhatsApp.
//!
//! Beyond the reference spec (which only reads these): `POST /profile/info` sets the push
//! name and/or about text, `POST /profile/privacy` changes privacy settings. Contacts,
//! lookups and the blocklist live in `contacts.rs`; the work is `crate::contacts`'s.

pub mod contacts;

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::contacts::{self as account, PictureView, Privacy, PrivacyChange, ProfileEdit, ProfileImage, ProfileInfo};
use crate::http::auth::Tenant;
use crate::http::docs::{SessionErrors, SessionMediaErrors};
use crate::http::envelope::{Envelope, Reply};
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, ApiQuery};
use crate::http::routes::sessions::views::SessionQuery;
use crate::http::session;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_info, set_info))
        .routes(routes!(get_picture, set_picture, delete_picture))
        .routes(routes!(get_privacy, set_privacy))
        .merge(crate::http::routes::profile::contacts::router())
}

/// WhatsApp's own limits: push names of 25 characters, about texts of 139.
#[utoipa::path(get, path = "/api/v1/profile/info", tag = "Profiles", operation_id = "getProfileInfo",
    summary = "Get profile info", description = "Current account profile summary: push name, about text, picture, business profile.",
    params(SessionQuery),
    responses((status = 200, description = "Profile summary", body = Envelope<ProfileInfo>), SessionErrors))]
async fn get_info(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiQuery(q): ApiQuery<SessionQuery>,
) -> ApiResult<Reply<ProfileInfo>> {
    let live = session::live(&state, &who, &q.required()?).await?;
    Ok(Reply::ok("Profile info", account::info(&live).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProfileInfoSet {
    session_id: String,
    /// New push name (display name), 1-25 characters.
    push_name: Option<String>,
    /// New about text, at most 139 characters; "" clears it.
    about: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfileInfoUpdated {
    phone: String,
    push_name: Option<String>,
    about: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/profile/info", tag = "Profiles", operation_id = "postProfileInfo",
    summary = "Set push name and about", description = "WAREST addition: sets the push name (display name) and/or the about text.",
    request_body = ProfileInfoSet,
    responses((status = 200, description = "What was changed", body = Envelope<ProfileInfoUpdated>), SessionErrors))]
async fn set_info(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiJson(body): ApiJson<ProfileInfoSet>,
) -> ApiResult<Reply<ProfileInfoUpdated>> {
    let edit = ProfileEdit::parse(body.push_name.as_deref(), body.about.as_deref())?;
    let live = session::live(&state, &who, &body.session_id).await?;
    let phone = account::set_info(&live, edit).await?;
    Ok(Reply::ok("Profile updated", ProfileInfoUpdated { phone, push_name: body.push_name, about: body.about }))
}

#[utoipa::path(get, path = "/api/v1/profile/picture", tag = "Profiles", operation_id = "getProfilePicture",
    summary = "Get profile picture", description = "Current account avatar URLs; `results: []` when there is none.",
    params(SessionQuery),
    responses((status = 200, description = "Profile picture info", body = Envelope<PictureView>), SessionErrors))]
async fn get_picture(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiQuery(q): ApiQuery<SessionQuery>,
) -> ApiResult<axum::response::Response> {
    let live = session::live(&state, &who, &q.required()?).await?;
    Ok(match account::own_picture(&live).await? {
        Some(p) => axum::response::IntoResponse::into_response(Reply::ok("Profile picture resolved", p)),
        None => empty("No profile picture"),
    })
}

/// `{"status":true,"code":1000,"message":…,"results":[]}`, as the spec shows for removals.
fn empty(message: &str) -> axum::response::Response {
    let body = Envelope::<()> { status: true, code: 1000, message: message.into(), results: Some(vec![]) };
    axum::response::IntoResponse::into_response(axum::Json(body))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PictureSet {
    session_id: String,
    /// An http(s) URL, a `data:image/...;base64,` URL or bare base64 of a JPEG or PNG.
    #[schema(schema_with = crate::http::wire::media_source)]
    picture: String,
}

#[utoipa::path(post, path = "/api/v1/profile/picture", tag = "Profiles", operation_id = "postProfilePicture",
    summary = "Set profile picture", description = "Set or replace the current account avatar (JPEG or PNG, at most `WAREST_MEDIA_MAX_MB`; WhatsApp expects 640x640).",
    request_body = PictureSet,
    responses((status = 200, description = "Updated profile picture", body = Envelope<PictureView>), SessionMediaErrors))]
async fn set_picture(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiJson(body): ApiJson<PictureSet>,
) -> ApiResult<Reply<PictureView>> {
    let loaded = crate::http::routes::messages::kinds::load(&state, "picture", &body.picture).await?;
    let image = ProfileImage::parse("picture", loaded.bytes)?;
    let live = session::live(&state, &who, &body.session_id).await?;
    let view = account::set_picture(&live, image).await?;
    Ok(Reply::ok("Profile picture updated", view))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionSelector {
    session_id: String,
}

#[utoipa::path(delete, path = "/api/v1/profile/picture", tag = "Profiles", operation_id = "deleteProfilePicture",
    summary = "Delete profile picture", description = "Remove the current account avatar.",
    request_body = SessionSelector,
    responses((status = 200, description = "Profile picture removed (`results: []`)", body = Envelope<Object>), SessionErrors))]
async fn delete_picture(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiJson(body): ApiJson<SessionSelector>,
) -> ApiResult<axum::response::Response> {
    let live = session::live(&state, &who, &body.session_id).await?;
    account::remove_picture(&live).await?;
    Ok(empty("Profile picture removed"))
}

/// The spec's privacy field names and WhatsApp's categories.
#[derive(Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProfilePrivacy {
    /// Only in responses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    phone: Option<String>,
    /// Only in requests.
    #[serde(default, skip_serializing)]
    session_id: Option<String>,
    read_receipts: Option<String>,
    profile_photo: Option<String>,
    status: Option<String>,
    online: Option<String>,
    last_seen: Option<String>,
    group_add: Option<String>,
    call_add: Option<String>,
    /// Not a server-side setting in WhatsApp's protocol; always null.
    stickers: Option<String>,
    messages: Option<String>,
}

impl ProfilePrivacy {
    fn of(p: Privacy) -> ProfilePrivacy {
        ProfilePrivacy {
            phone: p.phone.clone(),
            session_id: None,
            read_receipts: p.get("readReceipts"),
            profile_photo: p.get("profilePhoto"),
            status: p.get("status"),
            online: p.get("online"),
            last_seen: p.get("lastSeen"),
            group_add: p.get("groupAdd"),
            call_add: p.get("callAdd"),
            stickers: None,
            messages: p.get("messages"),
        }
    }

    /// The fields the caller set, by API name, in the answer's order.
    fn given(&self) -> Vec<(&'static str, &str)> {
        let fields = [
            ("readReceipts", &self.read_receipts),
            ("profilePhoto", &self.profile_photo),
            ("status", &self.status),
            ("online", &self.online),
            ("lastSeen", &self.last_seen),
            ("groupAdd", &self.group_add),
            ("callAdd", &self.call_add),
            ("stickers", &self.stickers),
            ("messages", &self.messages),
        ];
        fields.into_iter().filter_map(|(f, v)| v.as_deref().map(|v| (f, v))).collect()
    }
}

#[utoipa::path(get, path = "/api/v1/profile/privacy", tag = "Profiles", operation_id = "getProfilePrivacy",
    summary = "Get privacy settings", description = "ProfilePrivacy configuration for the account, as WhatsApp holds it.",
    params(SessionQuery),
    responses((status = 200, description = "ProfilePrivacy controls", body = Envelope<ProfilePrivacy>), SessionErrors))]
async fn get_privacy(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiQuery(q): ApiQuery<SessionQuery>,
) -> ApiResult<Reply<ProfilePrivacy>> {
    let live = session::live(&state, &who, &q.required()?).await?;
    Ok(Reply::ok("ProfilePrivacy preferences", ProfilePrivacy::of(account::privacy(&live).await?)))
}

#[utoipa::path(post, path = "/api/v1/profile/privacy", tag = "Profiles", operation_id = "postProfilePrivacy",
    summary = "Change privacy settings", description = "WAREST addition: sets the given fields (same names as the GET answer) and returns the settings WhatsApp then reports. Values: lastSeen/profilePhoto/status/groupAdd all|contacts|contact_blacklist|none; readReceipts all|none; online all|match_last_seen; callAdd all|known|contacts; messages all|contacts.",
    request_body = ProfilePrivacy,
    responses((status = 200, description = "ProfilePrivacy controls after the change", body = Envelope<ProfilePrivacy>), SessionErrors))]
async fn set_privacy(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiJson(mut body): ApiJson<ProfilePrivacy>,
) -> ApiResult<Reply<ProfilePrivacy>> {
    let session_id = body.session_id.take().ok_or_else(|| ApiError::field("sessionId", "is required"))?;
    let changes = PrivacyChange::parse_all(&body.given())?;
    let live = session::live(&state, &who, &session_id).await?;
    let now = account::set_privacy(&live, changes).await?;
    Ok(Reply::ok("ProfilePrivacy preferences updated", ProfilePrivacy::of(now)))
}
