//! Membership approval: the group's "approve new members" switch, join requests
//! made through an invite link while it is on, and the admins' list, approve
//! and reject of those requests.
//!
//! Wire shapes (whatsapp-rust's `SetGroupMembershipApprovalIq`,
//! `AcceptGroupInviteIq`, `GetMembershipRequestsIq`, `MembershipRequestActionIq`):
//! `<membership_approval_mode><group_join state="on|off"/></…>` set by an admin,
//! announced to the members in the same shape and shown in the metadata. A
//! non-member joining by code while approval is on is answered
//! `<membership_approval_request jid=group/>` instead of `<group/>`, and the
//! admins get `<created_membership_requests request_method="invite_link">`
//! with a `<requested_user jid/>` (the requester's other devices get
//! `<membership_approval_request request_method="invite_link"/>`).
//! `<membership_approval_requests/>` lists the pending ones (admins only);
//! `<membership_requests_action><approve|reject><participant jid/>…` answers one
//! `<participant jid [error]/>` each (404: no pending request; 406: group full).
//! An approval adds the member (`<add>` to everyone, the new member included);
//! a rejection sends `<revoked_membership_requests>` to the admins and the
//! requester. Turning approval off leaves pending requests pending.

use serde::{Deserialize, Serialize};
use wacore_binary::builder::NodeBuilder;
use wacore_binary::{Jid, Node};

use crate::groups::{Actor, Group, MAX_MEMBERS, member_group, notify, participant_nodes};
use crate::hub::State;
use crate::nodes::{attr, children, iq_error, iq_result, jid_attr, now};

/// Pending requests kept per group; beyond this a new request is refused (the
/// list is client-driven, so it needs a bound).
const MAX_PENDING: usize = 1024;

/// A pending request to join.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct JoinRequest {
    pub phone: String,
    pub time: i64,
}

/// Routes the approval-related children of a `w:g2` IQ to group `gid`; `None`
/// when the IQ is about something else.
pub(crate) fn handle(st: &mut State, actor: &Actor, gid: &str, iq: &Node, id: &str) -> Option<Node> {
    if let Some(mode) = iq.get_optional_child("membership_approval_mode") {
        return Some(set_mode(st, actor, gid, mode, id));
    }
    if iq.get_optional_child("membership_approval_requests").is_some() {
        return Some(list(st, actor, gid, id));
    }
    if let Some(action) = iq.get_optional_child("membership_requests_action") {
        return Some(act(st, actor, gid, action, id));
    }
    None
}

/// The `<membership_approval_mode>` metadata child for a group with approval on.
pub(crate) fn mode_node(g: &Group) -> Option<Node> {
    g.membership_approval.then(|| mode("on"))
}

fn mode(state: &str) -> Node {
    NodeBuilder::new("membership_approval_mode")
        .children([NodeBuilder::new("group_join").attr("state", state).build()])
        .build()
}

fn admin_group<'a>(st: &'a mut State, actor: &Actor, gid: &str) -> Result<&'a mut Group, (u16, &'static str)> {
    let group = member_group(&mut st.groups, gid, &actor.phone)?;
    if !group.is_admin(&actor.phone) {
        return Err((403, "forbidden"));
    }
    Ok(group)
}

fn set_mode(st: &mut State, actor: &Actor, gid: &str, node: &Node, id: &str) -> Node {
    let state = node.get_optional_child("group_join").and_then(|j| attr(j, "state"));
    let on = match state.as_deref() {
        Some("on") => true,
        Some("off") => false,
        _ => return iq_error(id, 400, "bad-request"),
    };
    let group = match admin_group(st, actor, gid) {
        Ok(g) => g,
        Err((code, text)) => return iq_error(id, code, text),
    };
    group.membership_approval = on;
    let members = group.members.clone();
    notify(st, gid, actor, &members, mode(if on { "on" } else { "off" }));
    iq_result(id, vec![])
}

