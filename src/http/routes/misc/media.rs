//! `/api/v1/misc/media/{thumbnail,image}`: thumbnails of pictures and videos, and image
//! convert/resize/compress (`crate::media::picture` on the shared `media::imaging` path;
//! video stills through ffmpeg). Input is a URL, `data:` URL or base64, loaded like message
//! media (size limit, SSRF guard); output is JPEG, PNG or lossless WebP, answered as a data
//! URL, a signed link, or the file itself (`misc_output`).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::auth::Tenant;
use crate::http::docs::{GeneratedErrors, MediaErrors};
use crate::http::envelope::{Envelope, Reply};
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::ApiJson;
use crate::http::routes::misc::output::{self as misc_output, Output};
use crate::media::imaging::{Fit, Format};
use crate::media::picture::{self as misc_image, Actions, MAX_SIDE, MAX_STILLS, MiscImageError, Picture};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(thumbnail)).routes(routes!(image))
}

fn side(field: &str, v: Option<u32>, default: u32) -> ApiResult<u32> {
    let v = v.unwrap_or(default);
    if !(1..=MAX_SIDE).contains(&v) {
        return Err(ApiError::field(field, format!("must be between 1 and {MAX_SIDE}")));
    }
    Ok(v)
}

fn format_field(field: &str, v: &str) -> ApiResult<Format> {
    Format::parse(v).ok_or_else(|| ApiError::field(field, format!("{v:?} is not offered; use jpg, jpeg, png or webp")))
}

