//! `/api/v1/profile/{info,picture,privacy}`: the session's own WhatsApp profile — push
//! name, about text, picture and privacy settings — read from and written to WhatsApp.
//!
//! Beyond the reference spec (which only reads these): `POST /profile/info` sets the push
//! name and/or about text, `POST /profile/privacy` changes privacy settings. Contacts,
//! lookups and the blocklist live in `profile_contacts.rs`.
pub mod contacts;
pub mod wa;

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use whatsapp_rust::wacore::iq::privacy::{PrivacyCategory, PrivacyValue};

use crate::app::AppState;
use crate::http::auth::Tenant;
use crate::http::docs::CommonErrors;
use crate::http::envelope::{Envelope, Reply};
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, ApiQuery};
use crate::http::routes::profile::wa::{connected, phone_of, wa_failed};
use crate::http::routes::sessions::views::SessionQuery;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_info, set_info))
        .routes(routes!(get_picture, set_picture, delete_picture))
        .routes(routes!(get_privacy, set_privacy))
        .merge(crate::http::routes::profile::contacts::router())
}

/// WhatsApp's own limits: push names of 25 characters, about texts of 139.
const MAX_PUSH_NAME: usize = 25;
const MAX_ABOUT: usize = 139;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfileInfo {
    phone: String,
    /// Spelled as in the reference spec.
    verifiend_name: Option<String>,
    push_name: Option<String>,
    about: Option<String>,
    picture_id: Option<String>,
    #[schema(value_type = Option<Object>)]
    business_profile: Option<serde_json::Value>,
    profile_picture: Option<PictureView>,
}

#[derive(Serialize, ToSchema, Clone)]
#[serde(rename_all = "camelCase")]
pub struct PictureView {
    phone: String,
    url: String,
    id: String,
    #[serde(rename = "type")]
    kind: String,
    img_full: Option<String>,
    img_preview: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/profile/info", tag = "Profiles", operation_id = "getProfileInfo",
    summary = "Get profile info", description = "Current account profile summary: push name, about text, picture, business profile.",
    params(SessionQuery),
    responses((status = 200, description = "Profile summary", body = Envelope<ProfileInfo>), CommonErrors))]
async fn get_info(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiQuery(q): ApiQuery<SessionQuery>,
) -> ApiResult<Reply<ProfileInfo>> {
    let (row, client) = connected(&state, &who, &q.required()?).await?;
    let me = client.pn().ok_or_else(ApiError::internal)?;
    let phone = phone_of(&me.to_string());
    let info =
        client.contacts().get_user_info(std::slice::from_ref(&me)).await.map_err(|e| wa_failed("user info", e))?;
    let info = info.into_values().next();
    let picture = own_picture(&client, &phone).await?;
    let business = client.get_business_profile(&me).await.map_err(|e| wa_failed("business profile", e))?;
    let push_name = Some(client.push_name()).filter(|n| !n.is_empty()).or(row.me.push_name);
    Ok(Reply::ok(
        "Profile info",
        ProfileInfo {
            verifiend_name: info.as_ref().and_then(|i| i.verified_name.as_ref()).and_then(|v| v.name.clone()),
            push_name,
            about: info.as_ref().and_then(|i| i.status.clone()),
            picture_id: picture.as_ref().map(|p| p.id.clone()),
            business_profile: business.map(|b| crate::http::routes::profile::contacts::business_json(&phone, &b)),
            profile_picture: picture,
            phone,
        },
    ))
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
    responses((status = 200, description = "What was changed", body = Envelope<ProfileInfoUpdated>), CommonErrors))]
