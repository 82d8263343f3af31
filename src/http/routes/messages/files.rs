//! `POST /api/v1/messages/send/files`: a multipart upload of one or more files, each sent
//! as the kind its bytes say (image, video, audio, else document), one queued message per
//! file and recipient. Each file, the whole upload and the number of files are capped
//! while the body streams in, so an oversized upload is refused before it is all read.
//! Executables and scripts are never sent; they are listed in `blockedFiles`.

use axum::extract::State;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::auth::Tenant;
use crate::http::envelope::Envelope;
use crate::http::error::{ApiError, ApiResult, Code};
use crate::http::routes::messages::kinds::caption;
use crate::http::routes::messages::upload::{Budget, MAX_TEXT_FIELDS, flag, multipart_error, read_file, read_text};
use crate::http::routes::messages::{Destination, Recipients, SendErrors, SendResult, common, enqueue_all, prepare};
use crate::media::probe;
use crate::outbound::build_media::{self as bm, AUDIO_TYPES, IMAGE_TYPES, VIDEO_TYPES};
use crate::outbound::content::{Content, Media};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(send_files))
}

/// Extensions of programs and scripts, refused whatever their mimetype claims.
const BLOCKED_EXTENSIONS: &[&str] = &[
    "exe", "msi", "bat", "cmd", "com", "scr", "pif", "sh", "bash", "ps1", "vbs", "vbe", "jse", "wsf", "cpl", "dll",
    "jar", "app", "reg", "lnk",
];
const BLOCKED_TYPES: &[&str] =
    &["application/x-msdownload", "application/x-msi", "application/x-sh", "application/x-dosexec"];

/// The multipart form (documentation only; the handler reads the stream itself).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct SendFilesForm {
    /// The session that sends.
    session_id: String,
    /// Recipients, comma-separated (at most 50).
    #[schema(schema_with = crate::http::wire::chat_list_text)]
    to: String,
    /// One part per file (also accepted as `file` or `files[]`).
    #[schema(value_type = Vec<String>, format = Binary, min_items = 1)]
    files: Vec<Vec<u8>>,
    /// Caption of every image, video and document.
    caption: Option<String>,
    reply_message_id: Option<String>,
    is_forwarded: Option<bool>,
    presence: Option<bool>,
    idempotency_key: Option<String>,
}

