//! The dashboard's own stylesheet and script, embedded in the binary and served from
//! `/ui/static/` (the CSP allows scripts and styles from this origin only).

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

const CSS: &str = include_str!("static/app.css");
const JS: &str = include_str!("static/app.js");

/// FNV-1a of both files: the ETag, and the `?v=` that makes browsers fetch a new build's.
pub const VERSION: u64 = {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let (a, b) = (CSS.as_bytes(), JS.as_bytes());
    let mut i = 0;
    while i < a.len() + b.len() {
        let byte = if i < a.len() { a[i] } else { b[i - a.len()] };
        h ^= byte as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    h
};

pub async fn serve(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let (body, kind) = match file.as_str() {
        "app.css" => (CSS, "text/css; charset=utf-8"),
        "app.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return crate::http::error::ApiError::not_found("file").into_response(),
    };
    let etag = format!("\"{VERSION:016x}\"");
    let fresh = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str());
    let mut res = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, kind)], body).into_response()
    };
    let h = res.headers_mut();
    // Revalidated on each load (a 304 is cheap), so a new binary's files are never stale.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    res
}
