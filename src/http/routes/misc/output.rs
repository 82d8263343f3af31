//! The `output` of the misc routes that produce a file (`/misc/media/*`,
//! `/misc/whatsapp/file-decrypt`): `base64` (the default) puts a `data:` URL in the JSON
//! answer; `url` stores the file (`media::generated`) and puts a signed, expiring link to
//! `GET /api/v1/media/{id}` there instead; `file` answers the bytes themselves as a
//! download. Owns only that choice; the routes make the bytes.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;

use crate::app::AppState;
use crate::auth::Principal;
use crate::http::error::{ApiError, ApiResult, Code};
use crate::media::generated::{self, GeneratedError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Base64,
    Url,
    File,
}

impl Output {
    /// The request's `output` (absent: base64); anything else is 400 naming `output`.
    pub fn parse(v: Option<&str>) -> ApiResult<Output> {
        match v.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
            None | Some("base64") => Ok(Output::Base64),
            Some("url") => Ok(Output::Url),
            Some("file") | Some("binary") => Ok(Output::File),
            Some(o) => Err(ApiError::field("output", format!("{o:?} must be base64, url or file"))),
        }
    }

    pub fn mode(self) -> &'static str {
        match self {
            Output::Base64 => "base64",
            Output::Url => "url",
            Output::File => "file",
        }
    }
}

/// How one produced file appears in a JSON answer.
pub struct Reference {
    /// A `data:` URL or a signed link.
    pub data: String,
    /// Unix seconds when a link stops working (None for data URLs).
    pub expires_at: Option<i64>,
}

/// The JSON form of `bytes` for `out` (`File` is answered by [`file`] and never asks);
/// a link's file counts toward `who`'s quota of generated files.
pub async fn reference(
    state: &AppState,
    who: &Principal,
    out: Output,
    bytes: &[u8],
    mimetype: &str,
) -> ApiResult<Reference> {
    if out != Output::Url {
        let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
        return Ok(Reference { data: format!("data:{mimetype};base64,{b64}"), expires_at: None });
    }
    let cfg = &state.config.media;
    let g = generated::store(&state.db, &state.config.data_dir, cfg, who, bytes, mimetype).await.map_err(|e| match e {
        GeneratedError::Quota { used, max, retry_after_secs } => {
            let mb = crate::http::error::megabytes;
            let mut err = ApiError::new(
                Code::GeneratedQuota,
                format!(
                    "this user's unexpired generated files hold {:.1} MB and this one does not fit in the {:.0} MB of WAREST_TENANT_GENERATED_MAX_MB; retry when links expire, or ask for output base64 or file",
                    mb(used),
                    mb(max)
                ),
            );
            err.retry_after = Some(retry_after_secs);
            err
        }
        e => {
            tracing::error!(error = %e, "could not store generated media");
            ApiError::internal()
        }
    })?;
    Ok(Reference { data: g.url, expires_at: Some(g.expires_at) })
}

/// The bytes as the response body: their type, and `attachment` so a browser saves
/// rather than renders what the caller's input decided.
pub fn file(bytes: Vec<u8>, mimetype: &str, filename: &str) -> Response {
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    let ct = HeaderValue::from_str(mimetype).unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_TYPE, ct);
    // The filename is ours (a fixed stem and an extension from a fixed table), so quoting is safe.
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    res
}

/// A file extension for common mimetypes (`bin` otherwise), for download names.
pub fn extension(mimetype: &str) -> &'static str {
    match mimetype {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/webp" => "webp",
        "image/gif" => "gif",
        "video/mp4" => "mp4",
        "video/3gpp" => "3gp",
        "video/webm" => "webm",
        "audio/ogg" => "ogg",
        "audio/mpeg" => "mp3",
        "audio/mp4" => "m4a",
        "audio/aac" => "aac",
        "application/pdf" => "pdf",
        "application/zip" => "zip",
        "text/plain" => "txt",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => "docx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => "xlsx",
        _ => "bin",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_names_and_extensions() {
        assert_eq!(Output::parse(None).unwrap(), Output::Base64);
        assert_eq!(Output::parse(Some(" URL ")).unwrap(), Output::Url);
        assert_eq!(Output::parse(Some("file")).unwrap(), Output::File);
        assert_eq!(Output::parse(Some("ftp")).unwrap_err().field.as_deref(), Some("output"));
        assert_eq!((extension("image/png"), extension("x/unknown")), ("png", "bin"));
    }
}
