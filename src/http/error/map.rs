//! Every component error → its code and message. One `From` impl (or, where the answer
//! names the request field, one constructor) per component error, so a given failure has
//! one code on every route; causes worth logging were logged where the error arose.

use super::{ApiError, Code};
use crate::auth::LoginError;
use crate::chats::actions::ActionError;
use crate::contacts::ContactError;
use crate::groups::GroupError;
use crate::inbound::vote::VoteError;
use crate::media::decrypt::DecryptError;
use crate::media::fetch::MediaError;
use crate::media::ffmpeg::FfmpegError;
use crate::message_ops::OpError;
use crate::outbound::EnqueueError;
use crate::outbound::build_media::MediaFail;
use crate::outbound::guard::Rejection;
use crate::sessions::live::SessionError;
use crate::store::StoreError;
use crate::webhooks::stream::OpenError;

impl From<SessionError> for ApiError {
    fn from(err: SessionError) -> Self {
        let msg = err.to_string();
        match err {
            SessionError::NotFound => ApiError::new(Code::SessionNotFound, msg),
            SessionError::NotLinked => ApiError::new(Code::SessionNotLinked, msg),
            SessionError::NotConnected => ApiError::new(Code::SessionNotConnected, msg),
            SessionError::Store(e) => e.into(),
        }
    }
}

impl From<LoginError> for ApiError {
    fn from(err: LoginError) -> Self {
        match err {
            LoginError::Busy => {
                let mut e = ApiError::new(Code::LoginBusy, err.to_string());
                e.retry_after = Some(1);
                e
            }
            LoginError::Store(e) => e.into(),
        }
    }
}

impl From<OpenError> for ApiError {
    fn from(err: OpenError) -> Self {
        match err {
            OpenError::TooMany { .. } => ApiError::new(Code::StreamLimit, err.to_string()),
            OpenError::Store(e) => e.into(),
        }
    }
}

impl From<GroupError> for ApiError {
    fn from(err: GroupError) -> Self {
        let msg = err.to_string();
        match err {
            GroupError::Invalid { field, why } => ApiError::field(field, why),
            GroupError::NotFound => ApiError::new(Code::GroupNotFound, msg),
            GroupError::Forbidden(_) => ApiError::new(Code::GroupForbidden, msg),
            GroupError::InviteInvalid => ApiError::new(Code::GroupInviteInvalid, msg),
            GroupError::Conflict(_) => ApiError::new(Code::GroupConflict, msg),
            GroupError::Refused(_) => ApiError::new(Code::Validation, msg),
            GroupError::NotConnected => SessionError::NotConnected.into(),
            GroupError::Failed(_) => ApiError::new(Code::GroupRequestFailed, msg),
            GroupError::Store(e) => e.into(),
        }
    }
}

impl From<ContactError> for ApiError {
    fn from(err: ContactError) -> Self {
        match err {
            ContactError::Invalid { field, why } => ApiError::field(field, why),
            // The cause was logged where it happened.
            ContactError::Failed(_) => ApiError::new(Code::WaRequestFailed, err.to_string()),
            ContactError::Store(e) => e.into(),
        }
    }
}

impl From<ActionError> for ApiError {
    fn from(err: ActionError) -> Self {
        let msg = err.to_string();
        match err {
            ActionError::Invalid { field, why } => ApiError::field(field, why),
            ActionError::NoKeys => ApiError::new(Code::AppStateKeysMissing, msg),
            ActionError::MessageNotFound => ApiError::new(Code::MessageNotFound, msg),
            ActionError::Failed(_) => ApiError::new(Code::ChatActionFailed, msg),
            ActionError::Store(e) => e.into(),
        }
    }
}

impl From<OpError> for ApiError {
    fn from(e: OpError) -> Self {
        let msg = e.to_string();
        match e {
            OpError::NotFound => ApiError::new(Code::MessageNotFound, msg),
            OpError::NotYours(_) => ApiError::new(Code::MessageNotYours, msg),
            OpError::EditWindow => ApiError::new(Code::EditWindowExpired, msg),
            OpError::AppStateKeys => {
                let mut err = ApiError::new(Code::AppStateKeysMissing, msg);
                err.retry_after = Some(30);
                err
            }
            OpError::NotConnected => ApiError::new(Code::SessionNotConnected, msg),
            OpError::Invalid { field, why } => ApiError::field(field, why),
            OpError::Failed(_) => ApiError::new(Code::MessageActionFailed, msg),
            OpError::Store(s) => s.into(),
        }
    }
}

impl From<DecryptError> for ApiError {
    fn from(err: DecryptError) -> Self {
        match err {
            DecryptError::Invalid { field, why } => ApiError::field(field, why),
            DecryptError::Failed(why) => ApiError::new(Code::MediaDecryptFailed, why),
        }
    }
}

