//! Relaying between devices: 1:1 messages, receipts, presence and chat state.
//!
//! A `<message>` carries one `<to jid=device><enc/></to>` per target device
//! (recipient's devices and the sender's other devices); each target gets its own
//! `<message from=sender-device>` with just its ciphertext, and the sender gets
//! the server `<ack class="message">`. Receipts (delivery, read, played, retry)
//! go back to the devices named by `to`. The server never decrypts anything.
//! Group messages are handed to `groups.rs`.

use log::debug;
use wacore_binary::builder::NodeBuilder;
use wacore_binary::{Jid, Node};

use crate::accounts::DeviceAddr;
use crate::events::SandboxEvent;
use crate::faults::AckFault;
use crate::hub::{Hub, State};
use crate::nodes::{attr, children, jid_attr, now};
use crate::server::session::Session;

/// Attributes of an outgoing `<message>` worth passing through to recipients.
const MESSAGE_PASSTHROUGH: &[&str] = &["type", "edit", "category", "mediatype"];

pub(crate) fn ack(session: &Session, class: &str, id: &str, from: Option<&str>, typ: Option<&str>) {
    let fault = session.device().and_then(|a| session.hub.state().faults.ack_fault(a));
    let mut b = NodeBuilder::new("ack").attr("class", class).attr("id", id).attr("t", now().to_string());
    if let Some(f) = from {
        b = b.attr("from", f);
    }
    if let Some(t) = typ {
        b = b.attr("type", t);
    }
    let node = b.build();
    let Some((phone, device)) = session.device().cloned() else {
        session.conn.send(node);
        return;
    };
    let (id, class) = (id.to_string(), class.to_string());
    let hub = session.hub.clone();
    match fault {
        None => {
            session.conn.send(node);
            hub.emit(SandboxEvent::AckSent { id, class, phone, device });
        }
        Some(AckFault::Drop) => hub.emit(SandboxEvent::AckDropped { id, class, phone, device }),
        Some(AckFault::Delay(d)) => {
            let conn = session.conn.clone();
            tokio::spawn(async move {
                tokio::time::sleep(d).await;
                if conn.send(node) {
                    hub.emit(SandboxEvent::AckSent { id, class, phone, device });
                }
            });
        }
    }
}

pub(crate) fn message(session: &Session, msg: &Node) {
    let Some((phone, dev)) = session.device().cloned() else {
        return;
    };
    let id = attr(msg, "id").unwrap_or_default();
    let to_attr = attr(msg, "to");
    let Some(to) = jid_attr(msg, "to") else {
        return;
    };
    ack(session, "message", &id, to_attr.as_deref(), None);
    if to.server == wacore_binary::Server::Group {
        if !crate::groups::relay(session, msg, &to) {
            debug!("sandbox: dropping group message {id}: unknown group or not a member");
        }
        return;
    }

    let identity = msg.get_optional_child("device-identity").cloned();
    let mut targets: Vec<(Jid, Vec<Node>)> = msg
        .get_optional_child("participants")
        .map(children)
        .unwrap_or_default()
        .iter()
        .filter(|t| t.tag == "to")
        .filter_map(|t| Some((jid_attr(t, "jid")?, children(t).to_vec())))
        .collect();
    let direct: Vec<Node> = children(msg).iter().filter(|c| c.tag == "enc").cloned().collect();
    if targets.is_empty() && !direct.is_empty() {
        // Peer messages to one of the sender's own devices address it directly.
        targets.push((to.clone(), direct));
    }

    let hub = session.hub.clone();
    let mut st = hub.state();
    let push_name = st.accounts.get(&phone).map(|a| a.push_name.clone()).unwrap_or_default();
    let sender = Jid::pn_device(phone.as_str(), dev);
    for (target, encs) in targets {
        let Some(addr) = st.accounts.device_of(&target) else {
            debug!("sandbox: dropping message {id} to unknown device {target}");
            continue;
        };
        if addr.0 != phone && crate::blocklist::is_blocked(&st, &addr.0, &phone) {
            // Like the real service: the sender gets its ack, the blocker nothing.
            debug!("sandbox: dropping message {id}: {} blocked {phone}", addr.0);
            hub.emit(SandboxEvent::MessageBlocked { id: id.clone(), from: phone.clone(), to_phone: addr.0.clone() });
            continue;
        }
        let mut b = NodeBuilder::new("message")
            .attr("from", sender.clone())
            .attr("id", id.as_str())
            .attr("t", now().to_string());
        for key in MESSAGE_PASSTHROUGH {
            if let Some(v) = attr(msg, key) {
                b = b.attr(key, v);
            }
        }
        if !push_name.is_empty() {
            b = b.attr("notify", push_name.as_str());
        }
        if addr.0 == phone && st.accounts.phone_of(&to.to_non_ad()).as_deref() != Some(&phone) {
            // Sent-message sync to the sender's other devices names the chat
            // (not for peer messages, whose chat is the sender itself).
            b = b.attr("recipient", to.to_non_ad());
        }
        let mut kids = encs;
        if st.corrupt_next.contains(&addr) && corrupt(&mut kids) {
            st.corrupt_next.remove(&addr);
        }
        if let Some(ident) = &identity {
            kids.push(ident.clone());
        }
        let live = st.deliver(&addr, b.children(kids).build());
        hub.emit(SandboxEvent::MessageRelayed {
            id: id.clone(),
            from: sender.to_string(),
            to_phone: addr.0.clone(),
            to_device: addr.1,
            live,
        });
    }
}

