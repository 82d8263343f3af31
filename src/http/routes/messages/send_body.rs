//! The request body of the single-file send routes (media, audio, sticker, GIF, document)
//! in the reference spec's three forms: JSON (the file as URL or base64 in its field),
//! `multipart/form-data` (the file as a part named like that field, the rest as form
//! fields) and raw bytes (`application/octet-stream`, the rest in the query string).
//!
//! Form and query text is turned into the JSON route's own request struct, so every field
//! is validated by one path whatever the body was. Uploaded bytes obey the same cap as
//! base64 and URL media (WAREST_MEDIA_MAX_MB) and are refused while they stream in.
//! What a route does with the file stays in the route.

use axum::extract::multipart::Multipart;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::app::AppState;
use crate::http::error::{ApiError, ApiResult, Code};
use crate::http::extract::{ApiJson, parse_json};
use crate::http::routes::messages::kinds::load;
use crate::http::routes::messages::upload::{
    Budget, FilePart, MAX_TEXT_FIELDS, clean_file_name, essence, flag, multipart_error, read_file, read_text,
};
use crate::media::fetch::{Loaded, sniff};

/// A send request whose body carries one file.
pub trait FileRequest: DeserializeOwned + Send {
    /// The field with the file: URL or base64 in JSON, the part's name in a form.
    const FILE: &'static str;
    /// Boolean fields of the route, given as "true"/"false" in forms and query strings.
    const FLAGS: &'static [&'static str];
    /// The field an uploaded file's own name fills when the caller left it out.
    const FILE_NAME: Option<&'static str> = None;
}

// The raw body's schema in the OpenAPI document (documentation only).
/// The file's bytes; sessionId, to and the other fields go in the query string.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub struct RawFile(Vec<u8>);

/// Booleans every send route takes (`Destination`).
const COMMON_FLAGS: &[&str] = &["isForwarded", "presence"];
/// Another name clients commonly give the file part.
const FILE_ALIAS: &str = "file";

/// The request, and the file when it came as bytes rather than as a URL or base64.
pub struct SendBody<T> {
    pub req: T,
    pub upload: Option<Loaded>,
}

/// The file of the request: the uploaded bytes, else what `source` (URL or base64) names.
pub(super) async fn file_or_load(
    state: &AppState,
    field: &str,
    source: &str,
    upload: Option<Loaded>,
) -> ApiResult<Loaded> {
    match upload {
        Some(loaded) => Ok(loaded),
        None => load(state, field, source).await,
    }
}

impl<T: FileRequest> FromRequest<AppState> for SendBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).and_then(essence);
        let ct = content_type.as_deref().unwrap_or("");
        if ct == "application/json" || ct.ends_with("+json") {
            let ApiJson(req) = ApiJson::<T>::from_request(req, state).await?;
            return Ok(SendBody { req, upload: None });
        }
        let max = state.config.outbound.media.max_bytes;
        if ct == "multipart/form-data" {
            let mp = Multipart::from_request(req, state)
                .await
                .map_err(|e| ApiError::field("body", format!("malformed multipart body ({})", e.body_text())))?;
            return from_form::<T>(mp, max).await;
        }
        if is_raw(ct) {
            let declared = Some(ct.to_string()).filter(|c| c != "application/octet-stream");
            let query: Vec<(String, String)> = form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            // The fields first: a request that is wrong anyway is refused before its body is read.
            let fields = build::<T>(query, true, None)?;
            let bytes = read_raw(req, T::FILE, max).await?;
            return Ok(SendBody { req: fields, upload: Some(loaded(bytes, declared)) });
        }
        Err(ApiError {
            code: Code::MediaUnsupported,
            message: format!(
                "Content-Type: {} is not accepted here (use application/json, multipart/form-data or \
                 application/octet-stream)",
                content_type.as_deref().unwrap_or("missing")
            ),
            field: Some("Content-Type".into()),
            retry_after: None,
        })
    }
}

/// Raw bodies: octet-stream, or the file's own media type.
fn is_raw(ct: &str) -> bool {
    ct == "application/octet-stream" || ["image/", "video/", "audio/"].iter().any(|p| ct.starts_with(p))
}

fn loaded(bytes: Vec<u8>, declared: Option<String>) -> Loaded {
    let declared = declared.filter(|d| d != "application/octet-stream");
    Loaded { mimetype: sniff(&bytes).map(str::to_string).or(declared), bytes }
}

