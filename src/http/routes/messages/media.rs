//! The visual and audio send routes of the reference spec: media (image or MP4 video),
//! audio (file or voice note), sticker and GIF. Everything that turns the caller's file
//! into what WhatsApp expects happens here, when the request is accepted: previews and
//! sizes (image crate), voice notes and GIFs (ffmpeg), stickers (512×512 WebP). So a file
//! that cannot be converted is a 4xx now, and the job carries bytes ready to upload.
//! The file comes as a URL or base64 in JSON, as a form upload or as raw bytes (`send_body`).

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
use crate::http::routes::messages::kinds::{advanced, caption};
use crate::http::routes::messages::send_body::{FileRequest, RawFile, SendBody, file_or_load};
use crate::http::routes::messages::{Destination, SendErrors, SendResult, common, prepare, submit};
use crate::outbound::build_media::{self as bm, IMAGE_TYPES, VIDEO_TYPES};
use crate::outbound::content::{Content, Media};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(send_media))
        .routes(routes!(send_audio))
        .routes(routes!(send_sticker))
        .routes(routes!(send_gif))
}

/// How the three bodies of the single-file send routes differ.
pub(super) const RAW_BODY: &str = "JSON carries the file as a URL or base64 in its field; multipart/form-data carries it \
    as a part named like that field (or `file`) with the other fields as form fields; application/octet-stream \
    (or the file's own image/, video/ or audio/ type) carries the raw bytes, with sessionId, to and the other \
    fields in the query string. Booleans are true/false; `to` is comma-separated or repeated. An upload larger \
    than WAREST_MEDIA_MAX_MB is refused with 413 (code 3011); another Content-Type with 415.";

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendMediaBody {
    #[serde(flatten)]
    pub dest: Destination,
    /// An http(s) URL, a `data:` URL or base64 of a JPEG, PNG or WebP image or an MP4 video.
    #[schema(schema_with = crate::http::wire::media_source)]
    pub media: String,
    pub caption: Option<String>,
    #[serde(default)]
    pub view_once: bool,
    /// Default true: an image larger than 1600 px is downscaled and sent as JPEG. Videos are sent as given.
    #[serde(default)]
    pub compress: Option<bool>,
}

impl FileRequest for SendMediaBody {
    const FILE: &'static str = "media";
    const FLAGS: &'static [&'static str] = &["viewOnce", "compress"];
}

/// `multipart/form-data` of `/send/media` (documentation only: `send_body` reads it).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct SendMediaForm {
    #[serde(flatten)]
    dest: Destination,
    /// The JPEG, PNG or WebP image or MP4 video (a text field is read as a URL or base64).
    #[schema(value_type = String, format = Binary)]
    media: Vec<u8>,
    caption: Option<String>,
    view_once: Option<bool>,
    compress: Option<bool>,
}

#[utoipa::path(post, path = "/api/v1/messages/send/media", tag = "Messages", operation_id = "postMessagesSendMedia",
    summary = "Send an image or video",
    description = "By URL (fetched behind the SSRF guard, size- and time-limited) or base64. Images get a JPEG \
                   preview and their size (and are downscaled with `compress`); MP4 videos carry duration and size. \
                   Caption and view-once for both.",
    params(("Idempotency-Key" = Option<String>, Header)), request_body(content((SendMediaBody = "application/json"), (SendMediaForm = "multipart/form-data"), (inline(RawFile) = "application/octet-stream")), description = RAW_BODY),
    responses((status = 200, description = "Queued, one result per recipient", body = Envelope<SendResult>), SendErrors))]
async fn send_media(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    headers: HeaderMap,
    SendBody { req: b, upload }: SendBody<SendMediaBody>,
) -> ApiResult<Response> {
    let caption = caption(&b.caption)?;
    let loaded = file_or_load(&state, "media", &b.media, upload).await?;
    let mime = loaded.mimetype.clone().unwrap_or_default();
    let compress = b.compress.unwrap_or(true);
    let common = common(&b.dest, vec![]);
    let (content, kind, size, compressed) = if IMAGE_TYPES.contains(&mime.as_str()) {
        let (media, dims, compressed, size) =
            bm::image(loaded.bytes, &mime, compress).await.map_err(|e| ApiError::media_fail("media", e))?;
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
        return Err(ApiError::unsupported_media("media", loaded.mimetype.as_deref(), &allowed));
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
    #[schema(schema_with = crate::http::wire::media_source)]
    pub audio: String,
    /// Send as a voice note (PTT): converted to Opus in Ogg with ffmpeg unless it already is.
    #[serde(default, rename = "isVN")]
    pub is_vn: bool,
}

impl FileRequest for SendAudioBody {
    const FILE: &'static str = "audio";
    const FLAGS: &'static [&'static str] = &["isVN"];
}

/// `multipart/form-data` of `/send/audio` (documentation only: `send_body` reads it).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct SendAudioForm {
    #[serde(flatten)]
    dest: Destination,
    /// The audio file (a text field is read as a URL or base64).
    #[schema(value_type = String, format = Binary)]
    audio: Vec<u8>,
    /// `true` sends a voice note.
    #[serde(rename = "isVN")]
    is_vn: Option<bool>,
}

