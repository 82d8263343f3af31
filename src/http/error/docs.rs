//! The OpenAPI error responses, derived from the code registry.
//!
//! A route documents its errors as a list of [`Code`]s (`error_set!`); the HTTP status of
//! each response and its words come from [`Code::status`] and [`Code::summary`], the same
//! functions that render the answer at run time, so the document cannot restate a status
//! or a code wrongly.

use std::collections::BTreeMap;

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::{Ref, RefOr};

use super::Code;

/// Answers every route can give: a malformed request (extractors answer 400 before the
/// handler runs), no or a wrong key, a body over the limit, the key's rate limit, and an
/// internal error.
const ALWAYS: &[Code] =
    &[Code::Validation, Code::Unauthorized, Code::PayloadTooLarge, Code::RateLimited, Code::Internal];

impl Code {
    /// One line for the document: what the code means to a client.
    pub fn summary(self) -> &'static str {
        use Code::*;
        match self {
            Ok => "success",
            Created => "created",
            AlreadyPending => "already pending",
            SessionIdRequired => "sessionId is required",
            SessionNotFound => "no such session (or not the caller's)",
            SessionIdTaken => "the sessionId is taken",
            SessionAlreadyOpen => "the session is already open",
            SessionStarting => "the session is starting",
            ScanQr => "scan the QR code",
            SessionFailed => "the session failed to start",
            ReconnectScheduled => "a reconnect is scheduled",
            PairCodePending => "enter the pairing code on the phone",
            RequestFailed => "the request failed",
            Validation => "invalid input; `results[0].field` names the field",
            Unauthorized => "missing or invalid API key",
            Forbidden => "the key may not do this (admin only, or another tenant's resource)",
            CsrfRejected => "a dashboard form without its CSRF token",
            Conflict => "the resource already exists",
            RateLimited => "the API key's rate limit; see `Retry-After`",
            LoginBusy => "too many password checks at once (WAREST_LOGIN_MAX_CONCURRENT); see `Retry-After`",
            StreamLimit => "the key has WAREST_SSE_MAX_PER_KEY event streams open",
            SessionLimit => "the user owns WAREST_TENANT_MAX_SESSIONS sessions; delete one first",
            GeneratedQuota => "the user's generated files fill WAREST_TENANT_GENERATED_MAX_MB; see `Retry-After`",
            QueuedBytesQuota => "the user's waiting sends fill WAREST_TENANT_QUEUED_MAX_MB; see `Retry-After`",
            PayloadTooLarge => "the body is over WAREST_HTTP_BODY_LIMIT_MB",
            NotFound => "no such resource",
            MethodNotAllowed => "method not allowed",
            OutboundQueueFull => "the session's send queue is full; see `Retry-After`",
            IdempotencyKeyReused => "the Idempotency-Key was used for another request",
            SessionNotLinked => "the session is not linked yet (scan its QR first)",
            MessageNotFound => "no such message",
            SpamCooldown => "the same content to the same recipient again too soon",
            QuotaExceeded => "the session's send quota is used up",
            MediaUnsupported => "a file type or Content-Type the route does not take",
            MediaTooLarge => "a file over WAREST_MEDIA_MAX_MB",
            MediaFetchFailed => "the media URL could not be fetched",
            MediaUrlForbidden => "the media URL points at a private or local address",
            ForwardUnsupported => "a stored message whose content cannot be sent again",
            MessageNotYours => "edit or revoke of a message someone else sent",
            EditWindowExpired => "the 15-minute edit window has passed",
            AppStateKeysMissing => "the phone has not shared the app-state keys yet",
            MessageActionFailed => "WhatsApp refused the message operation",
            SessionNotConnected => "the session is linked but not connected now",
            MediaConverterMissing => "the conversion needs ffmpeg, which is not installed",
            MediaConversionFailed => "the media could not be read or converted",
            MediaConversionTimeout => "the conversion ran past WAREST_FFMPEG_TIMEOUT_MS",
            MediaLinkExpired => "the signed media link has expired",
            MediaLinkInvalid => "the media link's signature is missing or wrong",
            MediaNotStored => "the received media was not downloaded or not kept",
            MediaDecryptFailed => "the media does not decrypt with the given key",
            PollVoteDecryptFailed => "the poll vote does not decrypt",
            GroupNotFound => "no such group (or the session is not in it)",
            GroupForbidden => "the session is not a member or not an admin of the group",
            GroupInviteInvalid => "the invite link is revoked or unknown",
            GroupConflict => "the group changed meanwhile",
            GroupRequestFailed => "WhatsApp refused or did not answer the group request",
            WaRequestFailed => "WhatsApp refused or did not answer the request",
            ChatActionFailed => "WhatsApp refused or failed the chat action",
            NotReady => "not ready",
            Internal => "unexpected error (its cause is logged)",
        }
    }
}

/// The error responses of an operation that answers `codes` (plus [`ALWAYS`]), one per
/// HTTP status, each naming its codes.
pub fn responses_for(codes: &[Code]) -> BTreeMap<String, RefOr<Response>> {
    let mut by_status: BTreeMap<u16, Vec<Code>> = BTreeMap::new();
    for &code in ALWAYS.iter().chain(codes) {
        let list = by_status.entry(code.status().as_u16()).or_default();
        if !list.contains(&code) {
            list.push(code);
        }
    }
    by_status
        .into_iter()
        .map(|(status, codes)| {
            let words: Vec<String> = codes.iter().map(|c| format!("{} ({})", c.summary(), c.number())).collect();
            let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorEnvelope"))).build();
            let response =
                ResponseBuilder::new().description(capitalize(&words.join("; "))).content("application/json", content);
            (status.to_string(), RefOr::T(response.build()))
        })
        .collect()
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// Declares a route family's error answers by their codes:
/// `error_set!(pub GroupErrors = [SessionNotFound, GroupNotFound]);` is a type to list in
/// `#[utoipa::path(responses(..., GroupErrors))]`.
#[macro_export]
macro_rules! error_set {
    ($(#[$meta:meta])* $vis:vis $name:ident = [$($code:ident),* $(,)?]) => {
        $(#[$meta])*
        $vis struct $name;

        impl utoipa::IntoResponses for $name {
            fn responses() -> std::collections::BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::response::Response>> {
                $crate::http::error::docs::responses_for(&[$($crate::http::error::Code::$code),*])
            }
        }
    };
}
