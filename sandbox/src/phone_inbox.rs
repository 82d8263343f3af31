//! The virtual phone's inbox: what clients encrypt to device 0, decrypted there.
//!
//! Every stanza `hub::State::deliver` hands to device 0 comes to one task (`spawn`),
//! which decrypts messages with the phone's keys (`phone_keys.rs`) and its Signal
//! sessions and sender keys (kept here in memory, per account: a restarted sandbox
//! starts new sessions, as a phone restored from a backup would). A companion's own
//! sent messages arrive wrapped as `deviceSentMessage` and are filed under their
//! chat; group messages need the sender key the sender distributed to device 0 first.
//! What decrypts lands in the account's phone inbox (`Sandbox::phone_inbox`); what does
//! not is logged and reported as `SandboxEvent::PhoneUndecryptable`. The phone sends no
//! receipts and no retry requests. Encrypting *from* the phone (the app-state key share,
//! `phone.rs`; its own messages, `phone_send.rs`) uses the same sessions.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use anyhow::{Context, Result, anyhow, bail};
use wacore::libsignal::protocol::{
    GenericSignedPreKey, IdentityKeyPair, PreKeyId, PreKeyRecord, PreKeySignalMessage, PreKeyStore, ProtocolAddress,
    SenderKeyDistributionMessage, SenderKeyName, SenderKeyRecord, SenderKeyStore, SignalMessage, SignedPreKeyId,
    SignedPreKeyRecord, SignedPreKeyStore, Timestamp, UsePQRatchet, error::Result as SignalResult, group_decrypt,
    message_decrypt_prekey, message_decrypt_signal, process_sender_key_distribution_message,
};
use wacore_binary::{Jid, Node, Server};
use waproto::whatsapp as wa;
use whatsapp_rust::async_trait;

use crate::contacts::InboxEntry;
use crate::events::SandboxEvent;
use crate::hub::Hub;
use crate::nodes::{attr, children, jid_attr};
use crate::phone::{Identity, Sessions};

/// Most entries one phone inbox keeps (oldest dropped first).
const INBOX_CAP: usize = 1000;

/// Sessions and sender keys of every account's phone.
#[derive(Default)]
pub(crate) struct PhoneSignal {
    accounts: HashMap<String, PhoneState>,
}

#[derive(Default)]
pub(crate) struct PhoneState {
    pub sessions: Sessions,
    pub sender_keys: SenderKeys,
}

impl PhoneSignal {
    pub fn account(&mut self, phone: &str) -> &mut PhoneState {
        self.accounts.entry(phone.to_string()).or_default()
    }
}

#[derive(Default)]
pub(crate) struct SenderKeys(HashMap<String, SenderKeyRecord>);

#[async_trait]
impl SenderKeyStore for SenderKeys {
    async fn store_sender_key(&mut self, name: &SenderKeyName, record: SenderKeyRecord) -> SignalResult<()> {
        self.0.insert(format!("{}|{}", name.group_id(), name.sender_id()), record);
        Ok(())
    }

    async fn load_sender_key(&self, name: &SenderKeyName) -> SignalResult<Option<SenderKeyRecord>> {
        Ok(self.0.get(&format!("{}|{}", name.group_id(), name.sender_id())).cloned())
    }
}

/// The phone's prekeys for one decryption, copied out of the account.
struct PreKeys {
    one_time: HashMap<u32, PreKeyRecord>,
    signed: SignedPreKeyRecord,
}

#[async_trait]
impl PreKeyStore for PreKeys {
    async fn get_pre_key(&self, id: PreKeyId) -> SignalResult<PreKeyRecord> {
        self.one_time
            .get(&u32::from(id))
            .cloned()
            .ok_or(wacore::libsignal::protocol::SignalProtocolError::InvalidPreKeyId)
    }

    async fn save_pre_key(&mut self, id: PreKeyId, record: &PreKeyRecord) -> SignalResult<()> {
        self.one_time.insert(id.into(), record.clone());
        Ok(())
    }

    async fn remove_pre_key(&mut self, id: PreKeyId) -> SignalResult<()> {
        self.one_time.remove(&u32::from(id));
        Ok(())
    }
}

#[async_trait]
impl SignedPreKeyStore for PreKeys {
    async fn get_signed_pre_key(&self, _id: SignedPreKeyId) -> SignalResult<SignedPreKeyRecord> {
        Ok(self.signed.clone())
    }

    async fn save_signed_pre_key(&mut self, _id: SignedPreKeyId, _record: &SignedPreKeyRecord) -> SignalResult<()> {
        Ok(())
    }
}

/// Starts the task that reads everything sent to device 0; it ends with the hub.
pub(crate) fn spawn(hub: &Arc<Hub>) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, Node)>();
    hub.state().phone_tx = Some(tx);
    let weak: Weak<Hub> = Arc::downgrade(hub);
    let stopped = hub.stopped();
    tokio::spawn(async move {
        tokio::pin!(stopped);
        loop {
            let (phone, node) = tokio::select! {
                next = rx.recv() => match next { Some(n) => n, None => break },
                _ = &mut stopped => break,
            };
            let Some(hub) = weak.upgrade() else { break };
            if node.tag != "message" {
                continue; // receipts, notifications: nothing for the phone to do
            }
            let id = attr(&node, "id").unwrap_or_default();
            match receive(&hub, &phone, &node).await {
                Ok(Some(entry)) => {
                    // Filed before it is announced, so a waiter finds it in the inbox.
                    let event = SandboxEvent::PhoneReceived { phone: phone.clone(), id: entry.id.clone() };
                    {
                        let mut st = hub.state();
                        let inbox = st.phone_inbox.entry(phone).or_default();
                        inbox.push(entry);
                        if inbox.len() > INBOX_CAP {
                            inbox.remove(0);
                        }
                    }
                    hub.emit(event);
                }
                Ok(None) => {}
                Err(e) => {
                    log::warn!("sandbox: the phone of {phone} cannot decrypt message {id}: {e:#}");
                    hub.emit(SandboxEvent::PhoneUndecryptable { phone, id, error: format!("{e:#}") });
                }
            }
        }
    });
}

