//! The one way to reach a session on a caller's behalf: [`SessionManager::find`] (the
//! caller's session and its actor) and [`SessionManager::live`] (one linked to a WhatsApp
//! account with its socket open right now). Every route, the action runner and the
//! dashboard go through here, so "not found", "not linked" and "not connected" mean the
//! same thing, with the same code, everywhere.

use std::sync::Arc;

use whatsapp_rust::Client;

use super::actor::SessionHandle;
use super::manager::SessionManager;
use crate::store::StoreError;
use crate::store::sessions::{Scope, SessionRow};

/// Why a session cannot be used for what was asked.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// No such session, or another tenant's.
    #[error("Session not found")]
    NotFound,
    /// The session has never been linked to a WhatsApp account (or was logged out).
    #[error("the session is not linked to a WhatsApp account yet")]
    NotLinked,
    /// Linked, but its socket is not open right now (stopped, connecting, reconnecting).
    #[error("the session is not connected to WhatsApp right now")]
    NotConnected,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for SessionError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => SessionError::NotFound,
            e => SessionError::Store(e),
        }
    }
}

/// A session the caller may use, and its actor (spawned on first use).
pub struct Session {
    pub row: SessionRow,
    pub handle: SessionHandle,
}

impl Session {
    /// The linked account's JID (`<phone>@s.whatsapp.net`), or `NotLinked`.
    pub fn me(&self) -> Result<&str, SessionError> {
        self.row.me.jid.as_deref().ok_or(SessionError::NotLinked)
    }

    /// The session with its connected client, or why it has none.
    pub fn live(self) -> Result<LiveSession, SessionError> {
        let phone = phone_of(self.me()?);
        let client = self.handle.client().filter(|c| c.is_connected()).ok_or(SessionError::NotConnected)?;
        Ok(LiveSession { phone, client, row: self.row, handle: self.handle })
    }
}

/// A linked session whose client was connected when it was looked up.
pub struct LiveSession {
    pub row: SessionRow,
    pub handle: SessionHandle,
    pub client: Arc<Client>,
    /// The linked account's phone number (digits, no `+`).
    pub phone: String,
}

impl LiveSession {
    pub fn id(&self) -> &str {
        &self.row.id
    }
}

/// The user part of a JID string: `628…:3@s.whatsapp.net` → `628…`.
pub fn phone_of(jid: &str) -> String {
    jid.split(['@', ':']).next().unwrap_or_default().to_string()
}

impl SessionManager {
    /// The caller's session (another tenant's is `NotFound`) and its actor.
    pub async fn find(&self, scope: Scope<'_>, id: &str) -> Result<Session, SessionError> {
        let row = self.deps().db.get_session(scope, id).await?;
        let handle = self.handle(&row);
        Ok(Session { row, handle })
    }

    /// The caller's session, linked and connected.
    pub async fn live(&self, scope: Scope<'_>, id: &str) -> Result<LiveSession, SessionError> {
        self.find(scope, id).await?.live()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_phone_is_the_user_part_of_the_jid() {
        assert_eq!(phone_of("6281234:3@s.whatsapp.net"), "6281234");
        assert_eq!(phone_of("6281234@s.whatsapp.net"), "6281234");
        assert_eq!(phone_of(""), "");
    }
}
