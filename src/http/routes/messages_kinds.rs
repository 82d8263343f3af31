//! The non-text send routes of the reference spec: media (image), document, location,
//! contact and poll. Media is loaded (URL behind the SSRF guard, or base64) and checked
//! here, so a bad file is a 4xx now rather than a failed job later.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use base64::Engine;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::messages::{Destination, SendErrors, SendResult, common, prepare, submit};
use crate::app::AppState;
use crate::http::auth::Tenant;
use crate::http::envelope::Envelope;
use crate::http::error::{ApiError, ApiResult, Code};
use crate::http::extract::ApiJson;
use crate::outbound::content::{Card, Content, Media, vcard};
use crate::outbound::fetch::{Loaded, MediaError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(send_media))
        .routes(routes!(send_document))
        .routes(routes!(send_location))
        .routes(routes!(send_contact))
        .routes(routes!(send_poll))
}

const MAX_CAPTION: usize = 4096;
const IMAGE_TYPES: &[&str] = &["image/jpeg", "image/png", "image/webp"];

fn media_error(field: &str, e: MediaError) -> ApiError {
    let code = match &e {
        MediaError::Invalid(_) => Code::Validation,
        MediaError::Forbidden(_) => Code::MediaUrlForbidden,
        MediaError::TooLarge(_) => Code::MediaTooLarge,
        MediaError::Fetch(_) => Code::MediaFetchFailed,
    };
    ApiError { code, message: format!("{field}: {e}"), field: Some(field.to_string()), retry_after: None }
}

async fn load(state: &AppState, field: &str, source: &str) -> ApiResult<Loaded> {
    if source.trim().is_empty() {
        return Err(ApiError::field(field, "must not be empty"));
    }
    crate::outbound::fetch::load(source, &state.config.outbound.media).await.map_err(|e| media_error(field, e))
}

fn unsupported(field: &str, mimetype: Option<&str>, allowed: &str) -> ApiError {
    ApiError {
        code: Code::MediaUnsupported,
        message: format!("{field}: unsupported mimetype {} (allowed: {allowed})", mimetype.unwrap_or("unknown")),
        field: Some(field.to_string()),
        retry_after: None,
    }
}

fn caption(c: &Option<String>) -> ApiResult<Option<String>> {
    match c {
        Some(c) if c.chars().count() > MAX_CAPTION => {
            Err(ApiError::field("caption", format!("at most {MAX_CAPTION} characters")))
        }
        Some(c) if !c.trim().is_empty() => Ok(Some(c.clone())),
        _ => Ok(None),
    }
}

fn advanced(dest: &Destination, extra: serde_json::Value) -> serde_json::Value {
    let mut v = serde_json::json!({ "isForwarded": dest.is_forwarded, "quotedMessageId": dest.reply_message_id });
    if let (Some(obj), serde_json::Value::Object(more)) = (v.as_object_mut(), extra) {
        obj.extend(more);
    }
    v
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendMediaBody {
    #[serde(flatten)]
    pub dest: Destination,
    /// An http(s) URL, a `data:` URL or base64 of a JPEG, PNG or WebP image.
    pub media: String,
    pub caption: Option<String>,
    #[serde(default)]
    pub view_once: bool,
    /// Accepted for compatibility; images are sent as given.
    #[serde(default)]
    pub compress: Option<bool>,
}

#[utoipa::path(post, path = "/api/v1/messages/send/media", tag = "Messages", operation_id = "postMessagesSendMedia",
    summary = "Send an image", description = "By URL (fetched behind the SSRF guard, size- and time-limited) or base64; caption and view-once.",
    params(("Idempotency-Key" = Option<String>, Header)), request_body = SendMediaBody,
    responses((status = 200, description = "Queued, one result per recipient", body = Envelope<SendResult>), SendErrors))]
async fn send_media(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    headers: HeaderMap,
    ApiJson(b): ApiJson<SendMediaBody>,
) -> ApiResult<Response> {
    let caption = caption(&b.caption)?;
    let loaded = load(&state, "media", &b.media).await?;
    let mime = loaded.mimetype.as_deref().filter(|m| IMAGE_TYPES.contains(m));
    let Some(mime) = mime else {
        return Err(unsupported("media", loaded.mimetype.as_deref(), &IMAGE_TYPES.join(", ")));
    };
    let content = Content::Image {
        media: Media::new(&loaded.bytes, mime),
        caption,
        view_once: b.view_once,
        common: common(&b.dest, vec![]),
    };
    let adv =
        advanced(&b.dest, serde_json::json!({ "mimetype": mime, "size": loaded.bytes.len(), "viewOnce": b.view_once }));
    let prepared = prepare(&state, &who, &headers, &b.dest, content).await?;
    submit(&state, prepared, "Media message queued", adv).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendDocumentBody {
    #[serde(flatten)]
    pub dest: Destination,
    /// An http(s) URL, a `data:` URL or base64.
    pub document: String,
    /// Shown to the recipient; defaults to `document` plus an extension.
    pub filename: Option<String>,
    /// Overrides the detected type (must be in WAREST_MIMETYPE_FILES_ALLOWLIST).
    pub mimetype: Option<String>,
    pub caption: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/messages/send/document", tag = "Messages", operation_id = "postMessagesSendDocument",
    summary = "Send a document", description = "Any mimetype of WAREST_MIMETYPE_FILES_ALLOWLIST; filename and caption.",
    params(("Idempotency-Key" = Option<String>, Header)), request_body = SendDocumentBody,
    responses((status = 200, description = "Queued, one result per recipient", body = Envelope<SendResult>), SendErrors))]