struct Upload {
    name: String,
    declared: Option<String>,
    bytes: Vec<u8>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Blocked {
    name: String,
    mimetype: String,
    reason: String,
}

/// Reads the form: text fields into `text`, file parts into uploads, within the caps.
async fn read_form(state: &AppState, mut mp: Multipart) -> ApiResult<(Vec<(String, String)>, Vec<Upload>)> {
    let cfg = &state.config.outbound;
    let (per_file, total_max, max_count) = (cfg.media.max_bytes, cfg.files_max_total_bytes, cfg.files_max_count);
    let mut text = Vec::new();
    let mut files: Vec<Upload> = Vec::new();
    let mut budget = Budget { used: 0, max: total_max };
    while let Some(field) = mp.next_field().await.map_err(|e| multipart_error("files", e))? {
        let name = field.name().unwrap_or_default().to_string();
        if field.file_name().is_some() || matches!(name.as_str(), "files" | "file" | "files[]") {
            if files.len() >= max_count {
                return Err(ApiError::field(
                    "files",
                    format!("at most {max_count} files per upload (WAREST_FILES_MAX_COUNT)"),
                ));
            }
            let i = files.len();
            let part = read_file(field, &format!("files[{i}]"), per_file, &mut budget, "files").await?;
            let name = part.name.unwrap_or_else(|| format!("file{}", i + 1));
            files.push(Upload { name, declared: part.declared, bytes: part.bytes });
        } else {
            if text.len() >= MAX_TEXT_FIELDS {
                return Err(ApiError::field(name, format!("at most {MAX_TEXT_FIELDS} form fields")));
            }
            let value = read_text(field, &name).await?;
            text.push((name, value));
        }
    }
    Ok((text, files))
}

fn destination(text: &[(String, String)]) -> ApiResult<Destination> {
    let get = |k: &str| text.iter().rev().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let session_id = get("sessionId").or_else(|| get("session")).filter(|s| !s.trim().is_empty());
    let session_id = session_id.ok_or_else(|| ApiError::field("sessionId", "is required"))?;
    let to = get("to").filter(|s| !s.trim().is_empty()).ok_or_else(|| ApiError::field("to", "is required"))?;
    Ok(Destination {
        session_id,
        to: Recipients::One(to),
        reply_message_id: get("replyMessageId"),
        is_forwarded: get("isForwarded").map(|v| flag("isForwarded", &v)).transpose()?.unwrap_or(false),
        presence: get("presence").map(|v| flag("presence", &v)).transpose()?,
        idempotency_key: get("idempotencyKey"),
    })
}

/// Why a file is refused, if it is.
fn blocked_reason(state: &AppState, name: &str, mime: &str) -> Option<String> {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    if let Some(ext) = ext.filter(|e| BLOCKED_EXTENSIONS.contains(&e.as_str())) {
        return Some(format!("Files with .{ext} extensions are not allowed"));
    }
    if BLOCKED_TYPES.contains(&mime) || mime_is_executable(mime) {
        return Some(format!("Executable files ({mime}) are not allowed"));
    }
    if !state.config.outbound.file_mimetypes.iter().any(|m| m == mime) {
        return Some(format!("mimetype {mime} is not in WAREST_MIMETYPE_FILES_ALLOWLIST"));
    }
    None
}

fn mime_is_executable(mime: &str) -> bool {
    mime.contains("executable") || mime.ends_with("-script")
}

/// The message one file becomes, by its sniffed type.
async fn content_of(
    state: &AppState,
    upload: Upload,
    mime: &str,
    caption: Option<String>,
    dest: &Destination,
) -> ApiResult<Content> {
    let common = common(dest, vec![]);
    Ok(if IMAGE_TYPES.contains(&mime) {
        let (media, dims, _, _) =
            bm::image(upload.bytes, mime, false).await.map_err(|e| ApiError::media_fail("files", e))?;
        Content::Image { media, caption, view_once: false, dims, common }
    } else if VIDEO_TYPES.contains(&mime) {
        let dims = bm::video_dims(&state.config.outbound.ffmpeg, &upload.bytes).await;
        Content::Video {
            media: Media::new(&upload.bytes, mime),
            caption,
            view_once: false,
            gif_playback: false,
            dims,
            common,
        }
    } else if AUDIO_TYPES.contains(&mime) {
        Content::Audio {
            seconds: probe::ogg_opus_seconds(&upload.bytes),
            media: Media::new(&upload.bytes, mime),
            ptt: false,
            common,
        }
    } else {
        Content::Document { media: Media::new(&upload.bytes, mime), filename: upload.name, caption, common }
    })
}

#[utoipa::path(post, path = "/api/v1/messages/send/files", tag = "Messages", operation_id = "postMessagesSendFiles",
    summary = "Send uploaded files",
    description = "multipart/form-data with `sessionId`, `to` and one or more file parts. Each file is sent as the kind \
                   its bytes say: JPEG/PNG/WebP as an image, MP4 as a video, audio as an audio message, anything \
                   else in WAREST_MIMETYPE_FILES_ALLOWLIST as a document. Executables and scripts are listed in \
                   `blockedFiles` and not sent; when no file is left the answer is 415. Limits: WAREST_MEDIA_MAX_MB \
                   per file, WAREST_FILES_MAX_TOTAL_MB per upload, WAREST_FILES_MAX_COUNT files.",
    params(("Idempotency-Key" = Option<String>, Header)),
    request_body(content = SendFilesForm, content_type = "multipart/form-data"),
    responses((status = 200, description = "Queued, one result per recipient; `advancedInfo.files` has one entry per file", body = Envelope<SendResult>), SendErrors))]
