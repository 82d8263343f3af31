//! Group membership changes: add, remove, promote, demote (admins only) and
//! leave, each with its `w:gp2` notification.
//!
//! Answers follow the service: a non-admin gets an IQ error 403; an admin
//! gets one `<participant jid=… [error=…]/>` per requested user, where the
//! error codes are 404 (no such account, or not a member), 409 (already a
//! member), 406 (the creator cannot be removed or demoted; the group is full).
//! Only the accepted users appear in the notification, which goes to every
//! member before and after the change, so removed users learn it too.

use std::collections::BTreeSet;

use wacore_binary::builder::NodeBuilder;
use wacore_binary::{Jid, Node};

use crate::groups::{Actor, MAX_MEMBERS, member_group, notify, participant_nodes};
use crate::hub::State;
use crate::nodes::{attr, children, iq_error, iq_result, jid_attr};

/// Upper bound on users named in one request (client-controlled size).
const MAX_PER_REQUEST: usize = MAX_MEMBERS;

/// `<add|remove|promote|demote><participant jid=…/>…</…>` on group `gid`.
pub(crate) fn participants(st: &mut State, actor: &Actor, gid: &str, action: &Node, id: &str) -> Node {
    // Static names for the builder; `groups::handle` only routes these four.
    let tag: &'static str = match action.tag.as_ref() {
        "add" => "add",
        "remove" => "remove",
        "promote" => "promote",
        _ => "demote",
    };
    let group = match member_group(&mut st.groups, gid, &actor.phone) {
        Ok(g) => g,
        Err((code, text)) => return iq_error(id, code, text),
    };
    if !group.is_admin(&actor.phone) {
        return iq_error(id, 403, "forbidden");
    }
    let requested: Vec<&Node> = children(action).iter().filter(|c| c.tag == "participant").collect();
    if requested.is_empty() || requested.len() > MAX_PER_REQUEST {
        return iq_error(id, 400, "bad-request");
    }
    let before = group.members.clone();
    let mut accepted: Vec<String> = Vec::new();
    let mut answers: Vec<Node> = Vec::new();
    for p in requested {
        let Some(jid) = jid_attr(p, "jid") else {
            return iq_error(id, 400, "bad-request");
        };
        let phone = st.accounts.phone_of(&jid.to_non_ad());
        let error = match phone.as_deref() {
            None => Some("404"),
            Some(m) => apply(group, tag, m).err(),
        };
        if error.is_none()
            && let Some(m) = phone
        {
            accepted.push(m);
        }
        let mut b = NodeBuilder::new("participant").attr("jid", jid);
        if let Some(e) = error {
            b = b.attr("error", e);
        }
        answers.push(b.build());
    }
    if !accepted.is_empty() {
        let after = group.members.clone();
        let recipients: Vec<String> = before.into_iter().chain(after).collect();
        notify(st, gid, actor, &recipients, NodeBuilder::new(tag).children(participant_nodes(&accepted)).build());
    }
    iq_result(id, vec![NodeBuilder::new(tag).children(answers).build()])
}

/// Applies one change for `m`, or names the per-participant error.
fn apply(group: &mut crate::groups::Group, tag: &str, m: &str) -> Result<(), &'static str> {
    match tag {
        "add" if group.is_member(m) => Err("409"),
        "add" if group.members.len() >= MAX_MEMBERS => Err("406"),
        "add" => {
            group.members.push(m.to_string());
            Ok(())
        }
        _ if !group.is_member(m) => Err("404"),
        "remove" | "demote" if m == group.creator => Err("406"),
        "remove" => {
            group.members.retain(|x| x != m);
            group.admins.remove(m);
            Ok(())
        }
        "promote" => {
            if m != group.creator {
                group.admins.insert(m.to_string());
            }
            Ok(())
        }
        _ => {
            group.admins.remove(m);
            Ok(())
        }
    }
}

/// `<leave><group id=…/>…</leave>` (to `g.us`): the actor leaves each group it
/// is in, and the remaining members get `<remove>` naming the actor (the
/// notification's `participant` is the actor too, which is how clients tell a
/// leave from a removal). A group left without admins is kept as it is.
pub(crate) fn leave(st: &mut State, actor: &Actor, leave: &Node, id: &str) -> Node {
    let ids: BTreeSet<String> = children(leave)
        .iter()
        .filter_map(|g| attr(g, "id"))
        .map(|gid| gid.split('@').next().unwrap_or_default().to_string())
        .take(MAX_PER_REQUEST)
        .collect();
    let mut left = Vec::new();
    for gid in ids {
        if let Some(g) = st.groups.by_id.get_mut(&gid)
            && g.is_member(&actor.phone)
        {
            let before = g.members.clone();
            g.members.retain(|m| *m != actor.phone);
            g.admins.remove(&actor.phone);
            let me = vec![actor.phone.clone()];
            notify(st, &gid, actor, &before, NodeBuilder::new("remove").children(participant_nodes(&me)).build());
        }
        left.push(NodeBuilder::new("group").attr("id", Jid::group(gid.as_str())).build());
    }
    iq_result(id, vec![NodeBuilder::new("leave").children(left).build()])
}
