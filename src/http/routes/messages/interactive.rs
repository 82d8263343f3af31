//! `POST /api/v1/messages/send/button` and `/send/list` (the reference spec's fields): text
//! with reply/URL/call buttons, or a list of sections and rows, with an optional header
//! title or image and a footer. Built as WhatsApp Web builds them (see
//! crate::outbound::interactive); every count and length a client controls is capped.

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
use crate::http::routes::messages::kinds::{advanced, load};
use crate::http::routes::messages::{Destination, SendErrors, SendResult, common, invalid, prepare, submit};
use crate::outbound::build_interactive::{self as bi, ButtonInput, ListInput, SectionInput};
use crate::outbound::build_media as bm;
use crate::outbound::content::{Content, Media};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(send_button)).routes(routes!(send_list))
}

async fn header_image(state: &AppState, image: Option<&str>) -> ApiResult<Option<Media>> {
    let Some(src) = image.filter(|s| !s.trim().is_empty()) else { return Ok(None) };
    let loaded = load(state, "image", src).await?;
    bm::plain_image(&loaded).map(Some).map_err(|e| ApiError::media_fail("image", e))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendButtonBody {
    #[serde(flatten)]
    pub dest: Destination,
    /// The message text (up to 4096 characters).
    pub text: String,
    /// 1 to 10 buttons.
    pub buttons: Vec<ButtonInput>,
    /// Header title (up to 60 characters).
    pub title: Option<String>,
    /// Footer (up to 60 characters).
    pub footer: Option<String>,
    /// Header image: an http(s) URL, a `data:` URL or base64 (JPEG, PNG or WebP).
    #[schema(schema_with = crate::http::wire::optional_media_source)]
    pub image: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/messages/send/button", tag = "Messages", operation_id = "postMessagesSendButton",
    summary = "Send a button template",
    description = "Text with up to 10 reply, URL or call buttons, an optional header title or image and a footer; \
                   sent as WhatsApp Web sends interactive messages (native-flow buttons).",
    params(("Idempotency-Key" = Option<String>, Header)), request_body = SendButtonBody,
    responses((status = 200, description = "Queued, one result per recipient", body = Envelope<SendResult>), SendErrors))]
async fn send_button(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    headers: HeaderMap,
    ApiJson(b): ApiJson<SendButtonBody>,
) -> ApiResult<Response> {
    let buttons = bi::buttons(&b.buttons).map_err(invalid)?;
    let frame = bi::frame(Some(&b.text), b.title.as_deref(), b.footer.as_deref()).map_err(invalid)?;
    let image = header_image(&state, b.image.as_deref()).await?;
    let adv = advanced(&b.dest, serde_json::json!({ "buttonCount": buttons.len(), "image": image.is_some() }));
    let content = Content::Buttons { frame, buttons, image, common: common(&b.dest, vec![]) };
    let prepared = prepare(&state, &who, &headers, &b.dest, content).await?;
    submit(&state, prepared, "Interactive button message queued", adv).await
}

/// A list: as a `list` object, as `lists` (sections), or as top-level fields.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendListBody {
    #[serde(flatten)]
    pub dest: Destination,
    pub list: Option<ListInput>,
    /// Sections, as an alternative to `sections`.
    pub lists: Option<Vec<SectionInput>>,
    pub sections: Option<Vec<SectionInput>>,
    /// The message text (or `message`).
    pub text: Option<String>,
    pub message: Option<String>,
    pub title: Option<String>,
    pub footer: Option<String>,
    /// Label of the button that opens the list (default "Menu").
    pub button_text: Option<String>,
    /// Header image: an http(s) URL, a `data:` URL or base64.
    #[schema(schema_with = crate::http::wire::optional_media_source)]
    pub image: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/messages/send/list", tag = "Messages", operation_id = "postMessagesSendList",
    summary = "Send a list template",
    description = "A button that opens up to 10 sections with 10 rows in all. Accepts a `list` object, a `lists` \
                   array of sections, or top-level `sections` and fields.",
    params(("Idempotency-Key" = Option<String>, Header)), request_body = SendListBody,
    responses((status = 200, description = "Queued, one result per recipient", body = Envelope<SendResult>), SendErrors))]
async fn send_list(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    headers: HeaderMap,
    ApiJson(b): ApiJson<SendListBody>,
) -> ApiResult<Response> {
    let image = b.image.clone();
    let parts = bi::ListParts {
        text: b.text.or(b.message),
        list: b.list,
        lists: b.lists,
        sections: b.sections,
        title: b.title,
        footer: b.footer,
        button_text: b.button_text,
    };
    let (frame, button_text, sections) = bi::list(&parts).map_err(invalid)?;
    let image = header_image(&state, image.as_deref()).await?;
    let rows: usize = sections.iter().map(|s| s.rows.len()).sum();
    let adv = advanced(&b.dest, serde_json::json!({ "sectionCount": sections.len(), "rowCount": rows }));
    let content = Content::List { frame, button_text, sections, image, common: common(&b.dest, vec![]) };
    let prepared = prepare(&state, &who, &headers, &b.dest, content).await?;
    submit(&state, prepared, "Interactive list message queued", adv).await
}
