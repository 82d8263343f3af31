//! Groups (`w:g2`): the group state, create, metadata query, participating
//! list, the `w:gp2` notifications, and the fan-out of group messages.
//!
//! Groups use PN addressing only. A group message carries one top-level `skmsg`
//! (sender-key ciphertext, the same for everyone) plus per-device sender-key
//! distribution messages in `<participants>`; every device of every member
//! (except the sending device) gets `<message from=group participant=sender>`
//! with the `skmsg` and, if it had one, its own distribution message.
//! Membership changes live in `group_admin.rs`, invite links in
//! `group_invite.rs`, subject/description/settings in `group_settings.rs`,
//! approval mode and join requests in `group_requests.rs`, pictures in
//! `group_picture.rs`.
//!
//! All group state is plain data (serde-derivable) so the sandbox's state can
//! be saved and restored.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use wacore_binary::builder::NodeBuilder;
use wacore_binary::{Jid, Node, Server};

use crate::events::SandboxEvent;
use crate::hub::State;
use crate::nodes::{attr, children, iq_error, iq_result, jid_attr, now, random_id};
use crate::server::session::Session;

/// wacore's own cap on a group's size; the sandbox refuses to grow past it.
pub(crate) const MAX_MEMBERS: usize = wacore::iq::groups::GROUP_SIZE_LIMIT;

/// A group description as last set (`id` is the client-chosen token that the
/// next update must name as `prev`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Description {
    pub id: String,
    pub body: String,
    pub owner: String,
    pub time: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Group {
    pub id: String,
    pub subject: String,
    #[serde(default)]
    pub subject_owner: String,
    #[serde(default)]
    pub subject_time: i64,
    pub creator: String,
    pub creation: i64,
    /// Member phone numbers, in joining order.
    pub members: Vec<String>,
    /// Members promoted to admin. The creator is always an admin (superadmin)
    /// while a member and is not listed here.
    #[serde(default)]
    pub admins: BTreeSet<String>,
    #[serde(default)]
    pub description: Option<Description>,
    /// Only admins may change subject, description and ephemeral timer.
    #[serde(default)]
    pub locked: bool,
    /// Only admins may send messages.
    #[serde(default)]
    pub announcement: bool,
    /// Disappearing-message timer in seconds (0 = off).
    #[serde(default)]
    pub ephemeral: u32,
    /// Current invite code, made on first request.
    #[serde(default)]
    pub invite_code: Option<String>,
    /// Recently revoked invite codes (answered "gone" rather than "unknown").
    #[serde(default)]
    pub revoked_invites: Vec<String>,
    /// New members joining by link need an admin's approval.
    #[serde(default)]
    pub membership_approval: bool,
    /// Pending requests to join (see `group_requests.rs`).
    #[serde(default)]
    pub join_requests: Vec<crate::group_requests::JoinRequest>,
    /// The group picture, if one is set (see `group_picture.rs`).
    #[serde(default)]
    pub picture: Option<crate::group_picture::GroupPicture>,
}

impl Group {
    pub fn is_member(&self, phone: &str) -> bool {
        self.members.iter().any(|m| m == phone)
    }

    pub fn is_admin(&self, phone: &str) -> bool {
        self.is_member(phone) && (phone == self.creator || self.admins.contains(phone))
    }

    pub fn jid(&self) -> Jid {
        Jid::group(self.id.as_str())
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Groups {
    pub by_id: BTreeMap<String, Group>,
}

/// The device that sent an IQ.
pub(crate) struct Actor {
    pub phone: String,
    pub dev: u16,
}

/// Looks up `gid` for a member: 404 when there is no such group, 403 when the
/// actor is not in it (as the service answers).
pub(crate) fn member_group<'a>(
    groups: &'a mut Groups,
    gid: &str,
    phone: &str,
) -> Result<&'a mut Group, (u16, &'static str)> {
    match groups.by_id.get_mut(gid) {
        Some(g) if g.is_member(phone) => Ok(g),
        Some(_) => Err((403, "forbidden")),
        None => Err((404, "item-not-found")),
    }
}

