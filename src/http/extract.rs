//! Request extractors whose rejections are WAREST envelopes naming the bad field.
//!
//! axum's own `Json`/`Query`/`Path` reject with plain text; these wrap them so malformed
//! JSON, wrong types and missing fields all give a 400 with code 2001 and the field path.

use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::{ApiError, Code};

/// JSON body. Deserialized through `serde_path_to_error`, so a type error names its path.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|ct| ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
            .is_some_and(|ct| ct == "application/json" || ct.ends_with("+json"));
        if !is_json {
            return Err(ApiError::field("body", "expected Content-Type: application/json"));
        }
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(Code::PayloadTooLarge, "Request body is too large")
            } else {
                ApiError::field("body", "could not read the request body")
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// A JSON body that may be absent: an empty body gives `T::default()`.
pub struct OptionalJson<T>(pub T);

impl<S, T> FromRequest<S> for OptionalJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Default,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| ApiError::field("body", "could not read the request body"))?;
        // No body, or JSON's `null`: a body that says nothing.
        if bytes.iter().all(u8::is_ascii_whitespace) || bytes.trim_ascii() == b"null" {
            return Ok(OptionalJson(T::default()));
        }
        parse_json(&bytes).map(OptionalJson)
    }
}

/// Parses JSON into `T`, turning any failure into a 400 naming the field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let err = match serde_path_to_error::deserialize(de) {
        Ok(v) => return Ok(v),
        Err(e) => e,
    };
    // JSON has one number type: `5.0` is the integer 5 to a client (and to the JSON Schema
    // of an `integer` field), but serde refuses it. Only a body that failed on its types
    // pays for the second pass; its own error is what the client sees otherwise.
    if err.inner().classify() == serde_json::error::Category::Data
        && let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(bytes)
    {
        integral_floats_as_integers(&mut value);
        if let Ok(v) = serde_json::from_value(value) {
            return Ok(v);
        }
    }
    Err(json_error(err))
}

/// `5.0` → `5` everywhere in `v` (floats with no fraction, within the i64 range).
fn integral_floats_as_integers(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15) {
                *v = serde_json::Value::from(f as i64);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(integral_floats_as_integers),
        serde_json::Value::Object(map) => map.values_mut().for_each(integral_floats_as_integers),
        _ => {}
    }
}

/// A 400 naming the field of a JSON error.
fn json_error(err: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    // The root reads as "." (or "?" when the syntax broke before any key was read).
    let path = Some(err.path().to_string()).filter(|p| p != "." && p != "?");
    let inner = err.into_inner();
    let msg = inner.to_string();
    // serde reports a missing field at its parent's path, naming it in the message.
    let field = missing_field(&msg)
        .map(|f| path.as_ref().map_or_else(|| f.to_string(), |p| format!("{p}.{f}")))
        .unwrap_or_else(|| path.unwrap_or_else(|| "body".to_string()));
    let problem = match inner.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            format!("malformed JSON ({})", strip_position(&msg))
        }
        _ => strip_position(&msg).to_string(),
    };
    ApiError::field(field, problem)
}

fn missing_field(msg: &str) -> Option<&str> {
    let rest = msg.strip_prefix("missing field `")?;
    rest.split('`').next()
}

/// serde_json appends " at line L column C"; the field path already says where.
fn strip_position(msg: &str) -> &str {
    msg.rsplit_once(" at line ").map_or(msg, |(head, _)| head)
}

/// Query string, with the same 400 envelope on failure.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de).map(ApiQuery).map_err(|err| {
            let path = err.path().to_string();
            let msg = err.into_inner().to_string();
            let field =
                missing_field(&msg).map(str::to_string).unwrap_or(if path == "." { "query".into() } else { path });
            ApiError::field(field, msg)
        })
    }
}

/// Path parameters, with the same 400 envelope on failure.
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|e: PathRejection| ApiError::field("path", e.body_text()))
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Body {
        username: String,
        nested: Option<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        count: u32,
    }

    fn field_of(json: &str) -> String {
        parse_json::<Body>(json.as_bytes()).unwrap_err().field.unwrap()
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(field_of(r#"{}"#), "username");
        assert_eq!(field_of(r#"{"username": 5}"#), "username");
        assert_eq!(field_of(r#"{"username": "a", "nested": {"count": "x"}}"#), "nested.count");
        assert_eq!(field_of(r#"{"username": "a", "nested": {}}"#), "nested.count");
        assert_eq!(field_of(r#"{"username": "#), "username", "truncated inside a field names it");
        assert_eq!(field_of("{"), "body");
        assert_eq!(field_of(r#""text""#), "body");
    }

    #[test]
    fn malformed_json_says_so() {
        let e = parse_json::<Body>(b"{nope").unwrap_err();
        assert!(e.message.starts_with("body: malformed JSON"), "{}", e.message);
    }
}