async fn send_files(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    headers: HeaderMap,
    form: Result<Multipart, MultipartRejection>,
) -> ApiResult<Response> {
    let mp = form.map_err(|e| ApiError::field("body", format!("must be multipart/form-data ({})", e.body_text())))?;
    let (text, uploads) = read_form(&state, mp).await?;
    let dest = destination(&text)?;
    let caption = caption(&text.iter().rev().find(|(n, _)| n == "caption").map(|(_, v)| v.clone()))?;
    if uploads.is_empty() {
        return Err(ApiError::field("files", "at least one file part is required"));
    }

    let mut blocked = Vec::new();
    let mut contents = Vec::new();
    for upload in uploads {
        let mime = crate::media::fetch::sniff(&upload.bytes)
            .map(str::to_string)
            .or_else(|| upload.declared.clone())
            .unwrap_or_else(|| "application/octet-stream".into());
        if let Some(reason) = blocked_reason(&state, &upload.name, &mime) {
            blocked.push(Blocked { name: upload.name, mimetype: mime, reason });
            continue;
        }
        let (name, size) = (upload.name.clone(), upload.bytes.len());
        let content = content_of(&state, upload, &mime, caption.clone(), &dest).await?;
        contents.push((name, mime, size, content));
    }
    if contents.is_empty() {
        let first = &blocked[0];
        return Err(ApiError {
            code: Code::MediaUnsupported,
            message: format!("files[0]: {} ({}): {}", first.name, first.mimetype, first.reason),
            field: Some("files[0]".into()),
            retry_after: None,
        });
    }

    // One job per file: the first prepares (session, recipients, key), the rest reuse it.
    let mut meta = Vec::with_capacity(contents.len());
    let mut bodies = Vec::with_capacity(contents.len());
    for (name, mime, size, content) in contents {
        meta.push((name, mime, size));
        bodies.push(content);
    }
    let mut bodies = bodies.into_iter();
    let first = prepare(&state, &who, &headers, &dest, bodies.next().expect("at least one file")).await?;
    let phone = first.phone();
    let mut jobs: Vec<_> = bodies.enumerate().map(|(i, c)| first.with_content(c, i + 1)).collect();
    jobs.insert(0, first);
    // All files or none: a full queue or a refused file leaves nothing half-sent.
    let enqueued = enqueue_all(&state, jobs).await?;

    let replayed = enqueued.iter().all(|e| e.replayed);
    let results: Vec<SendResult> = enqueued[0]
        .messages
        .iter()
        .map(|m0| {
            let files: Vec<serde_json::Value> = meta
                .iter()
                .zip(&enqueued)
                .map(|((name, mime, size), e)| {
                    let m = e.messages.iter().find(|m| m.to_jid == m0.to_jid);
                    serde_json::json!({ "name": name, "mimetype": mime, "size": size, "kind": m.map(|m| &m.kind),
                        "messageId": m.map(|m| &m.message_id), "timestamp": m.map(|m| m.timestamp) })
                })
                .collect();
            SendResult {
                phone: phone.clone(),
                to: m0.to.clone(),
                to_jid: m0.to_jid.clone(),
                message_id: m0.message_id.clone(),
                status: "files success".into(),
                timestamp: m0.timestamp,
                queue_status: "queued".into(),
                replayed,
                advanced_info: serde_json::json!({ "isForwarded": dest.is_forwarded,
                    "quotedMessageId": dest.reply_message_id, "files": files, "blockedFiles": blocked }),
            }
        })
        .collect();
    let body = Envelope {
        status: true,
        code: Code::Ok.number(),
        message: "File messages queued".into(),
        results: Some(results),
    };
    Ok((Code::Ok.status(), axum::Json(body)).into_response())
}