/// Decrypts one `<message>` for `phone`'s phone. `None`: it carried nothing to file
/// (only a sender key, or a protocol message).
async fn receive(hub: &Hub, phone: &str, node: &Node) -> Result<Option<InboxEntry>> {
    let from = jid_attr(node, "from").context("message without from")?;
    let group = from.server == Server::Group;
    let sender = if group { jid_attr(node, "participant").context("group message without participant")? } else { from };
    let mut chat = if group { jid_attr(node, "from").context("from")? } else { sender.to_non_ad() };
    let remote = ProtocolAddress::new(sender.user.as_str(), u32::from(sender.device).into());
    let sender_id = remote.to_string();

    let (pair, registration_id, mut prekeys) = {
        let st = hub.state();
        let acct = st.accounts.get(phone).context("no such account")?;
        let keys = acct.phone_keys.as_ref().context("the account has no phone keys")?;
        let signed = keys.signed_pair().context("bad signed prekey")?;
        let signed_public = acct.devices.get(&crate::phone_keys::PHONE_DEVICE).context("no device 0")?;
        let signed = SignedPreKeyRecord::new(
            keys.signed_id.into(),
            Timestamp::from_epoch_millis(0),
            &signed,
            &signed_public.keys.signed_prekey.signature,
        );
        let one_time = keys
            .one_time
            .keys()
            .filter_map(|id| Some((*id, PreKeyRecord::new((*id).into(), &keys.one_time_pair(*id)?))))
            .collect();
        let pair: IdentityKeyPair = acct.account_key.clone().into();
        (pair, acct.registration_id, PreKeys { one_time, signed })
    };
    let mut identity = Identity::new(pair, registration_id);

    let mut signal = hub.phone_signal.lock().await;
    let state = signal.account(phone);
    let mut filed: Option<wa::Message> = None;
    let mut consumed = None;
    for enc in children(node).iter().filter(|c| c.tag == "enc") {
        let Some(bytes) = crate::nodes::bytes(enc) else { continue };
        let version: u8 = attr(enc, "v").and_then(|v| v.parse().ok()).unwrap_or(2);
        let mut rng = rand::make_rng::<rand::rngs::StdRng>();
        let plaintext = match attr(enc, "type").as_deref() {
            Some("pkmsg") => {
                let msg = PreKeySignalMessage::try_from(bytes)?;
                let signed_only = PreKeys { one_time: HashMap::new(), signed: prekeys.signed.clone() };
                let out = message_decrypt_prekey(
                    &msg,
                    &remote,
                    &mut state.sessions,
                    &mut identity,
                    &mut prekeys,
                    &signed_only,
                    &mut rng,
                    UsePQRatchet::No,
                )
                .await?;
                consumed = out.consumed_prekey_id.map(u32::from);
                out.plaintext
            }
            Some("msg") => {
                let msg = SignalMessage::try_from(bytes)?;
                message_decrypt_signal(&msg, &remote, &mut state.sessions, &mut identity, &mut rng).await?.plaintext
            }
            Some("skmsg") => {
                let name = SenderKeyName::new(chat.to_string(), sender_id.clone());
                group_decrypt(bytes, &mut state.sender_keys, &name).await?
            }
            other => bail!("unknown enc type {other:?}"),
        };
        let msg = wacore::messages::decode_plaintext(&plaintext, version).map_err(|e| anyhow!("{e}"))?;
        if let Some(skdm) = msg.sender_key_distribution_message.as_option()
            && let (Some(group_id), Some(axolotl)) =
                (skdm.group_id.as_deref(), skdm.axolotl_sender_key_distribution_message.as_deref())
        {
            let dist = SenderKeyDistributionMessage::try_from(axolotl)?;
            let name = SenderKeyName::new(group_id.to_string(), sender_id.clone());
            process_sender_key_distribution_message(&name, &dist, &mut state.sender_keys).await?;
        }
        filed = Some(msg);
    }
    drop(signal);
    if let Some(id) = consumed
        && let Some(keys) = hub.state().accounts.get_mut(phone).and_then(|a| a.phone_keys.as_mut())
    {
        keys.one_time.remove(&id);
    }

    let Some(mut msg) = filed else { return Ok(None) };
    if let Some(dsm) = msg.device_sent_message.as_option() {
        // A companion's copy of what it sent: file it under the chat it went to.
        if let Some(dest) = dsm.destination_jid.as_deref().and_then(|j| j.parse::<Jid>().ok()) {
            chat = dest;
        }
        msg = dsm.message.as_option().cloned().unwrap_or_default();
    }
    let text = msg.conversation.clone().or_else(|| msg.extended_text_message.as_option().and_then(|t| t.text.clone()));
    if text.is_none() && msg.image_message.as_option().is_none() {
        return Ok(None); // sender-key-only, protocol and other non-content messages
    }
    Ok(Some(InboxEntry {
        id: attr(node, "id").unwrap_or_default(),
        from: sender.user.to_string(),
        push_name: attr(node, "notify").unwrap_or_default(),
        chat,
        text,
        reaction: None,
        // The phone files what a media message says (`message_json`), not its bytes.
        media: None,
        message_json: whatsapp_rust::serde_json::to_string(&msg).ok(),
    }))
}
