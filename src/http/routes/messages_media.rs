//! The visual and audio send routes of the reference spec: media (image or MP4 video),
//! audio (file or voice note), sticker and GIF. Everything that turns the caller's file
//! into what WhatsApp expects happens here, when the request is accepted: previews and
//! sizes (image crate), voice notes and GIFs (ffmpeg), stickers (512×512 WebP). So a file
//! that cannot be converted is a 4xx now, and the job carries bytes ready to upload.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::messages::{Destination, SendErrors, SendResult, common, prepare, submit};
use super::messages_kinds::{advanced, caption, load, unsupported};
use crate::app::AppState;
use crate::http::auth::Tenant;
use crate::http::envelope::Envelope;
use crate::http::error::{ApiError, ApiResult, Code};
use crate::http::extract::ApiJson;
use crate::outbound::build_media::{self as bm, IMAGE_TYPES, MediaFail, VIDEO_TYPES};
use crate::outbound::content::{Content, Media};
use crate::outbound::ffmpeg::FfmpegError;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(send_media))
        .routes(routes!(send_audio))
        .routes(routes!(send_sticker))
        .routes(routes!(send_gif))
}

pub(super) fn ffmpeg_error(field: &str, e: FfmpegError) -> ApiError {
    let code = match &e {
        FfmpegError::Missing(_) => Code::MediaConverterMissing,
        FfmpegError::Failed(_) => Code::MediaConversionFailed,
        FfmpegError::Timeout(_) => Code::MediaConversionTimeout,
    };
    ApiError { code, message: format!("{field}: {e}"), field: Some(field.to_string()), retry_after: None }
}

/// The answer for a file that cannot be sent as `field`'s kind.
pub(super) fn media_fail(field: &str, e: MediaFail) -> ApiError {
    match e {
        MediaFail::Unsupported { mimetype, allowed } => unsupported(field, Some(&mimetype), &allowed),
        MediaFail::Ffmpeg(e) => ffmpeg_error(field, e),
        MediaFail::Imaging(e) => ApiError {
            code: Code::MediaConversionFailed,
            message: format!("{field}: {e}"),
            field: Some(field.to_string()),
            retry_after: None,
        },
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendMediaBody {
    #[serde(flatten)]
    pub dest: Destination,
    /// An http(s) URL, a `data:` URL or base64 of a JPEG, PNG or WebP image or an MP4 video.
    pub media: String,
    pub caption: Option<String>,
    #[serde(default)]
    pub view_once: bool,
    /// Default true: an image larger than 1600 px is downscaled and sent as JPEG. Videos are sent as given.
    #[serde(default)]
    pub compress: Option<bool>,
}

#[utoipa::path(post, path = "/api/v1/messages/send/media", tag = "Messages", operation_id = "postMessagesSendMedia",
    summary = "Send an image or video",
    description = "By URL (fetched behind the SSRF guard, size- and time-limited) or base64. Images get a JPEG \
                   preview and their size (and are downscaled with `compress`); MP4 videos carry duration and size. \
                   Caption and view-once for both.",
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
    let mime = loaded.mimetype.clone().unwrap_or_default();
    let compress = b.compress.unwrap_or(true);
    let common = common(&b.dest, vec![]);
    let (content, kind, size, compressed) = if IMAGE_TYPES.contains(&mime.as_str()) {
        let (media, dims, compressed, size) = bm::image(loaded.bytes, &mime, compress).await;
        (Content::Image { media, caption, view_once: b.view_once, dims, common }, "image", size, compressed)
    } else if VIDEO_TYPES.contains(&mime.as_str()) {
        let dims = bm::video_dims(&state.config.outbound.ffmpeg, &loaded.bytes).await;
        let size = loaded.bytes.len();
        let media = Media::new(&loaded.bytes, &mime);
        (
            Content::Video { media, caption, view_once: b.view_once, gif_playback: false, dims, common },
            "video",
            size,
            false,
        )
    } else {
        let allowed = [IMAGE_TYPES, VIDEO_TYPES].concat().join(", ");
        return Err(unsupported("media", loaded.mimetype.as_deref(), &allowed));
    };
    let adv = advanced(
        &b.dest,
        serde_json::json!({ "mediaKind": kind, "mimetype": mime, "size": size, "viewOnce": b.view_once,
            "compression": { "enable": compress, "applied": compressed } }),
    );
    let prepared = prepare(&state, &who, &headers, &b.dest, content).await?;
    submit(&state, prepared, "Media message queued", adv).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendAudioBody {
    #[serde(flatten)]
    pub dest: Destination,
    /// An http(s) URL, a `data:` URL or base64 of an audio file.
    pub audio: String,
    /// Send as a voice note (PTT): converted to Opus in Ogg with ffmpeg unless it already is.
    #[serde(default, rename = "isVN")]
    pub is_vn: bool,
}

#[utoipa::path(post, path = "/api/v1/messages/send/audio", tag = "Messages", operation_id = "postMessagesSendAudio",
    summary = "Send an audio file or a voice note",
    description = "`isVN: true` sends a voice note (push-to-talk): Opus/Ogg is sent as given, any other audio is \
                   converted with ffmpeg (WAREST_FFMPEG_PATH; 503 code 3014 when it is missing). Otherwise the file \
                   is sent as a plain audio message.",
    params(("Idempotency-Key" = Option<String>, Header)), request_body = SendAudioBody,
    responses((status = 200, description = "Queued, one result per recipient", body = Envelope<SendResult>), SendErrors))]
