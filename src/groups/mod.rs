//! Groups: the WhatsApp behaviour behind `/api/v1/groups` and `/api/v1/group/*`, on a
//! session's live client (whatsapp-rust's `Groups` feature). Parses group ids, invite codes,
//! subjects and participant lists, calls WhatsApp, and answers with the spec's views and a
//! typed [`GroupError`]. Owns no HTTP: the routes wrap these answers in the envelope.
//! Reads are in `read.rs`, lifecycle in `write.rs`, settings in `settings.rs`, membership
//! in `members.rs`.

mod members;
mod read;
mod settings;
mod view;
mod write;

pub use members::{Change, ParticipantOutcome, change};
pub use read::{
    INVITE_PATTERN, InviteCode, JoinRequest, MAX_INVITE_LEN, Participant, info, invite_link, invite_link_of,
    join_requests, list, participants, preview_invite,
};
pub use settings::{
    Description, EPHEMERAL_CHOICES, Jpeg, MAX_PICTURE_BYTES, Picture, Subject, Timer, description, picture,
    remove_picture, set_announcement, set_ephemeral, set_join_approval, set_locked, set_picture, set_subject,
};
pub use view::{GroupInfo, InvitePreview};
pub use write::{Created, Disbanded, Joined, create, disband, join, leave};

use std::fmt;

use whatsapp_rust::IqError;
use whatsapp_rust::Jid;
use whatsapp_rust::features::GroupError as WaGroupError;

use crate::outbound::recipient::normalize;

/// At most this many participants per request (WhatsApp's own group cap is 257).
pub const MAX_PARTICIPANTS: usize = 256;

