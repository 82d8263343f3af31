//! Group membership: add, remove, promote, demote, and approve or reject join requests
//! (admins only). WhatsApp answers each named participant separately, so a request can
//! partly succeed: every outcome lists each participant with its own status and code.

use serde::Serialize;
use utoipa::ToSchema;
use whatsapp_rust::Jid;
use whatsapp_rust::features::ParticipantChangeResponse;

use super::{GroupError, GroupId, Members};
use crate::sessions::live::LiveSession;

/// A membership change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Add,
    Remove,
    Promote,
    Demote,
    Approve,
    Reject,
}

impl Change {
    /// The status of a participant the change applied to.
    pub fn done(self) -> &'static str {
        match self {
            Change::Add => "added",
            Change::Remove => "removed",
            Change::Promote => "promoted",
            Change::Demote => "demoted",
            Change::Approve => "approved",
            Change::Reject => "rejected",
        }
    }
}

/// One participant's outcome.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ParticipantOutcome {
    /// Phone number (or LID user) as WhatsApp answered it.
    pub phone: String,
    pub jid: Option<String>,
    /// `added`, `removed`, `promoted`, `demoted`, `approved`, `rejected`, or `failed`.
    pub status: String,
    /// WhatsApp's per-participant error code when it failed (e.g. 404, 409, 403, 406).
    pub code: Option<u16>,
    /// What the code means.
    pub reason: Option<String>,
}

impl ParticipantOutcome {
    pub fn ok(&self) -> bool {
        self.code.is_none()
    }

    /// `<phone>: <code> <reason>` for a failed one.
    pub fn failure(&self) -> Option<String> {
        self.code.map(|c| format!("{}: {c} {}", self.phone, reason(c)))
    }
}

/// What a per-participant code means.
fn reason(code: u16) -> &'static str {
    match code {
        400 => "bad request",
        401 | 403 => "not allowed (the user's privacy settings or the session's rights)",
        404 => "not on WhatsApp, not a member, or no pending request",
        406 => "not acceptable (the group creator, or the group is full)",
        408 => "the user left recently and cannot be re-added yet",
        409 => "already a member",
        _ => "refused by WhatsApp",
    }
}

/// Applies `change` to each member; one outcome per member, in the order asked.
pub async fn change(
    live: &LiveSession,
    group: &GroupId,
    members: &Members,
    change: Change,
) -> Result<Vec<ParticipantOutcome>, GroupError> {
    let groups = live.client.groups();
    let (g, jids) = (group.jid().clone(), members.0.as_slice());
    let answers = match change {
        Change::Add => groups.add_participants(g, jids).await,
        Change::Remove => groups.remove_participants(g, jids).await,
        Change::Promote => groups.promote_participants(g, jids).await,
        Change::Demote => groups.demote_participants(g, jids).await,
        Change::Approve => groups.approve_membership_requests(g, jids).await,
        Change::Reject => groups.reject_membership_requests(g, jids).await,
    }?;
    Ok(jids.iter().map(|jid| outcome(jid, &answers, change)).collect())
}

fn outcome(jid: &Jid, answers: &[ParticipantChangeResponse], change: Change) -> ParticipantOutcome {
    let answer =
        answers.iter().find(|r| r.jid.user == jid.user || r.phone_number.as_ref().is_some_and(|p| p.user == jid.user));
    let (status, code) = match answer {
        Some(r) if r.is_ok() => (change.done().to_string(), None),
        Some(r) => ("failed".to_string(), Some(r.error.as_deref().and_then(|e| e.parse().ok()).unwrap_or(500))),
        // WhatsApp named no outcome for this participant: report it, do not guess success.
        None => ("failed".to_string(), Some(500)),
    };
    ParticipantOutcome {
        phone: jid.user.to_string(),
        jid: Some(jid.to_string()),
        status,
        reason: code.map(|c| reason(c).to_string()),
        code,
    }
}
