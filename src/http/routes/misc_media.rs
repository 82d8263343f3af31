//! `/api/v1/misc/media/{thumbnail,image}`: thumbnails and resizing of images
//! (`crate::misc_image`), output PNG. Input is a JPEG, PNG, WebP or GIF as URL, `data:` URL
//! or base64, loaded like message media (size limit, SSRF guard). Other output formats,
//! video thumbnails and `url`/`file` outputs are not offered: they answer 400 naming the field.

use axum::extract::State;
use base64::Engine;
use chrono::{SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::misc::MiscData;
use crate::app::AppState;
use crate::http::auth::Tenant;
use crate::http::docs::CommonErrors;
use crate::http::envelope::{Envelope, Reply};
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::ApiJson;
use crate::misc_image::{MAX_PIXELS, MAX_SIDE, Rgba, decode_png, encode_png, fit_inside, is_png, resize};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(thumbnail)).routes(routes!(image))
}

async fn load_png(state: &AppState, source: &str) -> ApiResult<Rgba> {
    let loaded = super::messages_kinds::load(state, "file", source).await?;
    let bytes = loaded.bytes;
    tokio::task::spawn_blocking(move || {
        if is_png(&bytes) {
            return decode_png(&bytes);
        }
        // Other formats through the image crate, with its pixel and allocation limits.
        let (width, height, pixels) = crate::outbound::imaging::decode_rgba(&bytes).map_err(|e| e.to_string())?;
        if (width as usize).saturating_mul(height as usize) > MAX_PIXELS {
            return Err(format!("is larger than {MAX_PIXELS} pixels"));
        }
        Ok(Rgba { width, height, pixels })
    })
    .await
    .map_err(|_| ApiError::internal())?
    .map_err(|why| ApiError::field("file", why))
}

fn side(field: &str, v: Option<u32>, default: u32) -> ApiResult<u32> {
    let v = v.unwrap_or(default);
    if !(1..=MAX_SIDE).contains(&v) {
        return Err(ApiError::field(field, format!("must be between 1 and {MAX_SIDE}")));
    }
    Ok(v)
}

fn base64_only(output: Option<&str>) -> ApiResult<()> {
    match output {
        None | Some("base64") => Ok(()),
        Some(o) => Err(ApiError::field("output", format!("{o:?} is not offered; use base64"))),
    }
}

fn data_url(png: &[u8]) -> String {
    format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(png))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ThumbnailRequest {
    /// A JPEG, PNG, WebP or GIF as http(s) URL, `data:` URL or base64.
    file: String,
    /// Only `image`.
    #[serde(rename = "type")]
    kind: String,
    /// Bounding box, 1-4096 (default 320 × 320); the aspect ratio is kept.
    width: Option<u32>,
    height: Option<u32>,
    /// Video stills; not offered.
    count: Option<u32>,
    /// Only `base64`.
    output: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/misc/media/thumbnail", tag = "Misc", operation_id = "postMiscMediaThumbnail",
    summary = "Create thumbnails", description = "A PNG thumbnail of a JPEG, PNG, WebP or GIF image, fitted inside width × height. Video thumbnails are not offered (400).",
    request_body = ThumbnailRequest,
    responses((status = 200, description = "Thumbnail array with metadata", body = Envelope<MiscData>), CommonErrors))]