async fn send_document(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    headers: HeaderMap,
    ApiJson(b): ApiJson<SendDocumentBody>,
) -> ApiResult<Response> {
    let caption = caption(&b.caption)?;
    let filename = b.filename.clone().filter(|f| !f.trim().is_empty()).unwrap_or_else(|| "document".into());
    if filename.len() > 255 || filename.contains(['/', '\\', '\0']) {
        return Err(ApiError::field("filename", "must be a plain file name of at most 255 bytes"));
    }
    let loaded = load(&state, "document", &b.document).await?;
    let mime = b
        .mimetype
        .as_deref()
        .map(|m| m.trim().to_ascii_lowercase())
        .or(loaded.mimetype.clone())
        .unwrap_or_else(|| "application/octet-stream".into());
    let allowed = &state.config.outbound.file_mimetypes;
    if !allowed.contains(&mime) {
        return Err(unsupported(
            if b.mimetype.is_some() { "mimetype" } else { "document" },
            Some(&mime),
            "WAREST_MIMETYPE_FILES_ALLOWLIST",
        ));
    }
    let adv =
        advanced(&b.dest, serde_json::json!({ "mimetype": mime, "fileName": filename, "size": loaded.bytes.len() }));
    let content = Content::Document {
        media: Media::new(&loaded.bytes, &mime),
        filename,
        caption,
        common: common(&b.dest, vec![]),
    };
    let prepared = prepare(&state, &who, &headers, &b.dest, content).await?;
    submit(&state, prepared, "Document message queued", adv).await
}

/// `{latitude, longitude, name?, address?, url?}` or `[latitude, longitude]`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum LocationInput {
    Object { latitude: f64, longitude: f64, name: Option<String>, address: Option<String>, url: Option<String> },
    Pair([f64; 2]),
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendLocationBody {
    #[serde(flatten)]
    pub dest: Destination,
    pub location: LocationInput,
}

#[utoipa::path(post, path = "/api/v1/messages/send/location", tag = "Messages", operation_id = "postMessagesSendLocation",
    summary = "Send a location", params(("Idempotency-Key" = Option<String>, Header)), request_body = SendLocationBody,
    responses((status = 200, description = "Queued, one result per recipient", body = Envelope<SendResult>), SendErrors))]
async fn send_location(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    headers: HeaderMap,
    ApiJson(b): ApiJson<SendLocationBody>,
) -> ApiResult<Response> {
    let (latitude, longitude, name, address, url) = match b.location {
        LocationInput::Object { latitude, longitude, name, address, url } => (latitude, longitude, name, address, url),
        LocationInput::Pair([lat, lng]) => (lat, lng, None, None, None),
    };
    if !(-90.0..=90.0).contains(&latitude) {
        return Err(ApiError::field("location.latitude", "must be between -90 and 90"));
    }
    if !(-180.0..=180.0).contains(&longitude) {
        return Err(ApiError::field("location.longitude", "must be between -180 and 180"));
    }
    for (f, v) in [("location.name", &name), ("location.address", &address), ("location.url", &url)] {
        if v.as_ref().is_some_and(|v| v.len() > 1024) {
            return Err(ApiError::field(f, "at most 1024 bytes"));
        }
    }
    let adv = advanced(&b.dest, serde_json::json!({ "latitude": latitude, "longitude": longitude }));
    let content = Content::Location { latitude, longitude, name, address, url, common: common(&b.dest, vec![]) };
    let prepared = prepare(&state, &who, &headers, &b.dest, content).await?;
    submit(&state, prepared, "Location message queued", adv).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContactInput {
    pub name: Option<String>,
    pub full_name: Option<String>,
    /// One number, or several comma-separated.
    pub phone: Option<String>,
    /// Several numbers.
    #[serde(default)]
    pub phones: Vec<String>,
    pub organization: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendContactBody {
    #[serde(flatten)]
    pub dest: Destination,
    /// One contact card.
    pub contact: Option<ContactInput>,
    /// Several contact cards (sent as one message).
    #[serde(default)]
    pub contacts: Vec<ContactInput>,
    /// Shorthand for `contact.name` / `contact.phone`.
    pub name: Option<String>,
    pub phone: Option<String>,
}

fn card(state: &AppState, c: &ContactInput, field: &str) -> ApiResult<Card> {
    let name = c.full_name.clone().or_else(|| c.name.clone()).filter(|n| !n.trim().is_empty());
    let name = name.ok_or_else(|| ApiError::field(format!("{field}.name"), "is required"))?;
    let mut raw: Vec<String> = c.phone.iter().flat_map(|p| p.split(',')).map(|p| p.trim().to_string()).collect();
    raw.extend(c.phones.iter().cloned());
    raw.retain(|p| !p.is_empty());
    if raw.is_empty() || raw.len() > 10 {
        return Err(ApiError::field(format!("{field}.phone"), "one to ten phone numbers are required"));
    }
    let country = state.config.outbound.default_country_code.as_deref();
    let mut phones = Vec::with_capacity(raw.len());
    for (i, p) in raw.iter().enumerate() {
        let r = crate::outbound::recipient::normalize(p, country)
            .map_err(|why| ApiError::field(format!("{field}.phone[{i}]"), why))?;
        if r.jid.ends_with("@s.whatsapp.net") {
            phones.push(r.user);
        } else {
            return Err(ApiError::field(format!("{field}.phone[{i}]"), "must be a phone number"));
        }
    }
    if name.len() > 256 {
        return Err(ApiError::field(format!("{field}.name"), "at most 256 bytes"));
    }
    let display = c.name.clone().unwrap_or_else(|| name.clone());
    Ok(Card { vcard: vcard(&name, &phones, c.organization.as_deref(), c.email.as_deref()), display_name: display })
}

#[utoipa::path(post, path = "/api/v1/messages/send/contact", tag = "Messages", operation_id = "postMessagesSendContact",
    summary = "Send a contact card", description = "A vCard 3.0 built from the fields; several numbers per contact, several contacts per message.",
    params(("Idempotency-Key" = Option<String>, Header)), request_body = SendContactBody,
    responses((status = 200, description = "Queued, one result per recipient", body = Envelope<SendResult>), SendErrors))]
