//! `usync` queries: device lists, LID lookups and "is on WhatsApp" contact checks.
//!
//! Users may be named by PN or LID JID, or by `<contact>+number</contact>`. Each
//! answered user carries only the protocols that were asked for. Device lists
//! contain the virtual phone (device 0, no key index) and the linked companions, plus an
//! ADV key-index list naming the companions' key indexes.
//! Status (about), picture and business protocols are answered from `profile.rs`.

use buffa::Message as _;
use wacore_binary::builder::NodeBuilder;
use wacore_binary::{Jid, Node};
use waproto::whatsapp as wa;

use crate::accounts::Account;
use crate::nodes::{attr, children, iq_result, jid_attr, now};
use crate::server::session::Session;

pub(crate) fn handle(session: &Session, iq: &Node, id: &str) -> Node {
    let Some(usync) = iq.get_optional_child("usync") else {
        return iq_result(id, vec![]);
    };
    let wanted: Vec<String> =
        usync.get_optional_child("query").map(children).unwrap_or_default().iter().map(|q| q.tag.to_string()).collect();
    let st = session.hub.state();
    let users = usync
        .get_optional_child("list")
        .map(children)
        .unwrap_or_default()
        .iter()
        .filter(|u| u.tag == "user")
        .map(|u| {
            let (asked, acct) = resolve(&st.accounts, u);
            let mut node = answer_user(asked, acct, &wanted);
            // Profile sub-protocols (about, picture, business) come from `profile.rs`.
            let viewer = session.device().map(|(p, _)| p.as_str());
            let owner = acct.map(|a| a.phone.as_str());
            let extra: Vec<Node> =
                wanted.iter().filter_map(|w| crate::profile::usync_part(&st.accounts, owner, viewer, w)).collect();
            if !extra.is_empty() {
                let mut kids = children(&node).to_vec();
                kids.extend(extra);
                node.content = Some(wacore_binary::NodeContent::Nodes(kids));
            }
            node
        })
        .collect::<Vec<_>>();
    let mut usync_attrs = NodeBuilder::new("usync");
    for key in ["sid", "mode", "context", "index", "last"] {
        if let Some(v) = attr(usync, key) {
            usync_attrs = usync_attrs.attr(key, v);
        }
    }
    iq_result(id, vec![usync_attrs.children([NodeBuilder::new("list").children(users).build()]).build()])
}

/// The JID the user was asked by, and the account behind it if any.
fn resolve<'a>(accounts: &'a crate::accounts::Accounts, user: &Node) -> (Jid, Option<&'a Account>) {
    if let Some(jid) = jid_attr(user, "jid") {
        let acct = accounts.phone_of(&jid.to_non_ad()).and_then(|p| accounts.get(&p));
        return (jid.to_non_ad(), acct);
    }
    let number = user
        .get_optional_child("contact")
        .and_then(|c| c.content_as_string())
        .map(|s| s.trim_start_matches('+').to_string())
        .unwrap_or_default();
    (Jid::pn(number.as_str()), accounts.get(&number))
}

fn answer_user(asked: Jid, acct: Option<&Account>, wanted: &[String]) -> Node {
    // Contact lookups are answered in PN form, like the real service.
    let jid = match acct {
        Some(a) if wanted.iter().any(|w| w == "contact") => a.pn_jid(),
        _ => asked.clone(),
    };
    let mut b = NodeBuilder::new("user").attr("jid", jid.clone());
    if asked.is_lid()
        && let Some(a) = acct
    {
        b = b.attr("pn_jid", a.pn_jid());
    }
    let mut kids = Vec::new();
    for w in wanted {
        match (w.as_str(), acct) {
            ("contact", Some(_)) => kids.push(NodeBuilder::new("contact").attr("type", "in").build()),
            ("contact", None) => kids.push(NodeBuilder::new("contact").attr("type", "out").build()),
            ("lid", Some(a)) => kids.push(NodeBuilder::new("lid").attr("val", a.lid_jid()).build()),
            ("devices", Some(a)) => kids.push(devices(a)),
            ("devices", None) => {
                kids.push(NodeBuilder::new("devices").children([NodeBuilder::new("device-list").build()]).build())
            }
            _ => {}
        }
    }
    b.children(kids).build()
}

fn devices(acct: &Account) -> Node {
    let list = acct.devices.values().map(|d| {
        let b = NodeBuilder::new("device").attr("id", d.id.to_string());
        // The phone (device 0) has no key index, as on the real service.
        if d.id == crate::phone_keys::PHONE_DEVICE {
            b.build()
        } else {
            b.attr("key-index", d.key_index.to_string()).build()
        }
    });
    NodeBuilder::new("devices")
        .children([NodeBuilder::new("device-list").children(list).build(), key_index_list(acct)])
        .build()
}

/// `<key-index-list>`: the account's ADV key-index list naming the key indexes
/// of its current devices. Clients drop companions that are missing from it.
pub(crate) fn key_index_list(acct: &Account) -> Node {
    let valid: Vec<u32> =
        acct.devices.values().filter(|d| d.id != crate::phone_keys::PHONE_DEVICE).map(|d| d.key_index).collect();
    let details = wa::ADVKeyIndexList {
        raw_id: Some(acct.adv_raw_id),
        timestamp: Some(now() as u64),
        current_index: Some(acct.next_key_index.saturating_sub(1)),
        valid_indexes: valid,
        ..Default::default()
    }
    .encode_to_vec();
    // The client does not verify this signature; it is there to keep the shape.
    let signed = wa::ADVSignedKeyIndexList {
        details: Some(details),
        account_signature_key: Some(acct.account_key.public_key.public_key_bytes().to_vec()),
        account_signature: None,
    }
    .encode_to_vec();
    NodeBuilder::new("key-index-list").attr("ts", now().to_string()).bytes(signed).build()
}