pub(crate) fn group_node(g: &Group) -> Node {
    let participants = g.members.iter().map(|p| {
        let mut b = NodeBuilder::new("participant").attr("jid", Jid::pn(p.as_str()));
        if *p == g.creator {
            b = b.attr("type", "superadmin");
        } else if g.admins.contains(p) {
            b = b.attr("type", "admin");
        }
        b.build()
    });
    let mut kids: Vec<Node> = participants.collect();
    if let Some(d) = &g.description {
        kids.push(
            NodeBuilder::new("description")
                .attr("id", d.id.as_str())
                .attr("participant", Jid::pn(d.owner.as_str()))
                .attr("t", d.time.to_string())
                .children([NodeBuilder::new("body").string_content(d.body.as_str()).build()])
                .build(),
        );
    }
    if g.locked {
        kids.push(NodeBuilder::new("locked").build());
    }
    if g.announcement {
        kids.push(NodeBuilder::new("announcement").build());
    }
    if g.ephemeral > 0 {
        kids.push(NodeBuilder::new("ephemeral").attr("expiration", g.ephemeral.to_string()).build());
    }
    kids.extend(crate::group_requests::mode_node(g));
    let subject_owner = if g.subject_owner.is_empty() { &g.creator } else { &g.subject_owner };
    let subject_time = if g.subject_time == 0 { g.creation } else { g.subject_time };
    NodeBuilder::new("group")
        .attr("id", g.id.as_str())
        .attr("subject", g.subject.as_str())
        .attr("s_t", subject_time.to_string())
        .attr("s_o", Jid::pn(subject_owner.as_str()))
        .attr("creator", Jid::pn(g.creator.as_str()))
        .attr("creation", g.creation.to_string())
        .attr("addressing_mode", "pn")
        .attr("size", g.members.len().to_string())
        .children(kids)
        .build()
}

/// Text content of a node (`<subject>`, `<body>`), however it was encoded.
pub(crate) fn text_of(node: &Node) -> Option<String> {
    match &node.content {
        Some(wacore_binary::NodeContent::String(s)) => Some(s.to_string()),
        Some(wacore_binary::NodeContent::Bytes(b)) => String::from_utf8(b.to_vec()).ok(),
        _ => None,
    }
}

/// `<iq xmlns="w:g2">`.
pub(crate) fn handle(session: &Session, iq: &Node, id: &str) -> Node {
    let Some((phone, dev)) = session.device().cloned() else {
        return iq_error(id, 401, "not-authorized");
    };
    let actor = Actor { phone, dev };
    let mut guard = session.hub.state();
    let st: &mut State = &mut guard;
    let typ = attr(iq, "type").unwrap_or_default();
    let gid = jid_attr(iq, "to").filter(|j| j.server == Server::Group).map(|j| j.user.to_string()).unwrap_or_default();
    if let Some(create) = iq.get_optional_child("create") {
        return create_group(st, &actor, create, id);
    }
    if iq.get_optional_child("participating").is_some() {
        let groups = st.groups.by_id.values().filter(|g| g.is_member(&actor.phone)).map(group_node);
        return iq_result(id, vec![NodeBuilder::new("groups").children(groups).build()]);
    }
    if let Some(leave) = iq.get_optional_child("leave") {
        return crate::group_admin::leave(st, &actor, leave, id);
    }
    if let Some(invite) = iq.get_optional_child("invite") {
        return crate::group_invite::handle(st, &actor, &gid, invite, &typ, id);
    }
    if iq.get_optional_child("query").is_some() {
        return match member_group(&mut st.groups, &gid, &actor.phone) {
            Ok(g) => iq_result(id, vec![group_node(g)]),
            Err((code, text)) => iq_error(id, code, text),
        };
    }
    if let Some(action) =
        children(iq).iter().find(|c| matches!(c.tag.as_ref(), "add" | "remove" | "promote" | "demote"))
    {
        return crate::group_admin::participants(st, &actor, &gid, action, id);
    }
    if let Some(reply) = crate::group_requests::handle(st, &actor, &gid, iq, id) {
        return reply;
    }
    if let Some(setting) = children(iq).first()
        && let Some(reply) = crate::group_settings::handle(st, &actor, &gid, setting, id)
    {
        return reply;
    }
    iq_error(id, 501, "feature-not-implemented")
}

fn create_group(st: &mut State, actor: &Actor, create: &Node, id: &str) -> Node {
    let subject = attr(create, "subject").unwrap_or_default();
    if subject.chars().count() > wacore::iq::groups::GROUP_SUBJECT_MAX_LENGTH {
        return iq_error(id, 400, "bad-request");
    }
    let mut members = vec![actor.phone.clone()];
    for p in children(create).iter().filter(|c| c.tag == "participant") {
        if let Some(m) = jid_attr(p, "jid").and_then(|j| st.accounts.phone_of(&j.to_non_ad()))
            && !members.contains(&m)
        {
            members.push(m);
        }
    }
    if members.len() > MAX_MEMBERS {
        return iq_error(id, 406, "not-acceptable");
    }
    let group = Group {
        id: format!("1203630{}", rand::random::<u32>()),
        subject,
        subject_owner: actor.phone.clone(),
        subject_time: now(),
        creator: actor.phone.clone(),
        creation: now(),
        members,
        admins: BTreeSet::new(),
        description: None,
        locked: false,
        announcement: false,
        ephemeral: 0,
        invite_code: None,
        revoked_invites: Vec::new(),
        membership_approval: false,
        join_requests: Vec::new(),
        picture: None,
    };
    let node = group_node(&group);
    let others: Vec<String> = group.members.iter().filter(|m| **m != actor.phone).cloned().collect();
    notify(st, &group.id, actor, &others, NodeBuilder::new("create").children([node.clone()]).build());
    st.groups.by_id.insert(group.id.clone(), group);
    iq_result(id, vec![node])
}