async fn thumbnail(
    State(state): State<AppState>,
    _t: Tenant,
    ApiJson(body): ApiJson<ThumbnailRequest>,
) -> ApiResult<Reply<MiscData>> {
    match body.kind.as_str() {
        "image" => {}
        "video" => return Err(ApiError::field("type", "video thumbnails are not supported; use image")),
        other => return Err(ApiError::field("type", format!("{other:?} must be image or video"))),
    }
    if body.count.is_some() {
        return Err(ApiError::field("count", "only applies to video"));
    }
    base64_only(body.output.as_deref())?;
    let (bw, bh) = (side("width", body.width, 320)?, side("height", body.height, 320)?);
    let img = load_png(&state, &body.file).await?;
    let png = tokio::task::spawn_blocking(move || {
        let (w, h) = fit_inside(img.width, img.height, bw, bh);
        let small = if (w, h) == (img.width, img.height) { img } else { resize(&img, w, h) };
        encode_png(&small, false).map(|p| (p, w, h))
    })
    .await
    .map_err(|_| ApiError::internal())?
    .map_err(|_| ApiError::internal())?;
    let (png, w, h) = png;
    let item = json!({ "thumbnail": data_url(&png), "meta": { "mimetype": "image/png", "width": w, "height": h } });
    Ok(Reply::ok("Thumbnails generated", MiscData::of(vec![item])))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageResize {
    width: Option<u32>,
    height: Option<u32>,
    /// `inside` (default: fit in the box, keep the aspect ratio, never enlarge) or `fill` (exactly width × height).
    fit: Option<String>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageCompress {
    /// 1-100; PNG is lossless, so any value means "smallest PNG encoding".
    quality: Option<u32>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageActions {
    /// Only `png`.
    convert: Option<String>,
    resize: Option<ImageResize>,
    compress: Option<ImageCompress>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageRequest {
    /// A JPEG, PNG, WebP or GIF as http(s) URL, `data:` URL or base64.
    file: String,
    #[serde(default)]
    actions: ImageActions,
    /// Only `base64`.
    output: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/misc/media/image", tag = "Misc", operation_id = "postMiscMediaImage",
    summary = "Process an image", description = "Resize and re-encode a JPEG, PNG, WebP or GIF image (output PNG). `convert` other than png and url/file outputs are not offered (400).",
    request_body = ImageRequest,
    responses((status = 200, description = "Processed image", body = Envelope<MiscData>), CommonErrors))]
async fn image(
    State(state): State<AppState>,
    _t: Tenant,
    ApiJson(body): ApiJson<ImageRequest>,
) -> ApiResult<Reply<serde_json::Value>> {
    base64_only(body.output.as_deref())?;
    let a = body.actions;
    if let Some(c) = a.convert.as_deref().filter(|c| !c.eq_ignore_ascii_case("png")) {
        return Err(ApiError::field("actions.convert", format!("{c:?} is not supported by this build; use png")));
    }
    let quality = a.compress.as_ref().and_then(|c| c.quality);
    if quality.is_some_and(|q| !(1..=100).contains(&q)) {
        return Err(ApiError::field("actions.compress.quality", "must be between 1 and 100"));
    }
    let target = match &a.resize {
        None => None,
        Some(r) => {
            if r.width.is_none() && r.height.is_none() {
                return Err(ApiError::field("actions.resize", "give width and/or height"));
            }
            let w = r.width.map(|w| side("actions.resize.width", Some(w), 1)).transpose()?;
            let h = r.height.map(|h| side("actions.resize.height", Some(h), 1)).transpose()?;
            let fill = match r.fit.as_deref() {
                None | Some("inside") | Some("contain") => false,
                Some("fill") => true,
                Some(f) => return Err(ApiError::field("actions.resize.fit", format!("{f:?} must be inside or fill"))),
            };
            Some((w, h, fill))
        }
    };
    let img = load_png(&state, &body.file).await?;
    let mut done = Vec::new();
    let (png, w, h) = tokio::task::spawn_blocking(move || {
        let out = match target {
            Some((w, h, true)) => resize(&img, w.unwrap_or(img.width), h.unwrap_or(img.height)),
            Some((w, h, false)) => {
                let (nw, nh) = fit_inside(img.width, img.height, w.unwrap_or(MAX_SIDE), h.unwrap_or(MAX_SIDE));
                if (nw, nh) == (img.width, img.height) { img } else { resize(&img, nw, nh) }
            }
            None => img,
        };
        encode_png(&out, quality.is_some()).map(|p| (p, out.width, out.height))
    })
    .await
    .map_err(|_| ApiError::internal())?
    .map_err(|_| ApiError::internal())?;
    if a.convert.is_some() {
        done.push("convert");
    }
    if target.is_some() {
        done.push("resize");
    }
    if quality.is_some() {
        done.push("compress");
    }
    Ok(Reply::ok(
        "Image processed",
        json!({
            "data": data_url(&png),
            "details": { "format": "png", "width": w, "height": h, "size": png.len() },
            "actionsPerformed": done,
            "createdAt": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
            "meta": { "mimeType": "image/png", "label": "image" },
        }),
    ))
}
