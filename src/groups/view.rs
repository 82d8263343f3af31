//! The spec's views of a group, made from whatsapp-rust's metadata.

use serde::Serialize;
use utoipa::ToSchema;
use whatsapp_rust::features::{GroupMetadata, MemberAddMode};

use super::{phone_of, user_jid};

/// The spec's `GroupInfo`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupInfo {
    pub id: String,
    /// `pn` or `lid`.
    pub addressing_mode: String,
    pub subject: String,
    pub subject_owner: Option<String>,
    pub subject_owner_jid: Option<String>,
    pub subject_time: Option<u64>,
    pub creation: Option<u64>,
    pub owner: Option<String>,
    pub owner_jid: Option<String>,
    #[serde(rename = "owner_country_code")]
    pub owner_country_code: Option<String>,
    pub desc: Option<String>,
    pub desc_id: Option<String>,
    pub desc_owner: Option<String>,
    pub desc_owner_jid: Option<String>,
    pub desc_time: Option<u64>,
    /// Only admins may edit the group's info.
    pub restrict: bool,
    /// Only admins may send messages.
    pub announce: bool,
    pub is_community: bool,
    pub is_community_announce: bool,
    pub join_approval_mode: bool,
    /// True when only admins may add members.
    pub member_add_mode: bool,
    pub participants_count: usize,
    /// Disappearing-message timer in seconds (0 = off).
    pub ephemeral_duration: u32,
}

impl GroupInfo {
    pub(super) fn of(m: &GroupMetadata) -> GroupInfo {
        let owner = m.creator_pn.as_ref().or(m.creator.as_ref());
        let subject_owner = m.subject_owner_pn.as_ref().or(m.subject_owner.as_ref());
        let desc_owner = m.description_owner_pn.as_ref().or(m.description_owner.as_ref());
        GroupInfo {
            id: m.id.to_string(),
            addressing_mode: format!("{:?}", m.addressing_mode).to_ascii_lowercase(),
            subject: m.subject.clone(),
            subject_owner: subject_owner.map(phone_of),
            subject_owner_jid: subject_owner.map(user_jid),
            subject_time: m.subject_time,
            creation: m.creation_time,
            owner: owner.map(phone_of),
            owner_jid: owner.map(user_jid),
            owner_country_code: m.creator_country_code.clone(),
            desc: m.description.clone(),
            desc_id: m.description_id.clone(),
            desc_owner: desc_owner.map(phone_of),
            desc_owner_jid: desc_owner.map(user_jid),
            desc_time: m.description_time,
            restrict: m.is_locked,
            announce: m.is_announcement,
            is_community: m.is_parent_group,
            is_community_announce: m.is_default_sub_group,
            join_approval_mode: m.membership_approval,
            member_add_mode: matches!(m.member_add_mode, Some(MemberAddMode::AdminAdd)),
            participants_count: size(m),
            ephemeral_duration: m.ephemeral.as_ref().and_then(|e| e.expiration).unwrap_or(0),
        }
    }
}

/// What an invite link shows before joining.
#[derive(Debug)]
pub struct InvitePreview {
    pub group_id: String,
    pub group_name: String,
    pub group_description: Option<String>,
    pub participants_count: usize,
    pub is_group_locked: bool,
    pub is_announcement: bool,
    pub is_ephemeral: bool,
    pub join_approval_mode: bool,
    pub invite_link: String,
}

impl InvitePreview {
    pub(super) fn of(m: &GroupMetadata, invite_link: String) -> InvitePreview {
        InvitePreview {
            group_id: m.id.to_string(),
            group_name: m.subject.clone(),
            group_description: m.description.clone(),
            participants_count: size(m),
            is_group_locked: m.is_locked,
            is_announcement: m.is_announcement,
            is_ephemeral: m.ephemeral.as_ref().and_then(|e| e.expiration).unwrap_or(0) > 0,
            join_approval_mode: m.membership_approval,
            invite_link,
        }
    }
}

/// The member count: the list when WhatsApp sent it, else the size it stated.
fn size(m: &GroupMetadata) -> usize {
    m.participants.len().max(m.size.unwrap_or(0) as usize)
}
