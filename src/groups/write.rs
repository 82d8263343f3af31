//! Group lifecycle: create, disband (remove the others, leave, forget the local rows),
//! leave, and join through an invite link.

use whatsapp_rust::Jid;
use whatsapp_rust::features::{GroupCreateOptions, GroupParticipant, GroupParticipantOptions, JoinGroupResult};

use super::read::InviteCode;
use super::settings::Subject;
use super::{GroupError, GroupId, Members};
use crate::sessions::live::LiveSession;
use crate::store::Db;

/// A group WhatsApp made.
pub struct Created {
    pub group_id: String,
    pub subject: String,
    /// Participants WhatsApp put in the group (the creator included), as phone numbers.
    pub participants: Vec<String>,
}

/// Creates a group; the session becomes its super admin.
pub async fn create(live: &LiveSession, subject: Subject, members: Members) -> Result<Created, GroupError> {
    let options = GroupCreateOptions::builder()
        .subject(subject.as_str())
        .participants(members.0.into_iter().map(GroupParticipantOptions::from_phone).collect())
        .build();
    let meta = live.client.groups().create_group(options).await?.metadata;
    Ok(Created {
        group_id: meta.id.to_string(),
        participants: meta.participants.iter().map(|p| p.jid.user.to_string()).collect(),
        subject: meta.subject,
    })
}

/// What disbanding a group did.
pub struct Disbanded {
    /// Members removed before leaving.
    pub removed: Vec<String>,
    /// Members WhatsApp refused to remove, as `<jid>: <code>`.
    pub failed: Vec<String>,
    /// Stored messages of the group that were forgotten.
    pub forgotten_messages: u64,
}

/// Disbands a group (admins only): removes every other member, leaves, and forgets the
/// group's stored messages and chat row.
pub async fn disband(live: &LiveSession, db: &Db, group: &GroupId) -> Result<Disbanded, GroupError> {
    let groups = live.client.groups();
    let meta = groups.get_metadata(group.jid()).await?;
    let mine = meta.participants.iter().find(|p| participant_phone(p) == live.phone);
    if !mine.is_some_and(|p| p.is_admin()) {
        return Err(GroupError::Forbidden("Only a group admin can delete the group"));
    }
    let others: Vec<Jid> =
        meta.participants.iter().filter(|p| participant_phone(p) != live.phone).map(|p| p.jid.to_non_ad()).collect();
    let (mut removed, mut failed) = (Vec::new(), Vec::new());
    if !others.is_empty() {
        for r in groups.remove_participants(group.jid().clone(), &others).await? {
            match r.error {
                None => removed.push(r.jid.to_non_ad().to_string()),
                Some(code) => failed.push(format!("{}: {code}", r.jid.to_non_ad())),
            }
        }
    }
    groups.leave(group.jid().clone()).await?;
    let forgotten_messages = db.forget_chat(live.id(), &group.to_string()).await?;
    Ok(Disbanded { removed, failed, forgotten_messages })
}

fn participant_phone(p: &GroupParticipant) -> String {
    p.phone_number.as_ref().unwrap_or(&p.jid).user.to_string()
}

/// The session leaves the group; the other members are notified.
pub async fn leave(live: &LiveSession, group: &GroupId) -> Result<(), GroupError> {
    // Leaving a group one is not in is answered as a success by WhatsApp; ask first so
    // the caller learns the group id was wrong.
    live.client.groups().get_metadata(group.jid()).await?;
    live.client.groups().leave(group.jid().clone()).await?;
    Ok(())
}

/// The outcome of joining by link.
pub struct Joined {
    pub group_id: String,
    /// The group requires approval: the request waits for an admin.
    pub pending: bool,
}

pub async fn join(live: &LiveSession, code: &InviteCode) -> Result<Joined, GroupError> {
    let outcome = live.client.groups().join_with_invite_code(code.as_str()).await?;
    let pending = matches!(outcome, JoinGroupResult::PendingApproval(_));
    Ok(Joined { group_id: outcome.group_jid().to_string(), pending })
}
