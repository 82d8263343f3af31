//! The one HTTP error type and the registry of stable response codes.
//!
//! Every non-2xx answer is an [`ApiError`] rendered in the WAREST envelope. Codes are the
//! original WAREST's where it has one (1xxx sessions, 2xxx client errors, 8000 internal);
//! new ones are added here and nowhere else, so clients can rely on them.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::store::StoreError;

/// Stable numeric response codes. The numbers never change once published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[repr(u16)]
pub enum Code {
    Ok = 1000,
    Created = 1001,
    AlreadyPending = 1005,
    SessionIdRequired = 1100,
    SessionNotFound = 1101,
    SessionIdTaken = 1102,
    SessionAlreadyOpen = 1104,
    SessionStarting = 1106,
    ScanQr = 1107,
    SessionFailed = 1108,
    ReconnectScheduled = 1109,
    PairCodePending = 1110,
    RequestFailed = 2000,
    Validation = 2001,
    Unauthorized = 2200,
    Forbidden = 2201,
    Conflict = 2300,
    RateLimited = 2400,
    PayloadTooLarge = 2413,
    NotFound = 2600,
    MethodNotAllowed = 2605,
    OutboundQueueFull = 3000,
    IdempotencyKeyReused = 3001,
    SessionNotLinked = 3002,
    MessageNotFound = 3003,
    SpamCooldown = 3004,
    QuotaExceeded = 3005,
    MediaUnsupported = 3010,
    MediaTooLarge = 3011,
    MediaFetchFailed = 3012,
    MediaUrlForbidden = 3013,
    NotReady = 5030,
    Internal = 8000,
}

impl Code {
    pub fn number(self) -> u16 {
        self as u16
    }

    /// The HTTP status each code is sent with.
    pub fn status(self) -> StatusCode {
        use Code::*;
        match self {
            Ok | AlreadyPending | SessionAlreadyOpen | ScanQr => StatusCode::OK,
            Created => StatusCode::CREATED,
            SessionStarting | ReconnectScheduled | PairCodePending => StatusCode::ACCEPTED,
            SessionIdTaken => StatusCode::CONFLICT,
            SessionFailed => StatusCode::BAD_GATEWAY,
            SessionIdRequired | Validation | RequestFailed => StatusCode::BAD_REQUEST,
            Unauthorized => StatusCode::UNAUTHORIZED,
            Forbidden => StatusCode::FORBIDDEN,
            SessionNotFound | NotFound | MessageNotFound => StatusCode::NOT_FOUND,
            OutboundQueueFull | SpamCooldown | QuotaExceeded => StatusCode::TOO_MANY_REQUESTS,
            IdempotencyKeyReused | SessionNotLinked => StatusCode::CONFLICT,
            MediaUnsupported => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            MediaTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            MediaFetchFailed => StatusCode::UNPROCESSABLE_ENTITY,
            MediaUrlForbidden => StatusCode::BAD_REQUEST,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Conflict => StatusCode::CONFLICT,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            RateLimited => StatusCode::TOO_MANY_REQUESTS,
            NotReady => StatusCode::SERVICE_UNAVAILABLE,
            Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// An error answer: code, human message and, for validation errors, the offending field.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: Code,
    pub message: String,
    pub field: Option<String>,
    /// Seconds, for 429 answers.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        ApiError { code, message: message.into(), field: None, retry_after: None }
    }

    /// A 400 naming the field: `"<field>: <problem>"`.
    pub fn field(field: impl Into<String>, problem: impl std::fmt::Display) -> Self {
        let field = field.into();
        ApiError {
            code: Code::Validation,
            message: format!("{field}: {problem}"),
            field: Some(field),
            retry_after: None,
        }
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(Code::NotFound, format!("{what} not found"))
    }

    pub fn unauthorized() -> Self {
        Self::new(Code::Unauthorized, "Missing or invalid credentials")
    }

    pub fn forbidden() -> Self {
        Self::new(Code::Forbidden, "Insufficient permissions")
    }

    pub fn internal() -> Self {
        Self::new(Code::Internal, "Internal server error")
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    status: bool,
    code: u16,
    message: &'a str,
    results: Option<[ErrorDetail<'a>; 1]>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    field: &'a str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            status: false,
            code: self.code.number(),
            message: &self.message,
            results: self.field.as_deref().map(|field| [ErrorDetail { field }]),
        };
        let mut res = (self.code.status(), axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => ApiError::not_found("resource"),
            StoreError::Conflict(what) => ApiError::new(Code::Conflict, format!("{what} already exists")),
            other => {
                // Logged once here with the cause; the client sees no internals.
                tracing::error!(error = %other, "store error");
                ApiError::internal()
            }
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
