//! Contacts and the session's own profile: the WhatsApp behaviour behind `/profile/*` and
//! `/misc/whatsapp/*` — push name, about, picture and privacy of the account; who is on
//! WhatsApp, business profiles, the contact list, the blocklist; and the offline
//! classification of numbers and JIDs. Typed errors ([`ContactError`]); no HTTP.

mod block;
mod identify;
mod list;
mod lookup;
mod privacy;
mod profile;

pub use block::{blocklist, set_blocked};
pub use identify::{Identified, resolve, validate_jid, validate_phone};
pub use list::{ListRequest, list};
pub use lookup::{business_profiles, on_whatsapp};
pub use privacy::{Privacy, PrivacyChange, privacy, set_privacy};
pub use profile::{PictureView, ProfileInfo, info, own_picture, remove_picture, set_info, set_picture};

use std::fmt;

use whatsapp_rust::Jid;

/// At most this many numbers per lookup (`checkNumbers`): one request must not turn into
/// an unbounded usync query.
pub const MAX_NUMBERS: usize = 50;

/// Why a contact or profile request was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ContactError {
    /// A request field is malformed; `field` names it as the caller wrote it.
    #[error("{field}: {why}")]
    Invalid { field: String, why: String },
    /// WhatsApp did not answer, or answered with an error (logged with its cause).
    #[error("WhatsApp did not answer the {0} request")]
    Failed(&'static str),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

impl ContactError {
    pub fn invalid(field: impl Into<String>, why: impl fmt::Display) -> Self {
        ContactError::Invalid { field: field.into(), why: why.to_string() }
    }
}

/// A WhatsApp call of `what` that failed: its cause is logged, the caller learns only
/// which request failed.
fn wa<E: fmt::Display>(what: &'static str) -> impl FnOnce(E) -> ContactError {
    move |err| {
        tracing::warn!(error = %err, "whatsapp {what} failed");
        ContactError::Failed(what)
    }
}

/// The phone part of a JID string (`628…@s.whatsapp.net` → `628…`).
pub fn phone_of(jid: &str) -> String {
    jid.split(['@', ':']).next().unwrap_or_default().to_string()
}

/// A user (phone or LID) JID, parsed from a number or JID as `field` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User(Jid);

impl User {
    pub fn parse(field: &str, raw: &str, country: Option<&str>) -> Result<User, ContactError> {
        let r = crate::outbound::recipient::normalize(raw, country).map_err(|why| ContactError::invalid(field, why))?;
        if r.is_group() {
            return Err(ContactError::invalid(field, "must be a user, not a group"));
        }
        r.jid.parse::<Jid>().map(User).map_err(|_| ContactError::invalid(field, "is not a valid JID"))
    }
}

impl fmt::Display for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// `checkNumbers` (comma separated): at most [`MAX_NUMBERS`], duplicates dropped.
pub fn numbers(raw: &str, country: Option<&str>) -> Result<Vec<User>, ContactError> {
    let parts: Vec<&str> = raw.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    if parts.is_empty() {
        return Err(ContactError::invalid("checkNumbers", "at least one number is required"));
    }
    if parts.len() > MAX_NUMBERS {
        return Err(ContactError::invalid("checkNumbers", format!("at most {MAX_NUMBERS} numbers per request")));
    }
    let mut out: Vec<User> = Vec::with_capacity(parts.len());
    for (i, p) in parts.iter().enumerate() {
        let field = if parts.len() == 1 { "checkNumbers".to_string() } else { format!("checkNumbers[{i}]") };
        let user = User::parse(&field, p, country)?;
        if !out.contains(&user) {
            out.push(user);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(e: ContactError) -> String {
        match e {
            ContactError::Invalid { field, .. } => field,
            other => panic!("{other}"),
        }
    }

    #[test]
    fn numbers_are_split_capped_and_named_by_position() {
        assert_eq!(numbers("15550001111, 15550001111", None).unwrap().len(), 1);
        assert_eq!(field(numbers(" , ", None).unwrap_err()), "checkNumbers");
        assert_eq!(field(numbers("15550001111,nope", None).unwrap_err()), "checkNumbers[1]");
        assert_eq!(field(numbers("1203630@g.us", None).unwrap_err()), "checkNumbers");
        let many = (0..=MAX_NUMBERS).map(|i| format!("1555{i:07}")).collect::<Vec<_>>().join(",");
        assert_eq!(field(numbers(&many, None).unwrap_err()), "checkNumbers");
    }
}
