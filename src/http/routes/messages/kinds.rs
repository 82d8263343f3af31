//! The non-text send routes of the reference spec: document, location, contact and poll
//! (images, video, audio, stickers and GIFs are in `messages_media`, multipart uploads in
//! `messages_files`). Media is loaded (URL behind the SSRF guard, or base64) and checked
//! here, so a bad file is a 4xx now rather than a failed job later. A document may also
//! come as a form upload or raw bytes (`send_body`).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::auth::Tenant;
use crate::http::envelope::Envelope;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::ApiJson;
use crate::http::routes::messages::media::RAW_BODY;
use crate::http::routes::messages::send_body::{FileRequest, RawFile, SendBody, file_or_load};
use crate::http::routes::messages::{Destination, SendErrors, SendResult, common, invalid, prepare, submit};
use crate::media::fetch::Loaded;
use crate::outbound::build::{self, Place};
use crate::outbound::build_inputs::{ContactCards, ContactInput, LocationInput};
use crate::outbound::content::{Content, Media};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(send_document))
        .routes(routes!(send_location))
        .routes(routes!(send_contact))
        .routes(routes!(send_poll))
}

pub(crate) async fn load(state: &AppState, field: &str, source: &str) -> ApiResult<Loaded> {
    if source.trim().is_empty() {
        return Err(ApiError::field(field, "must not be empty"));
    }
    crate::media::fetch::load(source, &state.config.outbound.media).await.map_err(|e| ApiError::media(field, e))
}

pub(super) fn caption(c: &Option<String>) -> ApiResult<Option<String>> {
    build::caption("caption", c.as_deref()).map_err(invalid)
}

pub(super) fn advanced(dest: &Destination, extra: serde_json::Value) -> serde_json::Value {
    let mut v = serde_json::json!({ "isForwarded": dest.is_forwarded, "quotedMessageId": dest.reply_message_id });
    if let (Some(obj), serde_json::Value::Object(more)) = (v.as_object_mut(), extra) {
        obj.extend(more);
    }
    v
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendDocumentBody {
    #[serde(flatten)]
    pub dest: Destination,
    /// An http(s) URL, a `data:` URL or base64.
    #[schema(schema_with = crate::http::wire::media_source)]
    pub document: String,
    /// Shown to the recipient; defaults to `document` plus an extension.
    pub filename: Option<String>,
    /// Overrides the detected type (must be in WAREST_MIMETYPE_FILES_ALLOWLIST).
    pub mimetype: Option<String>,
    pub caption: Option<String>,
}

impl FileRequest for SendDocumentBody {
    const FILE: &'static str = "document";
    const FLAGS: &'static [&'static str] = &[];
    const FILE_NAME: Option<&'static str> = Some("filename");
}

/// `multipart/form-data` of `/send/document` (documentation only: `send_body` reads it).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct SendDocumentForm {
    #[serde(flatten)]
    dest: Destination,
    /// The file (a text field is read as a URL or base64).
    #[schema(value_type = String, format = Binary)]
    document: Vec<u8>,
    /// Defaults to the uploaded part's file name.
    filename: Option<String>,
    /// Defaults to the type the bytes show, else the part's Content-Type.
    mimetype: Option<String>,
    caption: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/messages/send/document", tag = "Messages", operation_id = "postMessagesSendDocument",
    summary = "Send a document", description = "Any mimetype of WAREST_MIMETYPE_FILES_ALLOWLIST; filename and caption.",
    params(("Idempotency-Key" = Option<String>, Header)), request_body(content((SendDocumentBody = "application/json"), (SendDocumentForm = "multipart/form-data"), (inline(RawFile) = "application/octet-stream")), description = RAW_BODY),
    responses((status = 200, description = "Queued, one result per recipient", body = Envelope<SendResult>), SendErrors))]
async fn send_document(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    headers: HeaderMap,
    SendBody { req: b, upload }: SendBody<SendDocumentBody>,
) -> ApiResult<Response> {
    let caption = caption(&b.caption)?;
    let filename = b.filename.clone().filter(|f| !f.trim().is_empty()).unwrap_or_else(|| "document".into());
    if filename.len() > 255 || filename.contains(['/', '\\', '\0']) {
        return Err(ApiError::field("filename", "must be a plain file name of at most 255 bytes"));
    }
    let loaded = file_or_load(&state, "document", &b.document, upload).await?;
    let mime = b
        .mimetype
        .as_deref()
        .map(|m| m.trim().to_ascii_lowercase())
        .or(loaded.mimetype.clone())
        .unwrap_or_else(|| "application/octet-stream".into());
    let allowed = &state.config.outbound.file_mimetypes;
    if !allowed.contains(&mime) {
        return Err(ApiError::unsupported_media(
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
    let place: Place = b.location.into();
    let adv = advanced(&b.dest, serde_json::json!({ "latitude": place.latitude, "longitude": place.longitude }));
    let content = build::location("location.", place, common(&b.dest, vec![])).map_err(invalid)?;
    let prepared = prepare(&state, &who, &headers, &b.dest, content).await?;
    submit(&state, prepared, "Location message queued", adv).await
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
    let cards = ContactCards { contact: b.contact, contacts: b.contacts, name: b.name, phone: b.phone };
    let cards = cards.cards(state.config.outbound.default_country_code.as_deref()).map_err(invalid)?;
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
    #[schema(pattern = "\\S", max_length = 255)]
    pub question: String,
    /// 2 to 12 distinct options.
    #[schema(schema_with = crate::http::wire::poll_options)]
    pub options: Vec<String>,
    /// How many options a voter may pick (default 1).
    #[schema(minimum = 1, maximum = 12)]
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
    let content = build::poll(&b.question, &b.options, b.max_selection, common(&b.dest, vec![])).map_err(invalid)?;
    // Valid by now, so the request's own counts are the poll's.
    let adv = advanced(
        &b.dest,
        serde_json::json!({ "options": b.options.len(), "maxSelection": b.max_selection.unwrap_or(1) }),
    );
    let prepared = prepare(&state, &who, &headers, &b.dest, content).await?;
    submit(&state, prepared, "Poll message queued", adv).await
}
