//! Group invite links: get or reset a group's code (admins only), look a code
//! up, and join by code.
//!
//! Wire shapes (whatsapp-rust's `GetGroupInviteLinkIq`, `GetGroupInviteInfoIq`,
//! `AcceptGroupInviteIq`): `<invite/>` to the group, `get` to read the code
//! (made on first use) or `set` to revoke it and make a new one, answered
//! `<invite code=…/>`; `<invite code=…/>` to `g.us`, `get` for the group's
//! metadata, `set` to join, answered `<group jid=…/>`. A revoked code answers
//! 410 (gone), an unknown one 406. Joining sends the members
//! `<add reason="invite">` naming the joiner. While the group requires
//! approval, a non-member's join becomes a request (`group_requests.rs`).

use wacore_binary::Node;
use wacore_binary::builder::NodeBuilder;

use crate::groups::{Actor, MAX_MEMBERS, group_node, member_group, notify, participant_nodes};
use crate::hub::State;
use crate::nodes::{attr, iq_error, iq_result};

/// Revoked codes remembered per group (older ones then count as unknown).
const REVOKED_KEPT: usize = 16;
/// Codes are never longer than this; longer input is refused unread.
const MAX_CODE_LEN: usize = 64;

pub(crate) fn handle(st: &mut State, actor: &Actor, gid: &str, invite: &Node, typ: &str, id: &str) -> Node {
    match attr(invite, "code") {
        Some(code) => by_code(st, actor, &code, typ, id),
        None => link(st, actor, gid, typ == "set", id),
    }
}

fn link(st: &mut State, actor: &Actor, gid: &str, reset: bool, id: &str) -> Node {
    let group = match member_group(&mut st.groups, gid, &actor.phone) {
        Ok(g) => g,
        Err((code, text)) => return iq_error(id, code, text),
    };
    if !group.is_admin(&actor.phone) {
        return iq_error(id, 403, "forbidden");
    }
    if reset && let Some(old) = group.invite_code.take() {
        group.revoked_invites.push(old);
        let excess = group.revoked_invites.len().saturating_sub(REVOKED_KEPT);
        group.revoked_invites.drain(..excess);
    }
    let code = group.invite_code.get_or_insert_with(new_code).clone();
    iq_result(id, vec![NodeBuilder::new("invite").attr("code", code).build()])
}

fn by_code(st: &mut State, actor: &Actor, code: &str, typ: &str, id: &str) -> Node {
    if code.len() > MAX_CODE_LEN {
        return iq_error(id, 400, "bad-request");
    }
    let found = st.groups.by_id.values_mut().find(|g| g.invite_code.as_deref() == Some(code));
    let Some(group) = found else {
        let revoked = st.groups.by_id.values().any(|g| g.revoked_invites.iter().any(|c| c == code));
        return if revoked { iq_error(id, 410, "gone") } else { iq_error(id, 406, "not-acceptable") };
    };
    if typ != "set" {
        return iq_result(id, vec![group_node(group)]);
    }
    if group.membership_approval && !group.is_member(&actor.phone) {
        let gid = group.id.clone();
        return crate::group_requests::request(st, actor, &gid, id);
    }
    let joined = NodeBuilder::new("group").attr("jid", group.jid()).build();
    if group.is_member(&actor.phone) {
        return iq_result(id, vec![joined]);
    }
    if group.members.len() >= MAX_MEMBERS {
        return iq_error(id, 406, "not-acceptable");
    }
    group.members.push(actor.phone.clone());
    let (gid, members) = (group.id.clone(), group.members.clone());
    let me = vec![actor.phone.clone()];
    let action = NodeBuilder::new("add").attr("reason", "invite").children(participant_nodes(&me)).build();
    notify(st, &gid, actor, &members, action);
    iq_result(id, vec![joined])
}

/// A fresh 22-character code from the URL-safe alphabet WhatsApp codes use.
fn new_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..22).map(|_| ALPHABET[(rand::random::<u32>() as usize) % ALPHABET.len()] as char).collect()
}
