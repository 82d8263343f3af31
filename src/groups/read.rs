//! Group reads: the session's groups, one group's info and participants, its invite link,
//! its pending join requests, and an invite link's preview. Every answer is read from
//! WhatsApp at call time (nothing is served from a cache).

use serde::Serialize;
use utoipa::ToSchema;
use whatsapp_rust::Server;

use super::view::{GroupInfo, InvitePreview};
use super::{GroupError, GroupId, phone_of, user_jid};
use crate::sessions::live::LiveSession;

/// Longest invite link or code accepted.
pub const MAX_INVITE_LEN: usize = 200;
/// What [`InviteCode::parse`] accepts, for the OpenAPI document: a `chat.whatsapp.com`
/// link (query and fragment ignored) or the bare code of 1-64 letters and digits.
pub const INVITE_PATTERN: &str = r"^\s*(?:(?:https?://)?chat\.whatsapp\.com/)?[A-Za-z0-9]{1,64}/*(?:[?#][^\s]*)?\s*$";

/// The link WhatsApp shows for an invite code.
pub fn invite_link_of(code: &str) -> String {
    format!("https://chat.whatsapp.com/{code}")
}

/// The groups the session is a member of, by subject.
pub async fn list(live: &LiveSession) -> Result<Vec<GroupInfo>, GroupError> {
    let groups = live.client.groups().get_participating().await?;
    let mut data: Vec<GroupInfo> =
        groups.values().filter(|m| m.id.server == Server::Group).map(GroupInfo::of).collect();
    data.sort_by(|a, b| a.subject.cmp(&b.subject).then_with(|| a.id.cmp(&b.id)));
    Ok(data)
}

pub async fn info(live: &LiveSession, group: &GroupId) -> Result<GroupInfo, GroupError> {
    Ok(GroupInfo::of(&live.client.groups().get_metadata(group.jid()).await?))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Participant {
    /// The participant's JID as the group names it (phone or LID).
    pub id: String,
    /// Phone JID, when known.
    pub jid: Option<String>,
    pub lid: Option<String>,
    pub phone: Option<String>,
    pub is_me: bool,
    pub is_admin: bool,
    pub is_super_admin: bool,
    pub name: Option<String>,
}

pub async fn participants(live: &LiveSession, group: &GroupId) -> Result<Vec<Participant>, GroupError> {
    let meta = live.client.groups().get_metadata(group.jid()).await?;
    let list = meta
        .participants
        .iter()
        .map(|p| {
            let pn = p.phone_number.as_ref().or((p.jid.server == Server::Pn).then_some(&p.jid));
            let lid = p.lid.as_ref().or((p.jid.server == Server::Lid).then_some(&p.jid));
            let phone = pn.map(phone_of);
            Participant {
                id: user_jid(&p.jid),
                jid: pn.map(user_jid),
                lid: lid.map(user_jid),
                is_me: phone.as_deref() == Some(live.phone.as_str()),
                phone,
                is_admin: p.is_admin(),
                is_super_admin: p.is_super_admin(),
                name: p.username.as_ref().map(|u| u.to_string()),
            }
        })
        .collect();
    Ok(list)
}

/// The group's invite link (admins only); `reset` revokes the old one first.
pub async fn invite_link(live: &LiveSession, group: &GroupId, reset: bool) -> Result<String, GroupError> {
    let link = live.client.groups().get_invite_link(group.jid().clone(), reset).await?;
    // WhatsApp may answer with the bare code or the link; answer the link either way.
    Ok(invite_link_of(link.trim_start_matches("https://chat.whatsapp.com/")))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JoinRequest {
    pub jid: String,
    pub lid: Option<String>,
    pub phone: String,
    /// How the request was made (`invite_link`).
    pub request_method: String,
    /// Unix seconds.
    pub request_time: Option<u64>,
}

/// Requests to join waiting for an admin's approval (admins only).
pub async fn join_requests(live: &LiveSession, group: &GroupId) -> Result<Vec<JoinRequest>, GroupError> {
    let pending = live.client.groups().get_membership_requests(group.jid().clone()).await?;
    let list = pending
        .iter()
        .map(|r| JoinRequest {
            jid: user_jid(&r.jid),
            lid: (r.jid.server == Server::Lid).then(|| user_jid(&r.jid)),
            phone: phone_of(&r.jid),
            // whatsapp-rust 0.7 does not surface the method; links are the only way the
            // approval queue fills without community features.
            request_method: "invite_link".into(),
            request_time: r.request_time,
        })
        .collect();
    Ok(list)
}

/// The code of an invite link (`https://chat.whatsapp.com/<code>`) or a bare code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteCode(String);

impl InviteCode {
    pub fn parse(field: &str, raw: &str) -> Result<InviteCode, GroupError> {
        let raw = raw.trim();
        if raw.len() > MAX_INVITE_LEN {
            return Err(GroupError::invalid(field, format!("must be at most {MAX_INVITE_LEN} characters")));
        }
        let code = raw
            .strip_prefix("https://chat.whatsapp.com/")
            .or_else(|| raw.strip_prefix("http://chat.whatsapp.com/"))
            .or_else(|| raw.strip_prefix("chat.whatsapp.com/"))
            .unwrap_or(raw);
        let code = code.split(['?', '#']).next().unwrap_or_default().trim_end_matches('/');
        if code.is_empty() || code.len() > 64 || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(GroupError::invalid(field, "is not a WhatsApp invite link or code"));
        }
        Ok(InviteCode(code.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The group behind an invite link, without joining.
pub async fn preview_invite(live: &LiveSession, code: &InviteCode) -> Result<InvitePreview, GroupError> {
    let meta = live.client.groups().get_invite_info(code.as_str()).await?;
    Ok(InvitePreview::of(&meta, invite_link_of(code.as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invite_links_and_codes_give_the_code() {
        let ok = |raw: &str| InviteCode::parse("inviteLink", raw).unwrap().0;
        assert_eq!(ok("https://chat.whatsapp.com/AbC123"), "AbC123");
        assert_eq!(ok(" AbC123 "), "AbC123");
        assert_eq!(ok("chat.whatsapp.com/AbC123/?x=1"), "AbC123");
        for bad in ["", "https://chat.whatsapp.com/", "a b", "https://evil/../x", &"a".repeat(300)] {
            let e = InviteCode::parse("inviteLink", bad).unwrap_err();
            assert!(matches!(e, GroupError::Invalid { ref field, .. } if field == "inviteLink"), "{bad}");
        }
    }
}
