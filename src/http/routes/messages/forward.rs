//! `POST /api/v1/messages/send/forward`: sends a stored message again, marked forwarded.
//! The reference spec has no forward route (only `isForwarded` on each send); this one
//! takes `{sessionId, to, messageId}` and reuses what the gateway kept: the queue's full
//! payload of a message it sent, or the inbound store's content of one it received (text,
//! location and contact cards; media from its downloaded file, see `outbound::forward_media`).

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
use crate::http::error::{ApiError, ApiResult, Code};
use crate::http::extract::ApiJson;
use crate::http::routes::messages::kinds::advanced;
use crate::http::routes::messages::{Destination, SendErrors, SendResult, prepare, submit};
use crate::http::routes::sessions::views::SessionQuery;
use crate::http::session;
use crate::outbound::forward_media;
use crate::outbound::sources::{Stored, forward_content, forwarded};
use crate::store::StoreError;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(send_forward))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendForwardBody {
    #[serde(flatten)]
    pub dest: Destination,
    /// Id of a message this session sent or received.
    #[schema(pattern = "\\S", max_length = 128)]
    pub message_id: String,
}

#[utoipa::path(post, path = "/api/v1/messages/send/forward", tag = "Messages", operation_id = "postMessagesSendForward",
    summary = "Forward a stored message",
    description = "Sends the content of a message this session sent (any kind: the queue keeps its payload) or received \
                   (text, location, contact cards; image, video, audio, document and sticker from the file kept \
                   when `WAREST_DOWNLOAD_MEDIA_RECEIVED` is on) to new recipients, marked as forwarded. Unknown \
                   `messageId`: 404 (3003); a received media message whose file is not kept: 422 (3020).",
    params(("Idempotency-Key" = Option<String>, Header)), request_body = SendForwardBody,
    responses((status = 200, description = "Queued, one result per recipient", body = Envelope<SendResult>), SendErrors))]
async fn send_forward(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    headers: HeaderMap,
    ApiJson(b): ApiJson<SendForwardBody>,
) -> ApiResult<Response> {
    let id = b.message_id.trim();
    if id.is_empty() || id.len() > 128 {
        return Err(ApiError::field("messageId", "must be 1-128 characters"));
    }
    let session_id =
        SessionQuery { session_id: Some(b.dest.session_id.clone()), id: None, session: None }.required()?;
    // Tenant check first: another tenant's session is a 404 before any message lookup.
    session::find(&state, &who, &session_id).await?;
    let stored = state.db.stored_message(&session_id, id).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::new(Code::MessageNotFound, "no message with this id in this session"),
        e => e.into(),
    })?;
    let content = match stored {
        // Received media goes out again from its kept file.
        Stored::Inbound { content_type, content } if forward_media::MEDIA_KINDS.contains(&content_type.as_str()) => {
            let ffmpeg = &state.config.outbound.ffmpeg;
            forward_media::content(&state.db, ffmpeg, &session_id, &content_type, &content).await.map(forwarded)
        }
        other => forward_content(other),
    }
    .map_err(|why| ApiError::new(Code::ForwardUnsupported, why))?;
    let kind = content.kind();
    let adv = advanced(&b.dest, serde_json::json!({ "isForwarded": true, "forwardedMessageId": id, "type": kind }));
    let prepared = prepare(&state, &who, &headers, &b.dest, content).await?;
    submit(&state, prepared, "Forwarded message queued", adv).await
}
