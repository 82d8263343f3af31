//! Device 0 writes to a group: the virtual phone as a group sender.
//!
//! Like any member's device, the phone keeps a sender key per group (among its sender
//! keys, `phone_inbox.rs`), encrypts the message once with it (`skmsg`) and hands every
//! other device of every member (its own companions included, which file it as their
//! own) the sender-key distribution message on its 1:1 session with that device
//! (`pkmsg`/`msg`, `phone_send.rs`), in the same `<message from=group participant=…>`,
//! as `groups.rs` relays a client's group message. It distributes the key with every
//! message rather than tracking who already has it; receivers take it again.

use anyhow::{Context, Result, anyhow, bail};
use buffa::Message as _;
use wacore::libsignal::protocol::{
    IdentityKeyPair, ProtocolAddress, SenderKeyName, create_sender_key_distribution_message, group_encrypt,
};
use wacore::messages::MessageUtils;
use wacore_binary::builder::NodeBuilder;
use wacore_binary::{Jid, Server};
use waproto::whatsapp as wa;

use crate::harness::Sandbox;
use crate::nodes::{now, random_id};
use crate::phone::Identity;
use crate::phone_keys::PHONE_DEVICE;
use crate::phone_send::{encrypt, relay};

impl Sandbox {
    /// The virtual phone of `from` (device 0) sends `text` to group `group` (`<id>@g.us`),
    /// which `from` must be a member of (an admin, in announcement mode). Every other
    /// device of every member receives it from participant `<from>@s.whatsapp.net`.
    /// Returns the message id.
    pub async fn phone_send_group_text(&self, from: &str, group: &str, text: &str) -> Result<String> {
        let hub = &self.hub;
        let gid: Jid = group.parse().map_err(|e| anyhow!("bad group JID {group}: {e}"))?;
        if gid.server != Server::Group {
            bail!("{group} is not a group JID");
        }
        let id = random_id();
        let (pair, registration_id, push_name, targets) = {
            let st = hub.state();
            let acct = st.accounts.get(from).with_context(|| format!("no account {from}"))?;
            let g = st.groups.by_id.get(gid.user.as_str()).with_context(|| format!("no group {group}"))?;
            if !g.is_member(from) || (g.announcement && !g.is_admin(from)) {
                bail!("{from} may not write to {group}");
            }
            let targets: Vec<_> = g
                .members
                .iter()
                .flat_map(|m| st.accounts.devices_of(m))
                .filter(|a| !(a.0 == from && a.1 == PHONE_DEVICE))
                .collect();
            let pair: IdentityKeyPair = acct.account_key.clone().into();
            (pair, acct.registration_id, acct.push_name.clone(), targets)
        };
        let message = wa::Message { conversation: Some(text.to_string()), ..Default::default() };

        let mut identity = Identity::new(pair, registration_id);
        let mut rng = rand::make_rng::<rand::rngs::StdRng>();
        let mut signal = hub.phone_signal.lock().await;
        let state = signal.account(from);
        let name =
            SenderKeyName::new(gid.to_string(), ProtocolAddress::new(from, u32::from(PHONE_DEVICE).into()).to_string());
        let skdm = create_sender_key_distribution_message(&name, &mut state.sender_keys, &mut rng).await?;
        let padded = MessageUtils::pad_message_v2(message.encode_to_vec());
        let skmsg = group_encrypt(&mut state.sender_keys, &name, &padded, &mut rng).await?;
        let distribution = wa::Message {
            sender_key_distribution_message: buffa::MessageField::some(wa::message::SenderKeyDistributionMessage {
                group_id: Some(gid.to_string()),
                axolotl_sender_key_distribution_message: Some(skdm.serialized().to_vec()),
            }),
            ..Default::default()
        };
        let distribution = MessageUtils::pad_message_v2(distribution.encode_to_vec());
        let mut nodes = Vec::new();
        for addr in targets {
            match encrypt(hub, &mut state.sessions, &mut identity, &addr, &distribution).await {
                Ok((enc_type, bytes)) => {
                    let mut b = NodeBuilder::new("message")
                        .attr("from", gid.clone())
                        .attr("participant", Jid::pn(from))
                        .attr("id", id.as_str())
                        .attr("t", now().to_string())
                        .attr("type", "text")
                        .attr("addressing_mode", "pn");
                    if !push_name.is_empty() {
                        b = b.attr("notify", push_name.as_str());
                    }
                    let kids = [
                        NodeBuilder::new("enc").attr("v", "2").attr("type", enc_type).bytes(bytes).build(),
                        NodeBuilder::new("enc")
                            .attr("v", "2")
                            .attr("type", "skmsg")
                            .bytes(skmsg.serialized().to_vec())
                            .build(),
                    ];
                    nodes.push((addr, b.children(kids).build()));
                }
                Err(e) => log::warn!("sandbox: the phone of {from} cannot encrypt for {}:{}: {e:#}", addr.0, addr.1),
            }
        }
        drop(signal);

        relay(hub, from, &id, nodes);
        Ok(id)
    }
}
