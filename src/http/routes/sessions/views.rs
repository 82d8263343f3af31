//! Wire types and helpers shared by the session routes.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::http::error::{ApiError, ApiResult, Code};
use crate::sessions::actor::{SessionHandle, Snapshot};
use crate::sessions::status::Status;
use crate::store::sessions::{Me, SessionRow};

/// Words that are routes under `/api/v1/session/`: a session so named could not be
/// addressed as `/api/v1/session/{sessionId}`.
const RESERVED_IDS: &[&str] = &["create", "list", "delete", "logout", "reconnect", "devices"];

/// Session ids: 1–64 of `[A-Za-z0-9_-]`, chosen by the caller.
pub fn validate_session_id(id: &str) -> ApiResult<()> {
    let ok = (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !ok {
        return Err(ApiError::field("sessionId", "must be 1-64 characters of letters, digits, '_' or '-'"));
    }
    if RESERVED_IDS.contains(&id) {
        return Err(ApiError::field("sessionId", format!("{id:?} is reserved; choose another")));
    }
    Ok(())
}

/// `?sessionId=` (or its aliases `id`, `session`, as in the original).
#[derive(Deserialize, utoipa::IntoParams, Default)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct SessionQuery {
    /// The session id. Aliases: `id`, `session`.
    pub session_id: Option<String>,
    #[param(ignore)]
    pub id: Option<String>,
    #[param(ignore)]
    pub session: Option<String>,
}

impl SessionQuery {
    pub fn required(&self) -> ApiResult<String> {
        let id = [&self.session_id, &self.id, &self.session]
            .into_iter()
            .flatten()
            .map(|s| s.trim())
            .find(|s| !s.is_empty())
            .ok_or_else(|| {
                let mut e = ApiError::new(Code::SessionIdRequired, "sessionId is required");
                e.field = Some("sessionId".into());
                e
            })?;
        validate_session_id(id)?;
        Ok(id.to_string())
    }
}

#[derive(Serialize, ToSchema, Debug)]
#[serde(rename_all = "camelCase")]
pub struct MeView {
    /// Phone JID, e.g. `6281234567890@s.whatsapp.net`.
    pub id: Option<String>,
    pub lid: Option<String>,
    pub push_name: Option<String>,
    pub platform: Option<String>,
}

impl MeView {
    pub fn of(me: &Me) -> Option<MeView> {
        me.jid.as_ref()?;
        Some(MeView {
            id: me.jid.clone(),
            lid: me.lid.clone(),
            push_name: me.push_name.clone(),
            platform: me.platform.clone(),
        })
    }
}

/// A session as every session route shows it.
#[derive(Serialize, ToSchema, Debug)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    pub session_id: String,
    pub registry_user: String,
    pub label: Option<String>,
    pub status: Status,
    pub last_error: Option<String>,
    pub me: Option<MeView>,
    pub auto_start: bool,
    /// Free-form JSON map, stored and returned as given.
    #[schema(value_type = Object)]
    pub metadata: Value,
    pub webhook_url: Option<String>,
    /// Session flags (see `/session/{sessionId}/config`).
    #[schema(value_type = Object)]
    pub flags: Value,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_connected_at: Option<i64>,
    /// The session's proxy (its own, or the pool's it uses), password masked.
    pub proxy: Option<super::proxy::ProxyView>,
}

impl SessionView {
    pub fn of(row: &SessionRow, snap: &Snapshot) -> SessionView {
        SessionView {
            session_id: row.id.clone(),
            registry_user: row.registry.clone(),
            label: row.label.clone(),
            status: snap.status,
            last_error: snap.last_error.clone(),
            me: MeView::of(&snap.me),
            auto_start: row.auto_start,
            metadata: row.metadata.clone(),
            webhook_url: row.webhook_url.clone(),
            flags: row.flags.clone(),
            created_at: row.created_at,
            updated_at: row.updated_at,
            last_connected_at: row.last_connected_at,
            proxy: super::proxy::ProxyView::of(row, snap),
        }
    }
}

/// Waits until `done` holds for the session's state, or `timeout` passes; returns the
/// last state seen. Woken by state changes, never by polling.
pub async fn wait_for(handle: &SessionHandle, timeout: Duration, done: impl Fn(&Snapshot) -> bool) -> Snapshot {
    let mut rx = handle.watch();
    let _ = tokio::time::timeout(timeout, rx.wait_for(|s| done(s))).await;
    rx.borrow().clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_are_validated() {
        for ok in ["main", "a", "sales_2-b", &"x".repeat(64)] {
            assert!(validate_session_id(ok).is_ok(), "{ok}");
        }
        for bad in ["", "has space", "slash/", "ümlaut", &"x".repeat(65), "list", "create"] {
            assert_eq!(validate_session_id(bad).unwrap_err().field.as_deref(), Some("sessionId"), "{bad}");
        }
    }

    #[test]
    fn the_session_id_may_come_under_its_aliases() {
        let q = SessionQuery { id: Some("main".into()), ..Default::default() };
        assert_eq!(q.required().unwrap(), "main");
        let q = SessionQuery { session: Some(" s1 ".into()), ..Default::default() };
        assert_eq!(q.required().unwrap(), "s1");
        assert_eq!(SessionQuery::default().required().unwrap_err().code, Code::SessionIdRequired);
    }
}