async fn send_contact(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    headers: HeaderMap,
    ApiJson(b): ApiJson<SendContactBody>,
) -> ApiResult<Response> {
    let mut cards = Vec::new();
    if let Some(c) = &b.contact {
        cards.push(card(&state, c, "contact")?);
    }
    if b.contact.is_none() && (b.name.is_some() || b.phone.is_some()) {
        let c = ContactInput {
            name: b.name.clone(),
            full_name: None,
            phone: b.phone.clone(),
            phones: vec![],
            organization: None,
            email: None,
        };
        cards.push(card(&state, &c, "contact")?);
    }
    if b.contacts.len() > 20 {
        return Err(ApiError::field("contacts", "at most 20 contacts"));
    }
    for (i, c) in b.contacts.iter().enumerate() {
        cards.push(card(&state, c, &format!("contacts[{i}]"))?);
    }
    if cards.is_empty() {
        return Err(ApiError::field("contact", "is required"));
    }
    let adv = advanced(&b.dest, serde_json::json!({ "contacts": cards.len() }));
    let content = Content::Contact { cards, common: common(&b.dest, vec![]) };
    let prepared = prepare(&state, &who, &headers, &b.dest, content).await?;
    submit(&state, prepared, "Contact message queued", adv).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendPollBody {
    #[serde(flatten)]
    pub dest: Destination,
    pub question: String,
    /// 2 to 12 distinct options.
    pub options: Vec<String>,
    /// How many options a voter may pick (default 1).
    pub max_selection: Option<u32>,
}

#[utoipa::path(post, path = "/api/v1/messages/send/poll", tag = "Messages", operation_id = "postMessagesSendPoll",
    summary = "Send a poll", params(("Idempotency-Key" = Option<String>, Header)), request_body = SendPollBody,
    responses((status = 200, description = "Queued, one result per recipient", body = Envelope<SendResult>), SendErrors))]
async fn send_poll(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    headers: HeaderMap,
    ApiJson(b): ApiJson<SendPollBody>,
) -> ApiResult<Response> {
    let question = b.question.trim().to_string();
    if question.is_empty() || question.chars().count() > 255 {
        return Err(ApiError::field("question", "must be 1-255 characters"));
    }
    if !(2..=12).contains(&b.options.len()) {
        return Err(ApiError::field("options", "must hold 2 to 12 options"));
    }
    let mut options: Vec<String> = Vec::with_capacity(b.options.len());
    for (i, o) in b.options.iter().enumerate() {
        let o = o.trim().to_string();
        if o.is_empty() || o.chars().count() > 100 {
            return Err(ApiError::field(format!("options[{i}]"), "must be 1-100 characters"));
        }
        if options.contains(&o) {
            return Err(ApiError::field(format!("options[{i}]"), "duplicates another option"));
        }
        options.push(o);
    }
    let selectable = b.max_selection.unwrap_or(1);
    if selectable < 1 || selectable as usize > options.len() {
        return Err(ApiError::field("maxSelection", format!("must be between 1 and {}", options.len())));
    }
    let secret: [u8; 32] = rand::random();
    let adv = advanced(&b.dest, serde_json::json!({ "options": options.len(), "maxSelection": selectable }));
    let content = Content::Poll {
        question,
        options,
        selectable,
        secret: base64::engine::general_purpose::STANDARD.encode(secret),
        common: common(&b.dest, vec![]),
    };
    let prepared = prepare(&state, &who, &headers, &b.dest, content).await?;
    submit(&state, prepared, "Poll message queued", adv).await
}
