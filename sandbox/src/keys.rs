//! Signal key distribution (`xmlns="encrypt"`): prekey upload, count, signed
//! prekey rotation, and bundle fetch.
//!
//! A bundle is the device's identity, signed prekey, one one-time prekey (popped,
//! so each is handed out once) and its ADV `device-identity`; a fetch with
//! `reason="identity"` is answered the same way. The digest check gets what the
//! server holds and its SHA-1, as WhatsApp answers it.

use std::collections::VecDeque;

use wacore::iq::prekeys::{OneTimePreKeyNode, PreKeyBundleUserNode, SignedPreKeyNode};
use wacore::protocol::ProtocolNode;
use wacore_binary::Node;
use wacore_binary::builder::NodeBuilder;

use crate::accounts::{DeviceKeys, SignedPreKey};
use crate::nodes::{be_uint, child_bytes, children, iq_error, iq_result, jid_attr};
use crate::server::session::Session;

pub(crate) fn handle(session: &Session, iq: &Node, id: &str, typ: &str) -> Node {
    if typ == "set" {
        if iq.get_optional_child("registration").is_some() {
            return upload(session, iq, id);
        }
        if let Some(rotate) = iq.get_optional_child("rotate") {
            if let (Some(addr), Some(skey)) = (session.device(), rotate.get_optional_child("skey"))
                && let Some(spk) = parse_skey(skey)
                && let Some(dev) = session.hub.state().accounts.device_mut(addr)
            {
                dev.keys.signed_prekey = spk;
            }
            return iq_result(id, vec![]);
        }
        return iq_result(id, vec![]);
    }
    if iq.get_optional_child("count").is_some() {
        let count = session
            .device()
            .and_then(|a| session.hub.state().accounts.device(a).map(|d| d.keys.one_time.len()))
            .unwrap_or(0);
        return iq_result(id, vec![NodeBuilder::new("count").attr("value", count.to_string()).build()]);
    }
    if let Some(key) = iq.get_optional_child("key") {
        return fetch(session, key, id);
    }
    if iq.get_optional_child("digest").is_some() {
        return digest(session, id);
    }
    iq_error(id, 404, "item-not-found")
}

/// What the server holds of the asking device's keys, with the SHA-1 over them that
/// the client recomputes (WhatsApp Web's digest check): registration id, identity,
/// signed prekey, the ids of the unused one-time prekeys, and the hash.
fn digest(session: &Session, id: &str) -> Node {
    use sha1::Digest as _;
    let st = session.hub.state();
    let Some(dev) = session.device().and_then(|a| st.accounts.device(a)) else {
        return iq_error(id, 404, "item-not-found");
    };
    let k = &dev.keys;
    let mut hash = sha1::Sha1::new();
    hash.update(&k.identity);
    hash.update(&k.signed_prekey.public);
    hash.update(&k.signed_prekey.signature);
    for (_, public) in &k.one_time {
        hash.update(public);
    }
    let id3 = |v: u32| v.to_be_bytes()[1..].to_vec();
    let node = NodeBuilder::new("digest")
        .children([
            NodeBuilder::new("registration").bytes(k.registration_id.to_be_bytes().to_vec()).build(),
            NodeBuilder::new("type").bytes(vec![5]).build(),
            NodeBuilder::new("identity").bytes(k.identity.clone()).build(),
            NodeBuilder::new("skey")
                .children([
                    NodeBuilder::new("id").bytes(id3(k.signed_prekey.id)).build(),
                    NodeBuilder::new("value").bytes(k.signed_prekey.public.clone()).build(),
                    NodeBuilder::new("signature").bytes(k.signed_prekey.signature.clone()).build(),
                ])
                .build(),
            NodeBuilder::new("list")
                .children(k.one_time.iter().map(|(i, _)| NodeBuilder::new("id").bytes(id3(*i)).build()))
                .build(),
            NodeBuilder::new("hash").bytes(hash.finalize().to_vec()).build(),
        ])
        .build();
    iq_result(id, vec![node])
}

fn parse_skey(skey: &Node) -> Option<SignedPreKey> {
    Some(SignedPreKey {
        id: be_uint(child_bytes(skey, "id")?),
        public: child_bytes(skey, "value")?.to_vec(),
        signature: child_bytes(skey, "signature")?.to_vec(),
    })
}

fn upload(session: &Session, iq: &Node, id: &str) -> Node {
    let Some(addr) = session.device() else {
        return iq_error(id, 401, "not-authorized");
    };
    let parsed = (|| {
        let registration_id = be_uint(child_bytes(iq, "registration")?);
        let identity = child_bytes(iq, "identity")?.to_vec();
        let signed_prekey = parse_skey(iq.get_optional_child("skey")?)?;
        let one_time = iq
            .get_optional_child("list")
            .map(children)
            .unwrap_or_default()
            .iter()
            .filter_map(|k| Some((be_uint(child_bytes(k, "id")?), child_bytes(k, "value")?.to_vec())))
            .collect::<VecDeque<_>>();
        Some((registration_id, identity, signed_prekey, one_time))
    })();
    let Some((registration_id, identity, signed_prekey, one_time)) = parsed else {
        return iq_error(id, 400, "bad-request");
    };
    let mut st = session.hub.state();
    let Some(dev) = st.accounts.device_mut(addr) else {
        return iq_error(id, 404, "item-not-found");
    };
    if dev.keys.identity != identity || dev.keys.registration_id != registration_id {
        // A new identity invalidates every prekey published under the old one.
        dev.keys.one_time.clear();
    }
    let mut merged = std::mem::take(&mut dev.keys.one_time);
    merged.extend(one_time);
    dev.keys = DeviceKeys { registration_id, identity, signed_prekey, one_time: merged };
    iq_result(id, vec![])
}

fn fetch(session: &Session, key: &Node, id: &str) -> Node {
    let mut st = session.hub.state();
    let users = children(key)
        .iter()
        .filter(|u| u.tag == "user")
        .filter_map(|u| jid_attr(u, "jid"))
        .map(|jid| {
            let addr = st.accounts.device_of(&jid);
            if let Some(a) = &addr
                && a.1 == crate::phone_keys::PHONE_DEVICE
                && let Some(acct) = st.accounts.get_mut(&a.0)
            {
                crate::phone_keys::replenish(acct);
            }
            let dev = addr.and_then(|a| st.accounts.device_mut(&a));
            match dev {
                Some(dev) => {
                    let otk = dev.keys.one_time.pop_front();
                    PreKeyBundleUserNode {
                        jid,
                        registration_id: dev.keys.registration_id,
                        identity_key: dev.keys.identity.clone(),
                        signed_pre_key: SignedPreKeyNode::new(
                            dev.keys.signed_prekey.id,
                            dev.keys.signed_prekey.public.clone(),
                            dev.keys.signed_prekey.signature.clone(),
                        ),
                        one_time_pre_key: otk.map(|(i, k)| OneTimePreKeyNode::new(i, k)),
                        device_identity: dev.device_identity.clone(),
                    }
                    .into_node()
                }
                None => NodeBuilder::new("user")
                    .attr("jid", jid)
                    .children([NodeBuilder::new("error").attr("code", "404").attr("text", "item-not-found").build()])
                    .build(),
            }
        })
        .collect::<Vec<_>>();
    iq_result(id, vec![NodeBuilder::new("list").children(users).build()])
}
