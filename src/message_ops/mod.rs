//! Message operations: react/unreact, revoke, edit, delete-for-me, star/unstar, mark as
//! read, chat states (typing/recording/paused) and presence — thin typed calls into
//! whatsapp-rust, shared by the `/messages/{id}/action/*` routes and the webhook action
//! runner. A message is found by id in the message store (received messages) or the send
//! queue's records (messages this gateway sent) to learn its chat, sender and `fromMe`.
//!
//! Owns the rules WhatsApp applies before it accepts an operation (only your own messages
//! can be edited or revoked, the edit window) and the mapping of whatsapp-rust's errors to
//! [`OpError`]; does not parse HTTP and does not queue sends.

mod ops;

pub use crate::messages::MsgRef;
pub use ops::{ChatState, chat_state, delete_for_me, edit, mark_read, presence, react, revoke, star};

use whatsapp_rust::AppStateError;

/// WhatsApp accepts edits of a message for 15 minutes after it was sent.
pub const EDIT_WINDOW_MS: i64 = 15 * 60 * 1000;

/// Why an operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    #[error("no message with this id in the session's chats")]
    NotFound,
    /// Edit and revoke apply to messages this account sent.
    #[error("only messages sent by this session can be {0}")]
    NotYours(&'static str),
    #[error("the message is older than the 15-minute edit window")]
    EditWindow,
    /// App-state mutations (star, delete for me) are encrypted with keys the phone shares
    /// after linking; until it has, WhatsApp cannot be told.
    #[error("the phone has not shared its app-state keys with this session yet; retry later")]
    AppStateKeys,
    #[error("the session is not connected to WhatsApp")]
    NotConnected,
    #[error("{field}: {why}")]
    Invalid { field: &'static str, why: String },
    /// WhatsApp or the connection refused it (the text is whatsapp-rust's, without secrets).
    #[error("the operation failed: {0}")]
    Failed(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

impl OpError {
    pub fn invalid(field: &'static str, why: impl Into<String>) -> Self {
        OpError::Invalid { field, why: why.into() }
    }
}

impl From<AppStateError> for OpError {
    fn from(e: AppStateError) -> Self {
        match &e {
            AppStateError::InvalidRequest(m) if m.contains("sync key") => OpError::AppStateKeys,
            AppStateError::Internal(inner) => {
                let missing = inner.chain().any(|c| {
                    matches!(
                        c.downcast_ref::<whatsapp_rust::wacore::appstate_sync::AppStateSyncError>(),
                        Some(whatsapp_rust::wacore::appstate_sync::AppStateSyncError::KeyNotFound(_))
                    )
                }) || inner.to_string().contains("app state key not found");
                if missing { OpError::AppStateKeys } else { OpError::Failed(e.to_string()) }
            }
            _ => OpError::Failed(e.to_string()),
        }
    }
}

impl From<whatsapp_rust::SendError> for OpError {
    fn from(e: whatsapp_rust::SendError) -> Self {
        match e {
            whatsapp_rust::SendError::NotLoggedIn => OpError::NotConnected,
            e => OpError::Failed(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_app_state_keys_are_their_own_error() {
        let none = AppStateError::InvalidRequest("no app state sync key available".into());
        assert!(matches!(OpError::from(none), OpError::AppStateKeys));
        let sync = whatsapp_rust::wacore::appstate_sync::AppStateSyncError::KeyNotFound("AAAA".into());
        assert!(matches!(OpError::from(AppStateError::Internal(sync.into())), OpError::AppStateKeys));
        let other = AppStateError::Internal(anyhow::anyhow!("socket closed"));
        assert!(matches!(OpError::from(other), OpError::Failed(_)));
        assert!(matches!(OpError::from(whatsapp_rust::SendError::NotLoggedIn), OpError::NotConnected));
    }
}
