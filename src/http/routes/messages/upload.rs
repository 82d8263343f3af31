//! Reading multipart uploads within caps: the pieces `/send/files` and the single-file send
//! bodies (`send_body`) share. Each part is read chunk by chunk and refused as soon as it
//! passes its cap, so an oversized upload is never held in memory whole. What the fields
//! mean is the callers' business.

use axum::extract::multipart::{Field, MultipartError};
use axum::http::StatusCode;

use crate::http::error::{ApiError, ApiResult, Code};

/// Longest text field value and most text fields of one upload.
pub(super) const MAX_TEXT_FIELD: usize = 64 * 1024;
pub(super) const MAX_TEXT_FIELDS: usize = 64;

/// A file part as read: its cleaned name, the type its part header declared, its bytes.
pub(super) struct FilePart {
    pub name: Option<String>,
    pub declared: Option<String>,
    pub bytes: Vec<u8>,
}

/// Bytes all file parts of one upload may use together.
pub(super) struct Budget {
    pub used: usize,
    pub max: usize,
}

/// The answer for a multipart stream that broke; `field` is named when the body limit hit.
pub(super) fn multipart_error(field: &str, e: MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError {
            code: Code::PayloadTooLarge,
            message: format!("{field}: the upload is larger than WAREST_HTTP_BODY_LIMIT_MB"),
            field: Some(field.into()),
            retry_after: None,
        };
    }
    ApiError::field("body", format!("malformed multipart body ({})", e.body_text()))
}

/// A boolean given as form or query text.
pub(super) fn flag(field: &str, v: &str) -> ApiResult<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        // A form cannot carry JSON's null; clients that encode it as text send "null".
        "false" | "0" | "no" | "off" | "" | "null" => Ok(false),
        _ => Err(ApiError::field(field, "must be true or false")),
    }
}

/// The media type of a Content-Type value, without parameters; `None` when blank.
pub(super) fn essence(content_type: &str) -> Option<String> {
    Some(content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase()).filter(|m| !m.is_empty())
}

/// Only the last path component of a client's file name: it is shown, never used as a path.
pub(super) fn clean_file_name(raw: &str) -> Option<String> {
    let name: String = raw.rsplit(['/', '\\']).next().unwrap_or_default().trim().chars().take(255).collect();
    Some(name).filter(|n| !n.is_empty() && !n.contains('\0'))
}

/// A text field's value, at most [`MAX_TEXT_FIELD`] bytes of UTF-8.
pub(super) async fn read_text(mut field: Field<'_>, name: &str) -> ApiResult<String> {
    let mut value = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(name, e))? {
        if value.len() + chunk.len() > MAX_TEXT_FIELD {
            return Err(ApiError::field(name, format!("at most {MAX_TEXT_FIELD} bytes")));
        }
        value.extend_from_slice(&chunk);
    }
    String::from_utf8(value).map_err(|_| ApiError::field(name, "must be UTF-8 text"))
}

/// A file part, refused with `label` named once it passes `per_file` bytes or the budget.
pub(super) async fn read_file(
    mut field: Field<'_>,
    label: &str,
    per_file: usize,
    budget: &mut Budget,
    budget_field: &str,
) -> ApiResult<FilePart> {
    let name = field.file_name().and_then(clean_file_name);
    let declared = field.content_type().and_then(essence);
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(budget_field, e))? {
        if bytes.len() + chunk.len() > per_file {
            return Err(ApiError::too_large(label.to_string(), "the file", per_file));
        }
        if budget.used + chunk.len() > budget.max {
            return Err(ApiError::too_large(budget_field.to_string(), "the upload", budget.max));
        }
        budget.used += chunk.len();
        bytes.extend_from_slice(&chunk);
    }
    if bytes.is_empty() {
        return Err(ApiError::field(label, "is empty"));
    }
    Ok(FilePart { name, declared, bytes })
}