/// Flips the last byte of every `type="msg"` ciphertext: that byte belongs to
/// the Signal MAC, so the recipient fails to decrypt and asks for a retry.
/// (`pkmsg` ends in protobuf fields, whose damage reads as a parse error and is
/// nacked instead.) Returns whether anything was damaged.
fn corrupt(encs: &mut [Node]) -> bool {
    let mut damaged = false;
    for enc in encs {
        if attr(enc, "type").as_deref() != Some("msg") {
            continue;
        }
        if let Some(wacore_binary::NodeContent::Bytes(b)) = enc.content.as_mut()
            && let Some(last) = b.last_mut()
        {
            *last ^= 0xFF;
            damaged = true;
        }
    }
    damaged
}

pub(crate) fn receipt(session: &Session, rcpt: &Node) {
    let Some((phone, dev)) = session.device().cloned() else {
        return;
    };
    let id = attr(rcpt, "id").unwrap_or_default();
    let typ = attr(rcpt, "type");
    let to_attr = attr(rcpt, "to");
    debug!("sandbox: receipt from {phone}:{dev}: {}", wacore::xml::DisplayableNode(rcpt));
    ack(session, "receipt", &id, to_attr.as_deref(), typ.as_deref());
    let hub = session.hub.clone();
    let mut st = hub.state();
    // A receipt for a message settles that message on this connection; an aggregate
    // receipt (the client's offline-drain shape) settles every id in its `<list>` too.
    st.acked(session.conn.id, &id);
    if let Some(list) = rcpt.get_optional_child("list") {
        for item in children(list).iter().filter(|c| c.tag == "item") {
            if let Some(other) = attr(item, "id") {
                st.acked(session.conn.id, &other);
            }
        }
    }
    let Some(to) = jid_attr(rcpt, "to") else {
        return;
    };
    if typ.as_deref() == Some("peer_msg") {
        // Acknowledges a peer message from the virtual phone, which is the
        // only sender of those and needs no receipt.
        return;
    }
    let sender = Jid::pn_device(phone.as_str(), dev);
    // A group receipt names the group in `to` and the message's author in
    // `participant`; it goes to the author as `from=group participant=reader`.
    let group_receipt = to.server == wacore_binary::Server::Group;
    let target_jid = if group_receipt {
        match jid_attr(rcpt, "participant") {
            Some(author) => author,
            None => return,
        }
    } else {
        to.clone()
    };
    // Never echo a receipt to the device that sent it.
    let targets: Vec<DeviceAddr> =
        targets_of(&st, &target_jid).into_iter().filter(|a| !(a.0 == phone && a.1 == dev)).collect();
    for addr in targets {
        let mut b = NodeBuilder::new("receipt").attr("id", id.as_str()).attr("t", now().to_string());
        b = if group_receipt {
            b.attr("from", to.clone()).attr("participant", sender.clone())
        } else {
            b.attr("from", sender.clone())
        };
        let passthrough: &[&str] = if group_receipt { &["type"] } else { &["type", "recipient", "participant"] };
        for key in passthrough {
            if let Some(v) = attr(rcpt, key) {
                b = b.attr(key, v);
            }
        }
        if let Some(kids) = rcpt.children() {
            b = b.children(kids.to_vec());
        }
        st.deliver(&addr, b.build());
        hub.emit(SandboxEvent::ReceiptRelayed {
            id: id.clone(),
            from: sender.to_string(),
            to: Jid::pn_device(addr.0.as_str(), addr.1).to_string(),
            kind: typ.clone().unwrap_or_else(|| "delivery".into()),
        });
    }
}