/// A join by invite code while approval is on: record the request, tell the
/// admins, and answer that approval is pending.
pub(crate) fn request(st: &mut State, actor: &Actor, gid: &str, id: &str) -> Node {
    let Some(group) = st.groups.by_id.get_mut(gid) else {
        return iq_error(id, 404, "item-not-found");
    };
    let pending = NodeBuilder::new("membership_approval_request").attr("jid", group.jid()).build();
    if group.join_requests.iter().any(|r| r.phone == actor.phone) {
        return iq_result(id, vec![pending]);
    }
    if group.join_requests.len() >= MAX_PENDING {
        return iq_error(id, 406, "not-acceptable");
    }
    group.join_requests.push(JoinRequest { phone: actor.phone.clone(), time: now() });
    let admins: Vec<String> = group.members.iter().filter(|m| group.is_admin(m)).cloned().collect();
    let created = NodeBuilder::new("created_membership_requests")
        .attr("request_method", "invite_link")
        .children([NodeBuilder::new("requested_user").attr("jid", Jid::pn(actor.phone.as_str())).build()])
        .build();
    notify(st, gid, actor, &admins, created);
    let own = NodeBuilder::new("membership_approval_request").attr("request_method", "invite_link").build();
    notify(st, gid, actor, std::slice::from_ref(&actor.phone), own);
    iq_result(id, vec![pending])
}

fn list(st: &mut State, actor: &Actor, gid: &str, id: &str) -> Node {
    let group = match admin_group(st, actor, gid) {
        Ok(g) => g,
        Err((code, text)) => return iq_error(id, code, text),
    };
    let items = group.join_requests.iter().map(|r| {
        NodeBuilder::new("membership_approval_request")
            .attr("jid", Jid::pn(r.phone.as_str()))
            .attr("request_method", "invite_link")
            .attr("request_time", r.time.to_string())
            .build()
    });
    iq_result(id, vec![NodeBuilder::new("membership_approval_requests").children(items).build()])
}

fn act(st: &mut State, actor: &Actor, gid: &str, action: &Node, id: &str) -> Node {
    let (tag, approve): (&'static str, bool) = if action.get_optional_child("approve").is_some() {
        ("approve", true)
    } else if action.get_optional_child("reject").is_some() {
        ("reject", false)
    } else {
        return iq_error(id, 400, "bad-request");
    };
    let named: Vec<Jid> = action
        .get_optional_child(tag)
        .map(children)
        .unwrap_or_default()
        .iter()
        .filter(|c| c.tag == "participant")
        .filter_map(|p| jid_attr(p, "jid"))
        .collect();
    if named.is_empty() || named.len() > MAX_MEMBERS {
        return iq_error(id, 400, "bad-request");
    }
    let phones: Vec<Option<String>> = named.iter().map(|j| st.accounts.phone_of(&j.to_non_ad())).collect();
    let group = match admin_group(st, actor, gid) {
        Ok(g) => g,
        Err((code, text)) => return iq_error(id, code, text),
    };
    let mut done: Vec<String> = Vec::new();
    let mut answers = Vec::new();
    for (jid, phone) in named.iter().zip(phones) {
        let pending = phone.filter(|p| group.join_requests.iter().any(|r| r.phone == *p));
        let error = match pending {
            None => Some("404"),
            Some(_) if approve && group.members.len() >= MAX_MEMBERS => Some("406"),
            Some(p) => {
                group.join_requests.retain(|r| r.phone != p);
                if approve {
                    group.members.push(p.clone());
                }
                done.push(p);
                None
            }
        };
        let mut b = NodeBuilder::new("participant").attr("jid", jid.clone());
        if let Some(e) = error {
            b = b.attr("error", e);
        }
        answers.push(b.build());
    }
    let members = group.members.clone();
    let admins: Vec<String> = members.iter().filter(|m| group.is_admin(m)).cloned().collect();
    if !done.is_empty() {
        if approve {
            notify(st, gid, actor, &members, NodeBuilder::new("add").children(participant_nodes(&done)).build());
        } else {
            let recipients: Vec<String> = admins.into_iter().chain(done.iter().cloned()).collect();
            let revoked = NodeBuilder::new("revoked_membership_requests").children(participant_nodes(&done)).build();
            notify(st, gid, actor, &recipients, revoked);
        }
    }
    let inner = NodeBuilder::new(tag).children(answers).build();
    iq_result(id, vec![NodeBuilder::new("membership_requests_action").children([inner]).build()])
}