/// A raw body, refused once it passes `max` bytes (by its Content-Length, or as it streams).
async fn read_raw(req: Request, field: &str, max: usize) -> ApiResult<Vec<u8>> {
    let too_large = || ApiError::too_large(field.to_string(), "the file", max);
    let declared_len =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared_len.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    let mut stream = req.into_body().into_data_stream();
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| ApiError::field("body", "could not read the request body"))?;
        if bytes.len() + chunk.len() > max {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    if bytes.is_empty() {
        return Err(ApiError::field(field, "the request body is empty (send the file's bytes)"));
    }
    Ok(bytes)
}

/// A form: the file part (named like `T::FILE`, or `file`) and text fields.
async fn from_form<T: FileRequest>(mut mp: Multipart, max: usize) -> ApiResult<SendBody<T>> {
    let mut text = Vec::new();
    let mut file = None;
    let mut budget = Budget { used: 0, max };
    while let Some(field) = mp.next_field().await.map_err(|e| multipart_error(T::FILE, e))? {
        let name = field.name().unwrap_or_default().to_string();
        // A part is the file when it says so (a file name, or a type other than text); a
        // plain text part named like the file is a URL or base64, as in JSON.
        let binary = field.file_name().is_some()
            || field.content_type().and_then(essence).is_some_and(|t| !t.starts_with("text/plain"));
        if binary {
            if name != T::FILE && name != FILE_ALIAS {
                return Err(ApiError::field(name, format!("unexpected file part (the file goes in `{}`)", T::FILE)));
            }
            if file.is_some() {
                return Err(ApiError::field(T::FILE, "only one file part is accepted"));
            }
            file = Some(read_file(field, T::FILE, max, &mut budget, T::FILE).await?);
        } else if (name == T::FILE || name == FILE_ALIAS) && file.is_none() {
            // Named like the file but untyped: a URL or base64 when it reads as text, else
            // the file itself (clients following OpenAPI's `format: binary` send it so).
            let part = read_file(field, T::FILE, max, &mut budget, T::FILE).await?;
            match String::from_utf8(part.bytes) {
                Ok(value) => text.push((name, value)),
                Err(e) => file = Some(FilePart { name: None, declared: None, bytes: e.into_bytes() }),
            }
        } else {
            if text.len() >= MAX_TEXT_FIELDS {
                return Err(ApiError::field(name, format!("at most {MAX_TEXT_FIELDS} form fields")));
            }
            let value = read_text(field, &name).await?;
            text.push((name, value));
        }
    }
    let file_name = file.as_ref().and_then(|f| f.name.clone());
    let req = build::<T>(text, file.is_some(), file_name)?;
    Ok(SendBody { req, upload: file.map(|f| loaded(f.bytes, f.declared)) })
}

/// Form or query fields as the JSON body they stand for, parsed by the JSON path.
fn build<T: FileRequest>(fields: Vec<(String, String)>, has_file: bool, file_name: Option<String>) -> ApiResult<T> {
    let mut body = Map::new();
    let mut to = Vec::new();
    for (name, value) in fields {
        if name == "to" || name == "to[]" {
            to.push(Value::String(value));
        } else if COMMON_FLAGS.contains(&name.as_str()) || T::FLAGS.contains(&name.as_str()) {
            body.insert(name.clone(), Value::Bool(flag(&name, &value)?));
        } else {
            // The last of repeated fields wins, as in a JSON object.
            body.insert(name, Value::String(value));
        }
    }
    // One `to` may be a comma list already; several are the array form of the JSON body.
    match to.len() {
        0 => {}
        1 => {
            body.insert("to".into(), to.remove(0));
        }
        _ => {
            body.insert("to".into(), Value::Array(to));
        }
    }
    if has_file {
        // The bytes travel beside the struct; the field is only a placeholder.
        body.insert(T::FILE.into(), Value::String(String::new()));
    } else if !body.contains_key(T::FILE) {
        return Err(ApiError::field(T::FILE, "is required (a file part, or a URL or base64 text field)"));
    }
    if let (Some(field), Some(name)) = (T::FILE_NAME, file_name.as_deref().and_then(clean_file_name)) {
        body.entry(field).or_insert(Value::String(name));
    }
    let json = serde_json::to_vec(&body).map_err(|_| ApiError::field("body", "could not be read"))?;
    parse_json(&json)
}