/// Sends `<notification type="w:gp2" from=group participant=actor>` with one
/// action child to every device of `recipients`, except the device that made
/// the change (it learns the outcome from its IQ answer).
pub(crate) fn notify(st: &mut State, gid: &str, actor: &Actor, recipients: &[String], action: Node) {
    let push_name = st.accounts.get(&actor.phone).map(|a| a.push_name.clone()).unwrap_or_default();
    let mut b = NodeBuilder::new("notification")
        .attr("from", Jid::group(gid))
        .attr("type", "w:gp2")
        .attr("id", random_id())
        .attr("t", now().to_string())
        .attr("participant", Jid::pn(actor.phone.as_str()))
        .attr("addressing_mode", "pn");
    if !push_name.is_empty() {
        b = b.attr("notify", push_name);
    }
    let note = b.children([action]).build();
    let unique: BTreeSet<&String> = recipients.iter().collect();
    let targets: Vec<_> = unique
        .into_iter()
        .flat_map(|m| st.accounts.devices_of(m))
        .filter(|a| !(a.0 == actor.phone && a.1 == actor.dev))
        .collect();
    for addr in targets {
        st.deliver(&addr, note.clone());
    }
}

/// `<participant jid=…/>` children for a notification action.
pub(crate) fn participant_nodes(phones: &[String]) -> Vec<Node> {
    phones.iter().map(|p| NodeBuilder::new("participant").attr("jid", Jid::pn(p.as_str())).build()).collect()
}

/// A `<message to="<group>@g.us">` from `phone:dev`. Returns false when the
/// message is dropped: the sender is not a member, or the group is in
/// announcement mode and the sender is not an admin.
pub(crate) fn relay(session: &Session, msg: &Node, to: &Jid) -> bool {
    let Some((phone, dev)) = session.device().cloned() else {
        return false;
    };
    debug_assert_eq!(to.server, Server::Group);
    let hub = session.hub.clone();
    let mut st = hub.state();
    let Some(members) = st
        .groups
        .by_id
        .get(to.user.as_str())
        .filter(|g| g.is_member(&phone) && (!g.announcement || g.is_admin(&phone)))
        .map(|g| g.members.clone())
    else {
        return false;
    };
    let id = attr(msg, "id").unwrap_or_default();
    let skmsg: Vec<Node> = children(msg).iter().filter(|c| c.tag == "enc").cloned().collect();
    let identity = msg.get_optional_child("device-identity").cloned();
    // Per-device sender-key distribution messages, by device.
    let mut skdm: BTreeMap<(String, u16), Vec<Node>> = BTreeMap::new();
    for t in msg.get_optional_child("participants").map(children).unwrap_or_default().iter().filter(|t| t.tag == "to") {
        if let Some(addr) = jid_attr(t, "jid").and_then(|j| st.accounts.device_of(&j)) {
            skdm.insert(addr, children(t).to_vec());
        }
    }
    let sender = Jid::pn_device(phone.as_str(), dev);
    let push_name = st.accounts.get(&phone).map(|a| a.push_name.clone()).unwrap_or_default();
    let targets: Vec<_> =
        members.iter().flat_map(|m| st.accounts.devices_of(m)).filter(|a| !(a.0 == phone && a.1 == dev)).collect();
    for addr in targets {
        let mut b = NodeBuilder::new("message")
            .attr("from", to.clone())
            .attr("participant", sender.clone())
            .attr("id", id.as_str())
            .attr("t", now().to_string())
            .attr("addressing_mode", "pn");
        for key in ["type", "edit", "mediatype"] {
            if let Some(v) = attr(msg, key) {
                b = b.attr(key, v);
            }
        }
        if !push_name.is_empty() {
            b = b.attr("notify", push_name.as_str());
        }
        let mut kids = skdm.remove(&addr).unwrap_or_default();
        if !kids.is_empty()
            && let Some(ident) = &identity
        {
            kids.push(ident.clone());
        }
        kids.extend(skmsg.iter().cloned());
        let live = st.deliver(&addr, b.children(kids).build());
        hub.emit(SandboxEvent::MessageRelayed {
            id: id.clone(),
            from: sender.to_string(),
            to_phone: addr.0.clone(),
            to_device: addr.1,
            live,
        });
    }
    true
}