async fn set_info(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiJson(body): ApiJson<ProfileInfoSet>,
) -> ApiResult<Reply<ProfileInfoUpdated>> {
    if body.push_name.is_none() && body.about.is_none() {
        return Err(ApiError::field("pushName", "give pushName and/or about"));
    }
    if let Some(n) = &body.push_name
        && (n.trim().is_empty() || n.chars().count() > MAX_PUSH_NAME)
    {
        return Err(ApiError::field("pushName", format!("must be 1-{MAX_PUSH_NAME} characters")));
    }
    if let Some(a) = &body.about
        && a.chars().count() > MAX_ABOUT
    {
        return Err(ApiError::field("about", format!("must be at most {MAX_ABOUT} characters")));
    }
    let (_, client) = connected(&state, &who, &body.session_id).await?;
    if let Some(n) = &body.push_name {
        client.profile().set_push_name(n.trim()).await.map_err(|e| wa_failed("push name", e))?;
    }
    if let Some(a) = &body.about {
        client.profile().set_status_text(a).await.map_err(|e| wa_failed("about", e))?;
    }
    let phone = client.pn().map(|j| phone_of(&j.to_string())).unwrap_or_default();
    Ok(Reply::ok("Profile updated", ProfileInfoUpdated { phone, push_name: body.push_name, about: body.about }))
}

async fn own_picture(client: &whatsapp_rust::Client, phone: &str) -> ApiResult<Option<PictureView>> {
    let me = client.pn().ok_or_else(ApiError::internal)?;
    let full = client.contacts().get_profile_picture(&me, false).await.map_err(|e| wa_failed("profile picture", e))?;
    let Some(full) = full else {
        return Ok(None);
    };
    let preview =
        client.contacts().get_profile_picture(&me, true).await.map_err(|e| wa_failed("profile picture", e))?;
    Ok(Some(PictureView {
        phone: phone.to_string(),
        url: full.url.clone(),
        id: full.id,
        kind: "image".into(),
        img_full: Some(full.url),
        img_preview: preview.map(|p| p.url),
    }))
}

#[utoipa::path(get, path = "/api/v1/profile/picture", tag = "Profiles", operation_id = "getProfilePicture",
    summary = "Get profile picture", description = "Current account avatar URLs; `results: []` when there is none.",
    params(SessionQuery),
    responses((status = 200, description = "Profile picture info", body = Envelope<PictureView>), CommonErrors))]
async fn get_picture(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiQuery(q): ApiQuery<SessionQuery>,
) -> ApiResult<axum::response::Response> {
    let (_, client) = connected(&state, &who, &q.required()?).await?;
    let phone = client.pn().map(|j| phone_of(&j.to_string())).unwrap_or_default();
    Ok(match own_picture(&client, &phone).await? {
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
    picture: String,
}

#[utoipa::path(post, path = "/api/v1/profile/picture", tag = "Profiles", operation_id = "postProfilePicture",
    summary = "Set profile picture", description = "Set or replace the current account avatar (JPEG or PNG, at most `WAREST_MEDIA_MAX_MB`; WhatsApp expects 640x640).",
    request_body = PictureSet,
    responses((status = 200, description = "Updated profile picture", body = Envelope<PictureView>), CommonErrors))]
async fn set_picture(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiJson(body): ApiJson<PictureSet>,
) -> ApiResult<Reply<PictureView>> {
    let loaded = crate::http::routes::messages::kinds::load(&state, "picture", &body.picture).await?;
    // By the bytes, not the declared type.
    let is_jpeg = loaded.bytes.starts_with(&[0xFF, 0xD8, 0xFF]);
    if !is_jpeg && !crate::outbound::imaging::is_png(&loaded.bytes) {
        return Err(ApiError::field("picture", "must be a JPEG or PNG image"));
    }
    let (_, client) = connected(&state, &who, &body.session_id).await?;
    let set = client.profile().set_profile_picture(loaded.bytes).await.map_err(|e| wa_failed("set picture", e))?;
    let phone = client.pn().map(|j| phone_of(&j.to_string())).unwrap_or_default();
    let view = own_picture(&client, &phone).await?.unwrap_or(PictureView {
        phone,
        url: String::new(),
        id: set.id,
        kind: "image".into(),
        img_full: None,
        img_preview: None,
    });
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
    responses((status = 200, description = "Profile picture removed (`results: []`)", body = Envelope<Object>), CommonErrors))]
async fn delete_picture(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiJson(body): ApiJson<SessionSelector>,
) -> ApiResult<axum::response::Response> {
    let (_, client) = connected(&state, &who, &body.session_id).await?;
    client.profile().remove_profile_picture().await.map_err(|e| wa_failed("remove picture", e))?;
    Ok(empty("Profile picture removed"))
}