async fn send_audio(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    headers: HeaderMap,
    ApiJson(b): ApiJson<SendAudioBody>,
) -> ApiResult<Response> {
    let loaded = load(&state, "audio", &b.audio).await?;
    let a = bm::audio(&state.config.outbound.ffmpeg, loaded, b.is_vn).await.map_err(|e| media_fail("audio", e))?;
    let (bytes, mime, seconds, converted) = (a.bytes, a.mimetype, a.seconds, a.converted);
    let adv = advanced(
        &b.dest,
        serde_json::json!({ "isVN": b.is_vn, "mimeType": mime, "size": bytes.len(), "seconds": seconds, "converted": converted }),
    );
    let content =
        Content::Audio { media: Media::new(&bytes, &mime), ptt: b.is_vn, seconds, common: common(&b.dest, vec![]) };
    let prepared = prepare(&state, &who, &headers, &b.dest, content).await?;
    submit(&state, prepared, "Audio message queued", adv).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendStickerBody {
    #[serde(flatten)]
    pub dest: Destination,
    /// An http(s) URL, a `data:` URL or base64 of a WebP (sent as is) or a JPEG, PNG or GIF
    /// (first frame), converted to a 512×512 WebP.
    pub sticker: String,
    /// Accepted for compatibility: non-WebP images are always fitted to 512×512.
    #[serde(default)]
    pub compress: Option<bool>,
}

#[utoipa::path(post, path = "/api/v1/messages/send/sticker", tag = "Messages", operation_id = "postMessagesSendSticker",
    summary = "Send a sticker",
    description = "A WebP is sent as it is; a JPEG, PNG or GIF is scaled to fit 512×512 (aspect kept, transparent padding) and encoded as WebP.",
    params(("Idempotency-Key" = Option<String>, Header)), request_body = SendStickerBody,
    responses((status = 200, description = "Queued, one result per recipient", body = Envelope<SendResult>), SendErrors))]
async fn send_sticker(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    headers: HeaderMap,
    ApiJson(b): ApiJson<SendStickerBody>,
) -> ApiResult<Response> {
    let loaded = load(&state, "sticker", &b.sticker).await?;
    let s = bm::sticker(loaded).await.map_err(|e| media_fail("sticker", e))?;
    let adv = advanced(
        &b.dest,
        serde_json::json!({ "compression": { "enable": s.compressed }, "width": s.width, "height": s.height, "size": s.bytes.len() }),
    );
    let content = Content::Sticker {
        media: Media::new(&s.bytes, &s.mimetype),
        width: s.width,
        height: s.height,
        common: common(&b.dest, vec![]),
    };
    let prepared = prepare(&state, &who, &headers, &b.dest, content).await?;
    submit(&state, prepared, "Sticker message queued", adv).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendGifBody {
    #[serde(flatten)]
    pub dest: Destination,
    /// An http(s) URL, a `data:` URL or base64 of a GIF (converted to MP4 with ffmpeg) or an MP4.
    pub gif: String,
    pub caption: Option<String>,
    /// Accepted for compatibility; a GIF is always converted, an MP4 sent as given.
    #[serde(default)]
    pub compress: Option<bool>,
}

#[utoipa::path(post, path = "/api/v1/messages/send/gif", tag = "Messages", operation_id = "postMessagesSendGif",
    summary = "Send a GIF",
    description = "Sent as a looping video (`gifPlayback`). A GIF is converted to H.264 MP4 with ffmpeg \
                   (WAREST_FFMPEG_PATH; 503 code 3014 when it is missing); an MP4 is sent as given.",
    params(("Idempotency-Key" = Option<String>, Header)), request_body = SendGifBody,
    responses((status = 200, description = "Queued, one result per recipient", body = Envelope<SendResult>), SendErrors))]
async fn send_gif(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    headers: HeaderMap,
    ApiJson(b): ApiJson<SendGifBody>,
) -> ApiResult<Response> {
    let caption = caption(&b.caption)?;
    let loaded = load(&state, "gif", &b.gif).await?;
    let (bytes, converted) = bm::gif(&state.config.outbound.ffmpeg, loaded).await.map_err(|e| media_fail("gif", e))?;
    let adv = advanced(
        &b.dest,
        serde_json::json!({ "caption": caption, "size": bytes.len(), "compression": { "enable": converted } }),
    );
    let content = Content::Video {
        dims: bm::video_dims(&state.config.outbound.ffmpeg, &bytes).await,
        media: Media::new(&bytes, "video/mp4"),
        caption,
        view_once: false,
        gif_playback: true,
        common: common(&b.dest, vec![]),
    };
    let prepared = prepare(&state, &who, &headers, &b.dest, content).await?;
    submit(&state, prepared, "GIF message queued", adv).await
}