/// Why a group request was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    /// A request field is malformed; `field` names it as the caller wrote it.
    #[error("{field}: {why}")]
    Invalid { field: String, why: String },
    #[error("Group not found")]
    NotFound,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("The invite link is invalid, revoked or the group is full")]
    InviteInvalid,
    #[error("{0}")]
    Conflict(&'static str),
    /// WhatsApp refused the request as malformed (the text says how).
    #[error("{0}")]
    Refused(String),
    #[error("the session is not connected to WhatsApp")]
    NotConnected,
    /// WhatsApp did not answer, or answered with an error of its own.
    #[error("{0}")]
    Failed(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

impl GroupError {
    pub fn invalid(field: impl Into<String>, why: impl fmt::Display) -> Self {
        GroupError::Invalid { field: field.into(), why: why.to_string() }
    }
}

impl From<WaGroupError> for GroupError {
    fn from(e: WaGroupError) -> Self {
        match e {
            WaGroupError::Iq(IqError::ServerError { code, text, .. }) => match code {
                404 => GroupError::NotFound,
                403 | 401 => GroupError::Forbidden("The session is not allowed to do this in the group"),
                406 | 410 => GroupError::InviteInvalid,
                409 => GroupError::Conflict("The group changed meanwhile; read it again and retry"),
                400 => GroupError::Refused(format!("WhatsApp refused the request as malformed ({text})")),
                _ => GroupError::Failed(format!("WhatsApp answered {code} ({text})")),
            },
            WaGroupError::Iq(IqError::NotConnected | IqError::Disconnected(_) | IqError::InternalChannelClosed) => {
                GroupError::NotConnected
            }
            WaGroupError::Iq(IqError::Timeout) => GroupError::Failed("WhatsApp did not answer in time".into()),
            WaGroupError::DescriptionConflict => {
                GroupError::Conflict("The description changed meanwhile; read it again and retry")
            }
            WaGroupError::InvalidRequest(why) => GroupError::Refused(why),
            other => {
                tracing::warn!(error = %other, "group request failed");
                GroupError::Failed("The group request failed".into())
            }
        }
    }
}

/// A group id: `<digits>` or `<digits>-<digits>`, with or without `@g.us`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupId(Jid);

/// What [`GroupId::parse`] accepts, for the OpenAPI document: the raw id (one or two
/// digit runs joined by `-`) with or without `@g.us`.
pub const GROUP_ID_PATTERN: &str = r"^\s*[0-9]{1,32}(?:-[0-9]{1,32})?(?:@g\.us)?\s*$";

impl GroupId {
    /// Parses a group id as `field` names it.
    pub fn parse(field: &str, raw: &str) -> Result<GroupId, GroupError> {
        let raw = raw.trim();
        let user = match raw.split_once('@') {
            Some((user, "g.us")) => user,
            Some(_) => return Err(GroupError::invalid(field, "must be a group id ending with @g.us")),
            None => raw,
        };
        let digits = |s: &str| !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_digit());
        if user.split('-').count() > 2 || !user.split('-').all(digits) {
            return Err(GroupError::invalid(field, format!("{raw:?} is not a group id")));
        }
        Ok(GroupId(Jid::group(user)))
    }

    pub(crate) fn jid(&self) -> &Jid {
        &self.0
    }
}

impl fmt::Display for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Users named in a request (phone numbers or user JIDs), deduplicated; errors name
/// `participants` or `participants[i]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Members(Vec<Jid>);

impl Members {
    pub fn parse(items: &[String], country: Option<&str>) -> Result<Members, GroupError> {
        if items.is_empty() {
            return Err(GroupError::invalid("participants", "at least one participant is required"));
        }
        Self::parse_any(items, country)
    }

    /// As [`Members::parse`], but an empty list is allowed (a group created alone).
    pub fn parse_any(items: &[String], country: Option<&str>) -> Result<Members, GroupError> {
        if items.len() > MAX_PARTICIPANTS {
            return Err(GroupError::invalid("participants", format!("at most {MAX_PARTICIPANTS} participants")));
        }
        let mut out: Vec<Jid> = Vec::with_capacity(items.len());
        for (i, raw) in items.iter().enumerate() {
            let field = format!("participants[{i}]");
            let r = normalize(raw, country).map_err(|why| GroupError::invalid(&field, why))?;
            let jid = match r.jid.rsplit_once('@') {
                Some((user, "s.whatsapp.net")) => Jid::pn(user),
                Some((user, "lid")) => Jid::lid(user),
                _ => return Err(GroupError::invalid(&field, "must be a phone number or user JID, not a group")),
            };
            if !out.contains(&jid) {
                out.push(jid);
            }
        }
        Ok(Members(out))
    }
}

/// A user JID without device, server and `@`: the spec's `phone`.
fn phone_of(jid: &Jid) -> String {
    jid.user.to_string()
}

/// A user JID (`s.whatsapp.net` or `lid`) as a string without device.
fn user_jid(jid: &Jid) -> String {
    jid.to_non_ad().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whatsapp_answers_map_to_group_errors() {
        let server = |code: u16| {
            WaGroupError::Iq(IqError::ServerError { code, text: "x".into(), error_type: None, backoff: None })
        };
        let of = |e: WaGroupError| GroupError::from(e);
        assert!(matches!(of(server(404)), GroupError::NotFound));
        assert!(matches!(of(server(403)), GroupError::Forbidden(_)));
        assert!(matches!(of(server(410)), GroupError::InviteInvalid));
        assert!(matches!(of(server(406)), GroupError::InviteInvalid));
        assert!(matches!(of(server(409)), GroupError::Conflict(_)));
        assert!(matches!(of(server(400)), GroupError::Refused(_)));
        assert!(matches!(of(server(500)), GroupError::Failed(_)));
        assert!(matches!(of(WaGroupError::Iq(IqError::Timeout)), GroupError::Failed(_)));
        assert!(matches!(of(WaGroupError::Iq(IqError::NotConnected)), GroupError::NotConnected));
        assert!(matches!(of(WaGroupError::DescriptionConflict), GroupError::Conflict(_)));
    }

    #[test]
    fn group_ids_are_parsed_or_named_as_the_bad_field() {
        let ok = |raw: &str| GroupId::parse("groupId", raw).unwrap().to_string();
        assert_eq!(ok("120363111"), "120363111@g.us");
        assert_eq!(ok(" 120363111@g.us "), "120363111@g.us");
        assert_eq!(ok("15551234-1690000000"), "15551234-1690000000@g.us");
        for bad in ["", "abc", "123@s.whatsapp.net", "1-2-3", "12 3", &"9".repeat(40), "@g.us"] {
            let e = GroupId::parse("groupId", bad).unwrap_err();
            assert!(matches!(e, GroupError::Invalid { ref field, .. } if field == "groupId"), "{bad}");
        }
    }

    #[test]
    fn participants_are_validated_by_position() {
        let field = |items: &[&str]| {
            let v: Vec<String> = items.iter().map(|s| s.to_string()).collect();
            match Members::parse(&v, None).unwrap_err() {
                GroupError::Invalid { field, .. } => field,
                other => panic!("{other}"),
            }
        };
        assert_eq!(field(&[]), "participants");
        assert_eq!(field(&["15550001111", "nope"]), "participants[1]");
        assert_eq!(field(&["120363@g.us"]), "participants[0]");
        let many: Vec<String> = (0..=MAX_PARTICIPANTS).map(|i| format!("1555{i:07}")).collect();
        assert!(
            matches!(Members::parse(&many, None), Err(GroupError::Invalid { field, .. }) if field == "participants")
        );
        let ok = Members::parse(&["+1 555 000 1111".into(), "15550001111@s.whatsapp.net".into()], None).unwrap();
        assert_eq!(ok, Members(vec![Jid::pn("15550001111")]));
    }
}
