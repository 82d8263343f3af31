//! Group settings: subject, description, locked (who edits info), announcement (who sends),
//! the disappearing-message timer, join approval, and the picture.

use whatsapp_rust::features::{
    ContactError, GroupDescription, GroupSubject, MembershipApprovalMode, PreviousDescription,
};
use whatsapp_rust::wacore::iq::groups::{GROUP_DESCRIPTION_MAX_LENGTH, GROUP_SUBJECT_MAX_LENGTH};

use super::{GroupError, GroupId};
use crate::sessions::live::LiveSession;

/// Timers WhatsApp offers (seconds): off, 24 hours, 7 days, 90 days.
pub const EPHEMERAL_CHOICES: [u32; 4] = [0, 86_400, 604_800, 7_776_000];

/// Largest group picture accepted (WhatsApp's are 640x640 JPEGs, far smaller).
pub const MAX_PICTURE_BYTES: usize = 2 * 1024 * 1024;

/// A group subject: 1–100 characters (WhatsApp's limit).
pub struct Subject(GroupSubject);

impl Subject {
    pub fn parse(field: &str, raw: &str) -> Result<Subject, GroupError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(GroupError::invalid(field, "must not be empty"));
        }
        GroupSubject::new(s)
            .map(Subject)
            .map_err(|_| GroupError::invalid(field, format!("must be at most {GROUP_SUBJECT_MAX_LENGTH} characters")))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

pub async fn set_subject(live: &LiveSession, group: &GroupId, subject: Subject) -> Result<(), GroupError> {
    Ok(live.client.groups().set_subject(group.jid().clone(), subject.0).await?)
}

/// Sets the description, or removes it when `text` is empty (after trimming).
pub async fn description(live: &LiveSession, group: &GroupId, text: &str) -> Result<(), GroupError> {
    let text = text.trim();
    let description = if text.is_empty() {
        None
    } else {
        Some(GroupDescription::new(text).map_err(|_| {
            GroupError::invalid(
                "groupDescription",
                format!("must be at most {GROUP_DESCRIPTION_MAX_LENGTH} characters"),
            )
        })?)
    };
    live.client.groups().set_description(group.jid().clone(), description, PreviousDescription::Resolve).await?;
    Ok(())
}

pub async fn set_locked(live: &LiveSession, group: &GroupId, locked: bool) -> Result<(), GroupError> {
    Ok(live.client.groups().set_locked(group.jid().clone(), locked).await?)
}

pub async fn set_announcement(live: &LiveSession, group: &GroupId, on: bool) -> Result<(), GroupError> {
    Ok(live.client.groups().set_announce(group.jid().clone(), on).await?)
}

/// Sets the disappearing-message timer; only [`EPHEMERAL_CHOICES`] are accepted.
pub async fn set_ephemeral(live: &LiveSession, group: &GroupId, seconds: u32) -> Result<(), GroupError> {
    if !EPHEMERAL_CHOICES.contains(&seconds) {
        return Err(GroupError::invalid("expiration", "must be 0, 86400, 604800 or 7776000 seconds"));
    }
    Ok(live.client.groups().set_ephemeral(group.jid().clone(), seconds).await?)
}

pub async fn set_join_approval(live: &LiveSession, group: &GroupId, on: bool) -> Result<(), GroupError> {
    let mode = if on { MembershipApprovalMode::On } else { MembershipApprovalMode::Off };
    Ok(live.client.groups().set_membership_approval(group.jid().clone(), mode).await?)
}

/// A group picture as WhatsApp names it.
pub struct Picture {
    /// Full-size picture URL (absent right after setting one).
    pub url: Option<String>,
    pub id: String,
}

/// The group's picture, or `None` when it has none.
pub async fn picture(live: &LiveSession, group: &GroupId) -> Result<Option<Picture>, GroupError> {
    let picture = live.client.contacts().get_profile_picture(group.jid(), false).await.map_err(|e| match e {
        ContactError::Iq(iq) => GroupError::from(whatsapp_rust::features::GroupError::from(iq)),
        other => GroupError::Refused(other.to_string()),
    })?;
    Ok(picture.map(|p| Picture { url: Some(p.url), id: p.id }))
}

/// Sets the group picture: a JPEG of at most [`MAX_PICTURE_BYTES`], sent as given.
pub async fn set_picture(live: &LiveSession, group: &GroupId, jpeg: Vec<u8>) -> Result<Picture, GroupError> {
    if jpeg.len() > MAX_PICTURE_BYTES || crate::outbound::fetch::sniff(&jpeg) != Some("image/jpeg") {
        return Err(GroupError::invalid("picture", "must be a JPEG image of at most 2 MiB"));
    }
    let set = live.client.groups().set_profile_picture(group.jid().clone(), jpeg).await?;
    Ok(Picture { url: None, id: set.id })
}

pub async fn remove_picture(live: &LiveSession, group: &GroupId) -> Result<(), GroupError> {
    live.client.groups().remove_profile_picture(group.jid().clone()).await?;
    Ok(())
}
