//! The one HTTP error type and the registry of stable response codes.
//!
//! Every non-2xx answer is an [`ApiError`] rendered in the WAREST envelope. Codes are the
//! original WAREST's where it has one (1xxx sessions, 2xxx client errors, 8000 internal);
//! new ones are added here and nowhere else, so clients can rely on them.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::store::StoreError;

pub mod docs;
mod map;

/// Bytes as MiB, for quota messages that name a `*_MB` setting.
pub fn megabytes(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

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
    /// A dashboard request that changes state without its CSRF token (or from another origin).
    CsrfRejected = 2202,
    Conflict = 2300,
    RateLimited = 2400,
    /// `WAREST_LOGIN_MAX_CONCURRENT` password checks are running; retry shortly.
    LoginBusy = 2402,
    /// `WAREST_SSE_MAX_PER_KEY` event streams are open for the key; close one first.
    StreamLimit = 2403,
    /// The user owns `WAREST_TENANT_MAX_SESSIONS` sessions; delete one first.
    SessionLimit = 2404,
    /// The user's unexpired generated files (`output: url`) hold
    /// `WAREST_TENANT_GENERATED_MAX_MB`; space frees as their links expire.
    GeneratedQuota = 2405,
    /// The sends waiting in the user's queues hold `WAREST_TENANT_QUEUED_MAX_MB`; space
    /// frees as they are sent.
    QueuedBytesQuota = 2406,
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
    /// A stored message whose content cannot be sent again (media of received messages is not kept).
    ForwardUnsupported = 3020,
    /// Edit or revoke of a message someone else sent.
    MessageNotYours = 3100,
    /// The 15-minute edit window has passed.
    EditWindowExpired = 3101,
    /// Star/unstar/delete-for-me need app-state keys the phone has not shared yet.
    AppStateKeysMissing = 3102,
    /// WhatsApp or the connection refused a message operation.
    MessageActionFailed = 3103,
    /// The session is linked but not connected right now.
    SessionNotConnected = 3104,
    /// A conversion needs ffmpeg and none is installed (or WAREST_FFMPEG_PATH is wrong).
    MediaConverterMissing = 3014,
    /// The media could not be read or converted (not a real image/audio/GIF).
    MediaConversionFailed = 3015,
    /// ffmpeg ran past WAREST_FFMPEG_TIMEOUT_MS and was killed.
    MediaConversionTimeout = 3016,
    /// A signed media link whose `exp` has passed.
    MediaLinkExpired = 3150,
    /// A media link with a missing, malformed or wrong signature.
    MediaLinkInvalid = 3151,
    /// Received media not (yet) downloaded, or not kept.
    MediaNotStored = 3152,
    /// A WhatsApp media blob that does not decrypt with the given key (wrong key, type or
    /// damaged data).
    MediaDecryptFailed = 3153,
    /// A poll vote that does not decrypt (wrong secret, ids or voter).
    PollVoteDecryptFailed = 3154,
    /// Groups (4100-4149).
    GroupNotFound = 4100,
    GroupForbidden = 4101,
    GroupInviteInvalid = 4103,
    GroupConflict = 4104,
    GroupRequestFailed = 4106,
    /// WhatsApp answered a profile/contact/lookup request with an error, or not at all.
    WaRequestFailed = 4200,
    /// WhatsApp refused or failed a chat action.
    ChatActionFailed = 4001,
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
            Forbidden | CsrfRejected | SessionLimit => StatusCode::FORBIDDEN,
            SessionNotFound | NotFound | MessageNotFound => StatusCode::NOT_FOUND,
            OutboundQueueFull | SpamCooldown | QuotaExceeded | GeneratedQuota | QueuedBytesQuota => {
                StatusCode::TOO_MANY_REQUESTS
            }
            IdempotencyKeyReused | SessionNotLinked => StatusCode::CONFLICT,
            ChatActionFailed => StatusCode::BAD_GATEWAY,
            MediaUnsupported => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            MediaTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            MediaFetchFailed | ForwardUnsupported => StatusCode::UNPROCESSABLE_ENTITY,
            // A well-formed URL the SSRF policy refuses: forbidden, not malformed.
            MediaUrlForbidden => StatusCode::FORBIDDEN,
            MessageNotYours => StatusCode::FORBIDDEN,
            EditWindowExpired => StatusCode::UNPROCESSABLE_ENTITY,
            AppStateKeysMissing | SessionNotConnected => StatusCode::CONFLICT,
            MessageActionFailed => StatusCode::BAD_GATEWAY,
            MediaConverterMissing => StatusCode::SERVICE_UNAVAILABLE,
            MediaConversionFailed | MediaConversionTimeout => StatusCode::UNPROCESSABLE_ENTITY,
            MediaLinkExpired | MediaLinkInvalid => StatusCode::FORBIDDEN,
            MediaNotStored => StatusCode::NOT_FOUND,
            MediaDecryptFailed | PollVoteDecryptFailed => StatusCode::UNPROCESSABLE_ENTITY,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Conflict => StatusCode::CONFLICT,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            RateLimited | LoginBusy | StreamLimit => StatusCode::TOO_MANY_REQUESTS,
            GroupNotFound => StatusCode::NOT_FOUND,
            GroupForbidden => StatusCode::FORBIDDEN,
            GroupInviteInvalid => StatusCode::GONE,
            GroupConflict => StatusCode::CONFLICT,
            GroupRequestFailed => StatusCode::BAD_GATEWAY,
            NotReady => StatusCode::SERVICE_UNAVAILABLE,
            WaRequestFailed => StatusCode::BAD_GATEWAY,
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
