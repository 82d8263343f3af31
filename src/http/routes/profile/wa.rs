//! Shared plumbing of the routes that ask WhatsApp something for a session (profile,
//! contacts, misc lookups): find the caller's session, require a connected client, turn
//! phone numbers into JIDs and WhatsApp's failures into stable codes.

use std::sync::Arc;

use whatsapp_rust::Client;
use whatsapp_rust::Jid;

use crate::app::AppState;
use crate::auth::Principal;
use crate::http::error::{ApiError, ApiResult, Code};
use crate::http::routes::sessions::views::load;
use crate::store::sessions::SessionRow;

/// At most this many numbers per lookup (`checkNumbers`): one request must not turn into
/// an unbounded usync query.
pub const MAX_NUMBERS: usize = 50;

/// The caller's session and its connected WhatsApp client.
pub async fn connected(state: &AppState, who: &Principal, session_id: &str) -> ApiResult<(SessionRow, Arc<Client>)> {
    let (row, handle) = load(state, who, session_id).await?;
    let client = handle
        .client()
        .filter(|_| row.me.jid.is_some())
        .ok_or_else(|| ApiError::new(Code::SessionNotLinked, "the session is not linked to a WhatsApp account yet"))?;
    if !client.is_connected() {
        return Err(ApiError::new(Code::SessionNotConnected, "the session is not connected to WhatsApp right now"));
    }
    Ok((row, client))
}

/// A WhatsApp call that failed: logged with its cause, reported without internals.
pub fn wa_failed(what: &str, err: impl std::fmt::Display) -> ApiError {
    tracing::warn!(error = %err, "whatsapp {what} failed");
    ApiError::new(Code::WaRequestFailed, format!("WhatsApp did not answer the {what} request"))
}

/// The phone part of a JID string (`628…@s.whatsapp.net` → `628…`).
pub fn phone_of(jid: &str) -> String {
    jid.split(['@', ':']).next().unwrap_or_default().to_string()
}

/// Parses one number or user JID (PN or LID) as `field` names it.
pub fn user_jid(state: &AppState, field: &str, raw: &str) -> ApiResult<Jid> {
    let country = state.config.outbound.default_country_code.as_deref();
    let r = crate::outbound::recipient::normalize(raw, country).map_err(|why| ApiError::field(field, why))?;
    if r.is_group() {
        return Err(ApiError::field(field, "must be a user, not a group"));
    }
    r.jid.parse::<Jid>().map_err(|_| ApiError::field(field, "is not a valid JID"))
}

/// Splits `checkNumbers` (comma separated), capped at [`MAX_NUMBERS`], duplicates dropped.
pub fn numbers(state: &AppState, raw: &str) -> ApiResult<Vec<Jid>> {
    let parts: Vec<&str> = raw.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    if parts.is_empty() {
        return Err(ApiError::field("checkNumbers", "at least one number is required"));
    }
    if parts.len() > MAX_NUMBERS {
        return Err(ApiError::field("checkNumbers", format!("at most {MAX_NUMBERS} numbers per request")));
    }
    let mut out: Vec<Jid> = Vec::with_capacity(parts.len());
    for (i, p) in parts.iter().enumerate() {
        let field = if parts.len() == 1 { "checkNumbers".to_string() } else { format!("checkNumbers[{i}]") };
        let jid = user_jid(state, &field, p)?;
        if !out.contains(&jid) {
            out.push(jid);
        }
    }
    Ok(out)
}