/// The spec's privacy field names and WhatsApp's categories.
const PRIVACY_FIELDS: &[(&str, &str)] = &[
    ("readReceipts", "readreceipts"),
    ("profilePhoto", "profile"),
    ("status", "status"),
    ("online", "online"),
    ("lastSeen", "last"),
    ("groupAdd", "groupadd"),
    ("callAdd", "calladd"),
    ("messages", "messages"),
];

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
    fn slot(&mut self, field: &str) -> &mut Option<String> {
        match field {
            "readReceipts" => &mut self.read_receipts,
            "profilePhoto" => &mut self.profile_photo,
            "status" => &mut self.status,
            "online" => &mut self.online,
            "lastSeen" => &mut self.last_seen,
            "groupAdd" => &mut self.group_add,
            "callAdd" => &mut self.call_add,
            _ => &mut self.messages,
        }
    }
}

async fn read_privacy(client: &whatsapp_rust::Client) -> ApiResult<ProfilePrivacy> {
    let got = client.fetch_privacy_settings().await.map_err(|e| wa_failed("privacy", e))?;
    let mut out = ProfilePrivacy { phone: client.pn().map(|j| phone_of(&j.to_string())), ..Default::default() };
    for (field, cat) in PRIVACY_FIELDS {
        *out.slot(field) = got.get_value(&PrivacyCategory::from(*cat)).map(|v| v.as_str().to_string());
    }
    Ok(out)
}

#[utoipa::path(get, path = "/api/v1/profile/privacy", tag = "Profiles", operation_id = "getProfilePrivacy",
    summary = "Get privacy settings", description = "ProfilePrivacy configuration for the account, as WhatsApp holds it.",
    params(SessionQuery),
    responses((status = 200, description = "ProfilePrivacy controls", body = Envelope<ProfilePrivacy>), CommonErrors))]
async fn get_privacy(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiQuery(q): ApiQuery<SessionQuery>,
) -> ApiResult<Reply<ProfilePrivacy>> {
    let (_, client) = connected(&state, &who, &q.required()?).await?;
    Ok(Reply::ok("ProfilePrivacy preferences", read_privacy(&client).await?))
}

#[utoipa::path(post, path = "/api/v1/profile/privacy", tag = "Profiles", operation_id = "postProfilePrivacy",
    summary = "Change privacy settings", description = "WAREST addition: sets the given fields (same names as the GET answer) and returns the settings WhatsApp then reports. Values: lastSeen/profilePhoto/status/groupAdd all|contacts|contact_blacklist|none; readReceipts all|none; online all|match_last_seen; callAdd all|known|contacts; messages all|contacts.",
    request_body = ProfilePrivacy,
    responses((status = 200, description = "ProfilePrivacy controls after the change", body = Envelope<ProfilePrivacy>), CommonErrors))]
async fn set_privacy(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiJson(mut body): ApiJson<ProfilePrivacy>,
) -> ApiResult<Reply<ProfilePrivacy>> {
    let session_id = body.session_id.take().ok_or_else(|| ApiError::field("sessionId", "is required"))?;
    if body.stickers.is_some() {
        return Err(ApiError::field("stickers", "is not a WhatsApp privacy setting and cannot be set"));
    }
    let mut changes = Vec::new();
    for (field, cat) in PRIVACY_FIELDS {
        if let Some(v) = body.slot(field).take() {
            let (cat, value) = (PrivacyCategory::from(*cat), PrivacyValue::from(v.as_str()));
            if matches!(value, PrivacyValue::Other(_)) || !cat.is_valid_value(&value) {
                return Err(ApiError::field(*field, format!("{v:?} is not a valid value")));
            }
            changes.push((cat, value));
        }
    }
    if changes.is_empty() {
        return Err(ApiError::field("body", "give at least one privacy field to change"));
    }
    let (_, client) = connected(&state, &who, &session_id).await?;
    for (cat, value) in changes {
        client.set_privacy_setting(cat, value).await.map_err(|e| wa_failed("set privacy", e))?;
    }
    Ok(Reply::ok("ProfilePrivacy preferences updated", read_privacy(&client).await?))
}
