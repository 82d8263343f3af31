//! Group helpers for virtual contacts: a test's contact creates a group, joins
//! or asks to join by link, lists a group's members as the server sees them,
//! and waits for the group notifications its client received.
//!
//! Everything goes through the contact's real whatsapp-rust client, so these
//! exercise the same IQs and notifications a phone would.

use std::time::Duration;

use anyhow::{Result, bail};
use wacore::types::events::Event;
use wacore_binary::Jid;
use whatsapp_rust::features::{GroupCreateOptions, GroupParticipantOptions};

use crate::harness::Sandbox;

/// A group member as a contact's client reads it from the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupMember {
    /// Phone number.
    pub phone: String,
    pub admin: bool,
    pub superadmin: bool,
}

/// What joining by link gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JoinOutcome {
    Joined(Jid),
    /// The group requires approval; the request waits for an admin.
    Pending(Jid),
}

/// One group notification a contact's client turned into an event.
#[derive(Clone, Debug)]
pub struct GroupNote {
    pub group: Jid,
    /// The action's wire tag (`subject`, `add`, `locked`, …), or `picture:set` /
    /// `picture:delete` for picture notifications.
    pub tag: String,
    /// Who made the change, when the notification says.
    pub author: Option<String>,
    /// The action as whatsapp-rust parsed it (Debug form), for content checks.
    pub detail: String,
}

fn note_of(event: &Event) -> Option<GroupNote> {
    match event {
        Event::GroupUpdate(u) => Some(GroupNote {
            group: u.group_jid.clone(),
            tag: u.action.tag_name().to_string(),
            author: u.participant.as_ref().map(|j| j.user.to_string()),
            detail: format!("{:?}", u.action),
        }),
        Event::PictureUpdate(p) => Some(GroupNote {
            group: p.jid.clone(),
            tag: if p.removed { "picture:delete".into() } else { "picture:set".into() },
            author: p.author.as_ref().map(|j| j.user.to_string()),
            detail: format!("{p:?}"),
        }),
        _ => None,
    }
}

impl Sandbox {
    /// The contact creates a group with `members` (phone numbers); returns its JID.
    pub async fn contact_create_group(&self, phone: &str, subject: &str, members: &[&str]) -> Result<Jid> {
        let client = self.contact_client(phone)?;
        let participants = members.iter().map(|m| GroupParticipantOptions::from_phone(Jid::pn(*m))).collect();
        let options = GroupCreateOptions::builder().subject(subject).participants(participants).build();
        Ok(client.groups().create_group(options).await?.metadata.id)
    }

    /// The contact joins by invite link or code; with approval on this is a request.
    pub async fn contact_join_via_link(&self, phone: &str, link: &str) -> Result<JoinOutcome> {
        let client = self.contact_client(phone)?;
        Ok(match client.groups().join_with_invite_code(link).await? {
            wacore::iq::groups::JoinGroupResult::Joined(j) => JoinOutcome::Joined(j),
            wacore::iq::groups::JoinGroupResult::PendingApproval(j) => JoinOutcome::Pending(j),
        })
    }

    /// The group's members as the server shows them to the contact (an error if it is
    /// not a member).
    pub async fn contact_group_members(&self, phone: &str, group: &Jid) -> Result<Vec<GroupMember>> {
        let client = self.contact_client(phone)?;
        let meta = client.groups().get_metadata(group).await?;
        Ok(meta
            .participants
            .iter()
            .map(|p| GroupMember { phone: p.jid.user.to_string(), admin: p.is_admin(), superadmin: p.is_super_admin() })
            .collect())
    }

    /// The groups the contact is in.
    pub async fn contact_groups(&self, phone: &str) -> Result<Vec<Jid>> {
        let client = self.contact_client(phone)?;
        Ok(client.groups().get_participating().await?.into_keys().collect())
    }

    /// A cursor into the contact's client events, for [`Sandbox::contact_wait_group_note`].
    pub fn contact_events_mark(&self, phone: &str) -> Result<usize> {
        Ok(self.contact(phone)?.client.events.mark())
    }

    /// Waits for a group notification about `group` with action `tag` that the
    /// contact's client received at or after event index `from`.
    pub async fn contact_wait_group_note(
        &self,
        phone: &str,
        from: usize,
        timeout: Duration,
        group: &Jid,
        tag: &str,
    ) -> Result<GroupNote> {
        let contact = self.contact(phone)?;
        let wanted = |e: &Event| note_of(e).is_some_and(|n| n.group.user == group.user && n.tag == tag);
        let event = contact.client.events.wait_for_after(from, timeout, wanted).await?;
        match note_of(&event) {
            Some(n) => Ok(n),
            None => bail!("matched event is not a group note"),
        }
    }

    /// Every group notification the contact's client received so far, oldest first.
    pub fn contact_group_notes(&self, phone: &str) -> Result<Vec<GroupNote>> {
        Ok(self.contact(phone)?.client.events.snapshot().iter().filter_map(|e| note_of(e)).collect())
    }
}
