//! Groups (`w:g2`): create, metadata query, participating list, leave, and the
//! fan-out of group messages.
//!
//! Groups use PN addressing only. A group message carries one top-level `skmsg`
//! (sender-key ciphertext, the same for everyone) plus per-device sender-key
//! distribution messages in `<participants>`; every device of every member
//! (except the sending device) gets `<message from=group participant=sender>`
//! with the `skmsg` and, if it had one, its own distribution message. Admin
//! operations other than leaving (add, remove, promote, settings, invites) are
//! not modelled and get the generic 501.

use std::collections::BTreeMap;

use wacore_binary::builder::NodeBuilder;
use wacore_binary::{Jid, Node, Server};

use crate::events::SandboxEvent;
use crate::hub::State;
use crate::nodes::{attr, children, iq_error, iq_result, jid_attr, now, random_id};
use crate::server::session::Session;

#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct Group {
    pub id: String,
    pub subject: String,
    pub creator: String,
    pub creation: i64,
    /// Member phone numbers; the creator is the only admin.
    pub members: Vec<String>,
}

#[derive(Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Groups {
    by_id: BTreeMap<String, Group>,
}

fn group_node(g: &Group) -> Node {
    let participants = g.members.iter().map(|p| {
        let mut b = NodeBuilder::new("participant").attr("jid", Jid::pn(p.as_str()));
        if *p == g.creator {
            b = b.attr("type", "superadmin");
        }
        b.build()
    });
    NodeBuilder::new("group")
        .attr("id", g.id.as_str())
        .attr("subject", g.subject.as_str())
        .attr("s_t", g.creation.to_string())
        .attr("s_o", Jid::pn(g.creator.as_str()))
        .attr("creator", Jid::pn(g.creator.as_str()))
        .attr("creation", g.creation.to_string())
        .attr("addressing_mode", "pn")
        .attr("size", g.members.len().to_string())
        .children(participants)
        .build()
}

/// `<iq xmlns="w:g2">`.
pub(crate) fn handle(session: &Session, iq: &Node, id: &str) -> Node {
    let Some((phone, _)) = session.device().cloned() else {
        return iq_error(id, 401, "not-authorized");
    };
    let mut st = session.hub.state();
    if let Some(create) = iq.get_optional_child("create") {
        let mut members = vec![phone.clone()];
        for p in children(create).iter().filter(|c| c.tag == "participant") {
            if let Some(m) = jid_attr(p, "jid").and_then(|j| st.accounts.phone_of(&j.to_non_ad()))
                && !members.contains(&m)
            {
                members.push(m);
            }
        }
        let group = Group {
            id: format!("1203630{}", rand::random::<u32>()),
            subject: attr(create, "subject").unwrap_or_default(),
            creator: phone.clone(),
            creation: now(),
            members,
        };
        let node = group_node(&group);
        announce_create(&mut st, &group, &node);
        st.groups.by_id.insert(group.id.clone(), group);
        return iq_result(id, vec![node]);
    }
    if iq.get_optional_child("participating").is_some() {
        let groups = st.groups.by_id.values().filter(|g| g.members.contains(&phone)).map(group_node);
        return iq_result(id, vec![NodeBuilder::new("groups").children(groups).build()]);
    }
    if let Some(leave) = iq.get_optional_child("leave") {
        let left: Vec<Node> = children(leave)
            .iter()
            .filter_map(|g| attr(g, "id"))
            .map(|gid| {
                let gid = gid.split('@').next().unwrap_or_default().to_string();
                if let Some(g) = st.groups.by_id.get_mut(&gid) {
                    g.members.retain(|m| *m != phone);
                }
                NodeBuilder::new("group").attr("id", gid).build()
            })
            .collect();
        return iq_result(id, vec![NodeBuilder::new("leave").children(left).build()]);
    }
    if iq.get_optional_child("query").is_some() {
        let gid = jid_attr(iq, "to").map(|j| j.user.to_string()).unwrap_or_default();
        return match st.groups.by_id.get(&gid) {
            Some(g) if g.members.contains(&phone) => iq_result(id, vec![group_node(g)]),
            Some(_) => iq_error(id, 403, "forbidden"),
            None => iq_error(id, 404, "item-not-found"),
        };
    }
    iq_error(id, 501, "feature-not-implemented")
}

/// Tells the other members they were added, as the service does on create.
fn announce_create(st: &mut State, group: &Group, node: &Node) {
    let note = NodeBuilder::new("notification")
        .attr("from", Jid::group(group.id.as_str()))
        .attr("type", "w:gp2")
        .attr("id", random_id())
        .attr("t", now().to_string())
        .attr("participant", Jid::pn(group.creator.as_str()))
        .children([NodeBuilder::new("create").children([node.clone()]).build()])
        .build();
    for m in group.members.iter().filter(|m| **m != group.creator) {
        for addr in st.accounts.devices_of(m) {
            st.deliver(&addr, note.clone());
        }
    }
}

/// A `<message to="<group>@g.us">` from `phone:dev`. Returns false when the
/// sender is not a member (the message is then dropped).
pub(crate) fn relay(session: &Session, msg: &Node, to: &Jid) -> bool {
    let Some((phone, dev)) = session.device().cloned() else {
        return false;
    };
    debug_assert_eq!(to.server, Server::Group);
    let hub = session.hub.clone();
    let mut st = hub.state();
    let Some(members) =
        st.groups.by_id.get(to.user.as_str()).filter(|g| g.members.contains(&phone)).map(|g| g.members.clone())
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