/// Runs picture work on the blocking pool (one permit of the image limit) and names the field to blame when it fails.
async fn blocking(
    resize_field: &str,
    job: impl FnOnce() -> Result<Picture, MiscImageError> + Send + 'static,
) -> ApiResult<Picture> {
    // Within the global image limit, like every decode.
    match crate::media::imaging::run(job).await.map_err(|_| ApiError::internal())? {
        Ok(p) => Ok(p),
        Err(MiscImageError::Input(why)) => Err(ApiError::field("file", why)),
        Err(MiscImageError::TooLarge(w, h)) => {
            Err(ApiError::field(resize_field, format!("would give {w}×{h}, larger than {MAX_SIDE} on a side")))
        }
        Err(MiscImageError::Encode(why)) => {
            tracing::error!(error = %why, "misc image encoding failed");
            Err(ApiError::internal())
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ThumbnailRequest {
    /// A picture (JPEG, PNG, WebP, GIF) or, with `type: video`, a video (any format ffmpeg
    /// reads), as http(s) URL, `data:` URL or base64.
    #[schema(schema_with = crate::http::wire::media_source)]
    file: String,
    /// `image` or `video`.
    #[serde(rename = "type")]
    #[schema(pattern = "^(?:image|video)$")]
    kind: String,
    /// Bounding box, 1-4096 (default 320 × 320); the aspect ratio is kept, never enlarged.
    #[schema(minimum = 1, maximum = 4096)]
    width: Option<u32>,
    #[schema(minimum = 1, maximum = 4096)]
    height: Option<u32>,
    /// Number of stills of a video (1-10, default 1), evenly spaced from the start over an
    /// MP4's duration (other containers: the first frame only). A short video may give fewer.
    #[schema(minimum = 1, maximum = 10)]
    count: Option<u32>,
    /// `jpeg` (default), `png` or `webp` (lossless). Not in the reference spec.
    #[schema(pattern = "^(?:jpg|jpeg|png|webp)$")]
    format: Option<String>,
    /// `base64` (default: data URLs), `url` (signed, expiring links to `GET /api/v1/media/{id}`)
    /// or `file` (the thumbnail's bytes as the response; one still only).
    #[schema(pattern = "^(?:base64|url|file)$")]
    output: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ThumbnailMeta {
    mimetype: String,
    width: u32,
    height: u32,
    /// Unix seconds when a `url` link expires.
    #[serde(rename = "expiresAt", skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct ThumbnailItem {
    /// A `data:` URL (output base64) or a signed link (output url).
    thumbnail: String,
    meta: ThumbnailMeta,
}

#[derive(Serialize, ToSchema)]
pub struct ThumbnailResult {
    data: Vec<ThumbnailItem>,
}

#[utoipa::path(post, path = "/api/v1/misc/media/thumbnail", tag = "Misc", operation_id = "postMiscMediaThumbnail",
    summary = "Create thumbnails", description = "Thumbnails of a JPEG, PNG, WebP or GIF picture, or stills of a video \
        (ffmpeg; 503 with code 3014 when it is missing), fitted inside width × height and encoded as JPEG (default), \
        PNG or lossless WebP. `output=file` answers the thumbnail's bytes instead of JSON.",
    request_body = ThumbnailRequest,
    responses((status = 200, description = "Thumbnail array with metadata, or with output=file the image itself",
        content((Envelope<ThumbnailResult> = "application/json"), (Vec<u8> = "application/octet-stream"))), MediaErrors, GeneratedErrors))]
async fn thumbnail(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiJson(body): ApiJson<ThumbnailRequest>,
) -> ApiResult<Response> {
    let video = match body.kind.trim() {
        "image" => false,
        "video" => true,
        other => return Err(ApiError::field("type", format!("{other:?} must be image or video"))),
    };
    let count = match body.count {
        None => 1,
        Some(_) if !video => return Err(ApiError::field("count", "only applies to type video")),
        Some(c) if (1..=MAX_STILLS).contains(&c) => c,
        Some(_) => return Err(ApiError::field("count", format!("must be between 1 and {MAX_STILLS}"))),
    };
    let output = Output::parse(body.output.as_deref())?;
    if output == Output::File && count > 1 {
        return Err(ApiError::field("output", "file answers one thumbnail; use count 1, or base64 or url"));
    }
    let format = body.format.as_deref().map(|f| format_field("format", f)).transpose()?.unwrap_or(Format::Jpeg);
    let (bw, bh) = (side("width", body.width, 320)?, side("height", body.height, 320)?);
    let loaded = crate::http::routes::messages::kinds::load(&state, "file", &body.file).await?;
    let sources = if video {
        let seconds = crate::media::probe::mp4(&loaded.bytes).seconds;
        state
            .config
            .outbound
            .ffmpeg
            .stills(&loaded.bytes, count, seconds)
            .await
            .map_err(|e| ApiError::ffmpeg("file", e))?
    } else {
        vec![loaded.bytes]
    };
    let mut pictures = Vec::with_capacity(sources.len());
    for src in sources {
        pictures.push(blocking("width", move || misc_image::thumbnail(&src, bw, bh, format)).await?);
    }
    if output == Output::File {
        let p = pictures.swap_remove(0);
        let name = format!("thumbnail.{}", p.format.extension());
        return Ok(misc_output::file(p.bytes, p.format.mimetype(), &name));
    }
    let mut data = Vec::with_capacity(pictures.len());
    for p in pictures {
        let r = misc_output::reference(&state, &who, output, &p.bytes, p.format.mimetype()).await?;
        let meta = ThumbnailMeta {
            mimetype: p.format.mimetype().into(),
            width: p.width,
            height: p.height,
            expires_at: r.expires_at,
        };
        data.push(ThumbnailItem { thumbnail: r.data, meta });
    }
    Ok(Reply::ok("Thumbnails generated", ThumbnailResult { data }).into_response())
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageResize {
    /// 1-4096; give width, height or both. With one, the other follows the aspect ratio.
    #[schema(minimum = 1, maximum = 4096)]
    width: Option<u32>,
    #[schema(minimum = 1, maximum = 4096)]
    height: Option<u32>,
    /// `inside` (default: fit in the box, aspect kept, never enlarged), `fill` (exactly the box),
    /// `cover` (exactly the box, centre-cropped), `contain` (exactly the box, padded with
    /// transparency) or `outside` (covers the box, not cropped). No result may exceed 4096 on a side.
    #[schema(pattern = "^(?:inside|fill|cover|contain|outside)$")]
    fit: Option<String>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageCompress {
    /// 1-100: the JPEG quality (default 85); for PNG any value means the smallest encoding;
    /// WebP output is lossless and ignores it.
    #[schema(minimum = 1, maximum = 100)]
    quality: Option<u32>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageActions {
    /// `jpg`/`jpeg`, `png` or `webp` (lossless). Default: the input's format (a GIF becomes PNG).
    /// `tiff` and `avif` are not offered (400).
    #[schema(pattern = "^(?:jpg|jpeg|png|webp)$")]
    convert: Option<String>,
    resize: Option<ImageResize>,
    compress: Option<ImageCompress>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageRequest {
    /// A JPEG, PNG, WebP or GIF as http(s) URL, `data:` URL or base64.
    #[schema(schema_with = crate::http::wire::media_source)]
    file: String,
    #[serde(default)]
    actions: ImageActions,
    /// `base64` (default: a data URL), `url` (a signed, expiring link to `GET /api/v1/media/{id}`)
    /// or `file` (the image's bytes as the response).
    #[schema(pattern = "^(?:base64|url|file)$")]
    output: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ImageDetails {
    /// `jpeg`, `png` or `webp`.
    format: String,
    width: u32,
    height: u32,
    size: usize,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageResult {
    /// A `data:` URL (output base64) or a signed link (output url).
    data: String,
    details: ImageDetails,
    /// Which of `convert`, `resize`, `compress` were asked for and done.
    actions_performed: Vec<String>,
    created_at: String,
    #[schema(value_type = Object)]
    meta: serde_json::Value,
}

fn actions(a: &ImageActions) -> ApiResult<Actions> {
    let convert = a.convert.as_deref().map(|c| format_field("actions.convert", c)).transpose()?;
    let quality = match a.compress.as_ref().map(|c| c.quality) {
        None => None,
        Some(None) => Some(80),
        Some(Some(q)) if (1..=100).contains(&q) => Some(q as u8),
        Some(Some(_)) => return Err(ApiError::field("actions.compress.quality", "must be between 1 and 100")),
    };
    let resize = match &a.resize {
        None => None,
        Some(r) => {
            if r.width.is_none() && r.height.is_none() {
                return Err(ApiError::field("actions.resize", "give width and/or height"));
            }
            let w = r.width.map(|w| side("actions.resize.width", Some(w), 1)).transpose()?;
            let h = r.height.map(|h| side("actions.resize.height", Some(h), 1)).transpose()?;
            let fit = match r.fit.as_deref() {
                None => Fit::Inside,
                Some(f) => Fit::parse(f).ok_or_else(|| {
                    ApiError::field(
                        "actions.resize.fit",
                        format!("{f:?} must be inside, fill, cover, contain or outside"),
                    )
                })?,
            };
            Some((w, h, fit))
        }
    };
    Ok(Actions { convert, resize, quality })
}

#[utoipa::path(post, path = "/api/v1/misc/media/image", tag = "Misc", operation_id = "postMiscMediaImage",
    summary = "Process an image", description = "Convert (JPEG, PNG, lossless WebP), resize (fit modes as sharp's) and \
        compress (JPEG quality; smallest PNG) a JPEG, PNG, WebP or GIF picture. `output=file` answers the image's bytes.",
    request_body = ImageRequest,
    responses((status = 200, description = "Processed image, or with output=file the image itself",
        content((Envelope<ImageResult> = "application/json"), (Vec<u8> = "application/octet-stream"))), MediaErrors, GeneratedErrors))]
async fn image(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiJson(body): ApiJson<ImageRequest>,
) -> ApiResult<Response> {
    let output = Output::parse(body.output.as_deref())?;
    let job = actions(&body.actions)?;
    let loaded = crate::http::routes::messages::kinds::load(&state, "file", &body.file).await?;
    let bytes = loaded.bytes;
    let p = blocking("actions.resize", move || misc_image::process(&bytes, job)).await?;
    if output == Output::File {
        let name = format!("image.{}", p.format.extension());
        return Ok(misc_output::file(p.bytes, p.format.mimetype(), &name));
    }
    let done: Vec<String> =
        [("convert", job.convert.is_some()), ("resize", job.resize.is_some()), ("compress", job.quality.is_some())]
            .into_iter()
            .filter(|(_, on)| *on)
            .map(|(n, _)| n.to_string())
            .collect();
    let r = misc_output::reference(&state, &who, output, &p.bytes, p.format.mimetype()).await?;
    let mut meta = serde_json::json!({ "mimeType": p.format.mimetype(), "label": "image", "mode": output.mode() });
    if let Some(exp) = r.expires_at {
        meta["expiresAt"] = exp.into();
    }
    let result = ImageResult {
        data: r.data,
        details: ImageDetails { format: p.format.name().into(), width: p.width, height: p.height, size: p.bytes.len() },
        actions_performed: done,
        created_at: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        meta,
    };
    Ok(Reply::ok("Image processed", result).into_response())
}