#[utoipa::path(post, path = "/api/v1/messages/send/audio", tag = "Messages", operation_id = "postMessagesSendAudio",
    summary = "Send an audio file or a voice note",
    description = "`isVN: true` sends a voice note (push-to-talk): Opus/Ogg is sent as given, any other audio is \
                   converted with ffmpeg (WAREST_FFMPEG_PATH; 503 code 3014 when it is missing). Otherwise the file \
                   is sent as a plain audio message.",
    params(("Idempotency-Key" = Option<String>, Header)), request_body(content((SendAudioBody = "application/json"), (SendAudioForm = "multipart/form-data"), (inline(RawFile) = "application/octet-stream")), description = RAW_BODY),
    responses((status = 200, description = "Queued, one result per recipient", body = Envelope<SendResult>), SendErrors))]
async fn send_audio(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    headers: HeaderMap,
    SendBody { req: b, upload }: SendBody<SendAudioBody>,
) -> ApiResult<Response> {
    let loaded = file_or_load(&state, "audio", &b.audio, upload).await?;
    let a = bm::audio(&state.config.outbound.ffmpeg, loaded, b.is_vn)
        .await
        .map_err(|e| ApiError::media_fail("audio", e))?;
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
    #[schema(schema_with = crate::http::wire::media_source)]
    pub sticker: String,
    /// Accepted for compatibility: non-WebP images are always fitted to 512×512.
    #[serde(default)]
    pub compress: Option<bool>,
}

impl FileRequest for SendStickerBody {
    const FILE: &'static str = "sticker";
    const FLAGS: &'static [&'static str] = &["compress"];
}

/// `multipart/form-data` of `/send/sticker` (documentation only: `send_body` reads it).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct SendStickerForm {
    #[serde(flatten)]
    dest: Destination,
    /// The WebP, JPEG, PNG or GIF (a text field is read as a URL or base64).
    #[schema(value_type = String, format = Binary)]
    sticker: Vec<u8>,
    compress: Option<bool>,
}

#[utoipa::path(post, path = "/api/v1/messages/send/sticker", tag = "Messages", operation_id = "postMessagesSendSticker",
    summary = "Send a sticker",
    description = "A WebP is sent as it is; a JPEG, PNG or GIF is scaled to fit 512×512 (aspect kept, transparent padding) and encoded as WebP.",
    params(("Idempotency-Key" = Option<String>, Header)), request_body(content((SendStickerBody = "application/json"), (SendStickerForm = "multipart/form-data"), (inline(RawFile) = "application/octet-stream")), description = RAW_BODY),
    responses((status = 200, description = "Queued, one result per recipient", body = Envelope<SendResult>), SendErrors))]
async fn send_sticker(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    headers: HeaderMap,
    SendBody { req: b, upload }: SendBody<SendStickerBody>,
) -> ApiResult<Response> {
    let loaded = file_or_load(&state, "sticker", &b.sticker, upload).await?;
    let s = bm::sticker(loaded).await.map_err(|e| ApiError::media_fail("sticker", e))?;
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
    #[schema(schema_with = crate::http::wire::media_source)]
    pub gif: String,
    pub caption: Option<String>,
    /// Accepted for compatibility; a GIF is always converted, an MP4 sent as given.
    #[serde(default)]
    pub compress: Option<bool>,
}

impl FileRequest for SendGifBody {
    const FILE: &'static str = "gif";
    const FLAGS: &'static [&'static str] = &["compress"];
}

/// `multipart/form-data` of `/send/gif` (documentation only: `send_body` reads it).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct SendGifForm {
    #[serde(flatten)]
    dest: Destination,
    /// The GIF or MP4 (a text field is read as a URL or base64).
    #[schema(value_type = String, format = Binary)]
    gif: Vec<u8>,
    caption: Option<String>,
    compress: Option<bool>,
}

#[utoipa::path(post, path = "/api/v1/messages/send/gif", tag = "Messages", operation_id = "postMessagesSendGif",
    summary = "Send a GIF",
    description = "Sent as a looping video (`gifPlayback`). A GIF is converted to H.264 MP4 with ffmpeg \
                   (WAREST_FFMPEG_PATH; 503 code 3014 when it is missing); an MP4 is sent as given.",
    params(("Idempotency-Key" = Option<String>, Header)), request_body(content((SendGifBody = "application/json"), (SendGifForm = "multipart/form-data"), (inline(RawFile) = "application/octet-stream")), description = RAW_BODY),
    responses((status = 200, description = "Queued, one result per recipient", body = Envelope<SendResult>), SendErrors))]
async fn send_gif(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    headers: HeaderMap,
    SendBody { req: b, upload }: SendBody<SendGifBody>,
) -> ApiResult<Response> {
    let caption = caption(&b.caption)?;
    let loaded = file_or_load(&state, "gif", &b.gif, upload).await?;
    let (bytes, converted) =
        bm::gif(&state.config.outbound.ffmpeg, loaded).await.map_err(|e| ApiError::media_fail("gif", e))?;
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