/// A device JID names one device; a user JID names all of them.
fn targets_of(st: &State, to: &Jid) -> Vec<DeviceAddr> {
    if to.device != 0 {
        return st.accounts.device_of(to).into_iter().collect();
    }
    st.accounts.phone_of(to).map(|p| st.accounts.devices_of(&p)).unwrap_or_default()
}

pub(crate) fn chatstate(session: &Session, node: &Node) {
    let Some((phone, _)) = session.device().cloned() else {
        return;
    };
    let Some(to) = jid_attr(node, "to") else {
        return;
    };
    let st = session.hub.state();
    let out =
        NodeBuilder::new("chatstate").attr("from", Jid::pn(phone.as_str())).children(children(node).to_vec()).build();
    for addr in targets_of(&st, &to.to_non_ad()) {
        // Typing indicators are live-only: never queued for later.
        if let Some(conn) = st.conns.get(&addr) {
            conn.send(out.clone());
        }
    }
}

pub(crate) fn presence(session: &Session, node: &Node) {
    let Some((phone, dev)) = session.device().cloned() else {
        return;
    };
    let typ = attr(node, "type").unwrap_or_else(|| "available".into());
    let hub = session.hub.clone();
    let mut st = hub.state();
    if typ == "subscribe" {
        let Some(target) = jid_attr(node, "to").and_then(|j| st.accounts.phone_of(&j.to_non_ad())) else {
            return;
        };
        let subs = st.presence_subs.entry(target.clone()).or_default();
        if !subs.contains(&(phone.clone(), dev)) {
            subs.push((phone, dev));
        }
        let current = st.presence.get(&target).cloned();
        if let Some(current) = current {
            session.conn.send(presence_node(&target, &current));
        }
        return;
    }
    if let Some(name) = attr(node, "name")
        && let Some(acct) = st.accounts.get_mut(&phone)
    {
        acct.push_name = name;
    }
    if typ == "available" || typ == "unavailable" {
        st.presence.insert(phone.clone(), typ.clone());
        broadcast_presence(&st, &phone, &typ);
    }
}

fn presence_node(phone: &str, typ: &str) -> Node {
    let mut b = NodeBuilder::new("presence").attr("from", Jid::pn(phone));
    if typ == "unavailable" {
        b = b.attr("type", "unavailable").attr("last", now().to_string());
    }
    b.build()
}

fn broadcast_presence(st: &State, phone: &str, typ: &str) {
    let node = presence_node(phone, typ);
    for addr in st.presence_subs.get(phone).into_iter().flatten() {
        if let Some(conn) = st.conns.get(addr) {
            conn.send(node.clone());
        }
    }
}

/// The last device of an account went away: it is now unavailable.
pub(crate) fn went_offline(hub: &Hub, phone: &str) {
    let mut st = hub.state();
    if st.conns.keys().any(|(p, _)| p == phone) {
        return;
    }
    if st.presence.get(phone).is_some_and(|p| p == "available") {
        st.presence.insert(phone.to_string(), "unavailable".into());
        broadcast_presence(&st, phone, "unavailable");
    }
}
