//! The WAREST response envelope `{status, code, message, results}`.
//!
//! As in the original, `results` is an array (one element for a single object, a page
//! object `{items, total, …}` for lists) or `null`.

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::Code;

#[derive(Debug, Serialize, ToSchema)]
pub struct Envelope<T> {
    /// `true` on success.
    pub status: bool,
    /// Stable WAREST code, e.g. 1000 for success.
    pub code: u16,
    pub message: String,
    pub results: Option<Vec<T>>,
}

/// The error shape, for documentation: the same envelope with `status: false` and
/// `results` either `null` or `[{"field": "<name>"}]` for validation errors.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorEnvelope {
    pub status: bool,
    pub code: u16,
    pub message: String,
    pub results: Option<Vec<FieldError>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FieldError {
    /// The request field that failed validation.
    pub field: String,
}

/// A page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

impl<T> Page<T> {
    /// A list returned whole: one page holding every item.
    pub fn all(items: Vec<T>) -> Self {
        let total = items.len() as i64;
        Page { items, total, limit: total, offset: 0 }
    }
}

/// A successful answer: a code (and its status) plus one result.
pub struct Reply<T> {
    code: Code,
    message: String,
    result: T,
}

impl<T: Serialize> Reply<T> {
    pub fn ok(message: impl Into<String>, result: T) -> Self {
        Reply { code: Code::Ok, message: message.into(), result }
    }

    pub fn created(message: impl Into<String>, result: T) -> Self {
        Reply { code: Code::Created, message: message.into(), result }
    }

    /// A success with a specific code (e.g. 1104 "already open", 1107 "scan the QR").
    pub fn with_code(code: Code, message: impl Into<String>, result: T) -> Self {
        Reply { code, message: message.into(), result }
    }
}

impl<T: Serialize> IntoResponse for Reply<T> {
    fn into_response(self) -> Response {
        let body = Envelope {
            status: true,
            code: self.code.number(),
            message: self.message,
            results: Some(vec![self.result]),
        };
        (self.code.status(), Json(body)).into_response()
    }
}