impl From<VoteError> for ApiError {
    fn from(err: VoteError) -> Self {
        let msg = err.to_string();
        match err {
            VoteError::Invalid { field, why } => ApiError::field(field, why),
            VoteError::UnknownPoll => ApiError::new(Code::NotFound, msg),
            VoteError::NotOpened => ApiError::new(Code::PollVoteDecryptFailed, msg),
            VoteError::Store(e) => e.into(),
        }
    }
}

impl From<EnqueueError> for ApiError {
    fn from(e: EnqueueError) -> Self {
        match e {
            EnqueueError::QueueFull { depth, max } => {
                let mut err = ApiError::new(
                    Code::OutboundQueueFull,
                    format!("the session's send queue is full ({depth} waiting, limit {max}); retry later"),
                );
                err.retry_after = Some(5);
                err
            }
            EnqueueError::Guarded(Rejection::Cooldown { recipient, retry_after_ms }) => {
                let secs = (retry_after_ms.max(0) as u64).div_ceil(1000).max(1);
                let mut err = ApiError::new(
                    Code::SpamCooldown,
                    format!("the same message was just sent to {recipient}; retry in {secs} s (SPAM_COOLDOWN_MS)"),
                );
                err.retry_after = Some(secs);
                err
            }
            EnqueueError::Guarded(Rejection::Quota { max, retry_after_ms }) => {
                let secs = (retry_after_ms.max(0) as u64).div_ceil(1000).max(1);
                let mut err = ApiError::new(
                    Code::QuotaExceeded,
                    format!(
                        "the session's send quota of {max} per window is used up; retry in {secs} s (QUOTA_MAX, QUOTA_WINDOW_MS)"
                    ),
                );
                err.retry_after = Some(secs);
                err
            }
            EnqueueError::TenantBytes { used, max } => {
                let mb = |b: i64| super::megabytes(b.max(0) as u64);
                let mut err = ApiError::new(
                    Code::QueuedBytesQuota,
                    format!(
                        "this user's waiting sends hold {:.1} MB and this one does not fit in the {:.0} MB of WAREST_TENANT_QUEUED_MAX_MB; retry when they are sent",
                        mb(used),
                        mb(max)
                    ),
                );
                err.retry_after = Some(5);
                err
            }
            EnqueueError::KeyReused => ApiError::new(
                Code::IdempotencyKeyReused,
                "this Idempotency-Key was already used with a different request within 24 hours",
            ),
            EnqueueError::Store(StoreError::Conflict(_)) => {
                ApiError::new(Code::Conflict, "message id collision; retry")
            }
            EnqueueError::Store(e) => e.into(),
        }
    }
}

/// Answers that name the request field they are about.
impl ApiError {
    /// Media named by `field` that could not be fetched or read.
    pub fn media(field: &str, e: MediaError) -> ApiError {
        let code = match &e {
            MediaError::Invalid(_) => Code::Validation,
            MediaError::Forbidden(_) => Code::MediaUrlForbidden,
            MediaError::TooLarge(_) => Code::MediaTooLarge,
            MediaError::Fetch(_) => Code::MediaFetchFailed,
        };
        ApiError { code, message: format!("{field}: {e}"), field: Some(field.to_string()), retry_after: None }
    }

    /// A file of a type `field` does not take.
    pub fn unsupported_media(field: &str, mimetype: Option<&str>, allowed: &str) -> ApiError {
        ApiError {
            code: Code::MediaUnsupported,
            message: format!("{field}: unsupported mimetype {} (allowed: {allowed})", mimetype.unwrap_or("unknown")),
            field: Some(field.to_string()),
            retry_after: None,
        }
    }

    /// A conversion of `field` that ffmpeg could not do.
    pub fn ffmpeg(field: &str, e: FfmpegError) -> ApiError {
        let code = match &e {
            FfmpegError::Missing(_) => Code::MediaConverterMissing,
            FfmpegError::Failed(_) => Code::MediaConversionFailed,
            FfmpegError::Timeout(_) => Code::MediaConversionTimeout,
        };
        ApiError { code, message: format!("{field}: {e}"), field: Some(field.to_string()), retry_after: None }
    }

    /// A file that cannot be sent as `field`'s kind.
    pub fn media_fail(field: &str, e: MediaFail) -> ApiError {
        match e {
            MediaFail::Unsupported { mimetype, allowed } => {
                ApiError::unsupported_media(field, Some(&mimetype), &allowed)
            }
            MediaFail::Ffmpeg(e) => ApiError::ffmpeg(field, e),
            MediaFail::Imaging(e) => ApiError {
                code: Code::MediaConversionFailed,
                message: format!("{field}: {e}"),
                field: Some(field.to_string()),
                retry_after: None,
            },
        }
    }

    /// An upload of `field` past its limit.
    pub fn too_large(field: String, what: &str, limit: usize) -> ApiError {
        ApiError {
            code: Code::MediaTooLarge,
            message: format!("{field}: {what} is larger than the {limit} byte limit"),
            field: Some(field),
            retry_after: None,
        }
    }
}
