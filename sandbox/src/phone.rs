//! The virtual primary phone's first Signal duty: sharing the app-state sync key.
//!
//! A real phone sends each new companion an `appStateSyncKeyShare` protocol
//! message right after it logs in; until one arrives, a freshly paired client
//! waits 10 s before its first `Connected`. The sandbox's phone does the same,
//! encrypting with the account key as its Signal identity (the same key that
//! signs ADV identities, as on a real phone) over a one-off session built from
//! the companion's published bundle, kept among the phone's sessions (device 0
//! decrypts what comes back on it: `phone_inbox.rs`; messages the phone sends continue
//! it: `phone_send.rs`).

use std::collections::HashMap;

use anyhow::{Context, Result, anyhow};
use buffa::Message as _;
use wacore::libsignal::protocol::{
    CiphertextMessage, Direction, IdentityChange, IdentityKey, IdentityKeyPair, IdentityKeyStore, PreKeyBundle,
    ProtocolAddress, PublicKey, SessionRecord, SessionStore, UsePQRatchet, error::Result as SignalResult,
    message_encrypt, process_prekey_bundle,
};
use wacore::messages::MessageUtils;
use wacore_binary::Jid;
use wacore_binary::builder::NodeBuilder;
use waproto::whatsapp as wa;
use waproto::whatsapp::message::protocol_message::Type as ProtocolType;
use whatsapp_rust::async_trait;

use crate::accounts::{Device, DeviceAddr};
use crate::hub::Hub;
use crate::nodes::{now, random_id};

/// In-memory session store (the phone's, see `phone_inbox.rs`).
#[derive(Default)]
pub(crate) struct Sessions(HashMap<String, SessionRecord>);

#[async_trait]
impl SessionStore for Sessions {
    async fn load_session(&self, address: &ProtocolAddress) -> SignalResult<Option<SessionRecord>> {
        Ok(self.0.get(&address.to_string()).cloned())
    }

    async fn has_session(&self, address: &ProtocolAddress) -> SignalResult<bool> {
        Ok(self.0.contains_key(&address.to_string()))
    }

    async fn store_session(&mut self, address: &ProtocolAddress, record: SessionRecord) -> SignalResult<()> {
        self.0.insert(address.to_string(), record);
        Ok(())
    }
}

/// The phone's identity; it trusts whatever it is shown (the server vouches).
pub(crate) struct Identity {
    pair: IdentityKeyPair,
    registration_id: u32,
    known: HashMap<String, IdentityKey>,
}

impl Identity {
    pub fn new(pair: IdentityKeyPair, registration_id: u32) -> Self {
        Self { pair, registration_id, known: HashMap::new() }
    }
}

#[async_trait]
impl IdentityKeyStore for Identity {
    async fn get_identity_key_pair(&self) -> SignalResult<IdentityKeyPair> {
        Ok(self.pair.clone())
    }

    async fn get_local_registration_id(&self) -> SignalResult<u32> {
        Ok(self.registration_id)
    }

    async fn save_identity(
        &mut self,
        address: &ProtocolAddress,
        identity: &IdentityKey,
    ) -> SignalResult<IdentityChange> {
        self.known.insert(address.to_string(), *identity);
        Ok(IdentityChange::NewOrUnchanged)
    }

    async fn is_trusted_identity(
        &self,
        _address: &ProtocolAddress,
        _identity: &IdentityKey,
        _direction: Direction,
    ) -> SignalResult<bool> {
        Ok(true)
    }

    async fn get_identity(&self, address: &ProtocolAddress) -> SignalResult<Option<IdentityKey>> {
        Ok(self.known.get(&address.to_string()).copied())
    }
}

/// The bundle a prekey fetch would serve for `dev`, popping one of its one-time prekeys
/// (the phone starts sessions from what the server holds, like any sender).
pub(crate) fn take_bundle(dev: &mut Device) -> Result<PreKeyBundle> {
    let keys = &mut dev.keys;
    let pre_key = match keys.one_time.pop_front() {
        Some((id, k)) => Some((id.into(), PublicKey::from_djb_public_key_bytes(&k)?)),
        None => None,
    };
    Ok(PreKeyBundle::new(
        keys.registration_id,
        u32::from(dev.id).into(),
        pre_key,
        keys.signed_prekey.id.into(),
        PublicKey::from_djb_public_key_bytes(&keys.signed_prekey.public)?,
        keys.signed_prekey.signature.clone(),
        IdentityKey::new(PublicKey::from_djb_public_key_bytes(&keys.identity)?),
    )?)
}

/// Encrypts the account's app-state key for `addr` and hands it over (queued if
/// the device went away meanwhile).
pub(crate) async fn share_app_state_key(hub: &Hub, addr: &DeviceAddr) -> Result<()> {
    let (pair, registration_id, bundle, key_id, key_data, raw_id) = {
        let mut st = hub.state();
        let acct = st.accounts.get_mut(&addr.0).context("no such account")?;
        let pair: IdentityKeyPair = acct.account_key.clone().into();
        let (key_id, key_data) = acct.app_state_key.clone();
        let raw_id = acct.adv_raw_id;
        let registration_id = acct.registration_id;
        let dev = acct.devices.get_mut(&addr.1).context("no such device")?;
        let bundle = take_bundle(dev)?;
        dev.key_shared = true;
        (pair, registration_id, bundle, key_id, key_data, raw_id)
    };

    let share = wa::Message {
        protocol_message: buffa::MessageField::some(wa::message::ProtocolMessage {
            r#type: Some(ProtocolType::APP_STATE_SYNC_KEY_SHARE),
            app_state_sync_key_share: buffa::MessageField::some(wa::message::AppStateSyncKeyShare {
                keys: vec![wa::message::AppStateSyncKey {
                    key_id: buffa::MessageField::some(wa::message::AppStateSyncKeyId { key_id: Some(key_id) }),
                    key_data: buffa::MessageField::some(wa::message::AppStateSyncKeyData {
                        key_data: Some(key_data.to_vec()),
                        fingerprint: buffa::MessageField::some(wa::message::AppStateSyncKeyFingerprint {
                            raw_id: Some(raw_id),
                            current_index: Some(0),
                            device_indexes: vec![0],
                        }),
                        timestamp: Some(now() * 1000),
                    }),
                }],
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let plaintext = MessageUtils::pad_message_v2(share.encode_to_vec());

    let remote = ProtocolAddress::new(&addr.0, u32::from(addr.1).into());
    let mut identity = Identity::new(pair, registration_id);
    // The phone's own sessions: what the companion later encrypts back to device 0 on
    // the session this message starts is decrypted with it (`phone_inbox.rs`).
    let mut signal = hub.phone_signal.lock().await;
    let sessions = &mut signal.account(&addr.0).sessions;
    process_prekey_bundle(
        &remote,
        sessions,
        &mut identity,
        &bundle,
        // A `Send` RNG: this runs inside a spawned task.
        &mut rand::make_rng::<rand::rngs::StdRng>(),
        UsePQRatchet::No,
    )
    .await?;
    let history = MessageUtils::pad_message_v2(history_notification(hub)?.encode_to_vec());
    let mut nodes = Vec::new();
    for plain in [plaintext, history] {
        // Until the companion answers, every message on the new session is a pkmsg.
        let sealed = message_encrypt(&plain, &remote, sessions, &mut identity).await?;
        let CiphertextMessage::PreKeySignalMessage(pkmsg) = sealed else {
            return Err(anyhow!("a fresh session must produce a pkmsg"));
        };
        nodes.push(
            NodeBuilder::new("message")
                .attr("from", Jid::pn(addr.0.as_str()))
                .attr("id", random_id())
                .attr("t", now().to_string())
                .attr("type", "text")
                .attr("category", "peer")
                .children([NodeBuilder::new("enc")
                    .attr("v", "2")
                    .attr("type", "pkmsg")
                    .bytes(pkmsg.serialized().to_vec())
                    .build()])
                .build(),
        );
    }
    drop(signal);
    let mut st = hub.state();
    for node in nodes {
        st.deliver(addr, node);
    }
    Ok(())
}

/// The history a phone hands a new companion, here an empty initial bootstrap: a
/// `historySyncNotification` naming an encrypted, zlib-compressed `HistorySync` blob
/// on the media host. Clients wait for one after pairing (Baileys 6 holds back every
/// event until it arrives; Baileys 7 waits 20 s for it).
fn history_notification(hub: &Hub) -> Result<wa::Message> {
    use std::io::Write as _;
    let sync = wa::HistorySync {
        sync_type: wa::history_sync::HistorySyncType::INITIAL_BOOTSTRAP,
        progress: Some(100),
        chunk_order: Some(0),
        ..Default::default()
    };
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&sync.encode_to_vec())?;
    let compressed = z.finish()?;
    let enc = wacore::upload::encrypt_media(&compressed, wacore::download::MediaType::History)
        .map_err(|e| anyhow!("history blob: {e}"))?;
    let direct_path = format!("/v/t62.sandbox/history-{}", random_id());
    hub.media.put(direct_path.clone(), enc.data_to_upload.clone());
    Ok(wa::Message {
        protocol_message: buffa::MessageField::some(wa::message::ProtocolMessage {
            r#type: Some(ProtocolType::HISTORY_SYNC_NOTIFICATION),
            history_sync_notification: buffa::MessageField::some(wa::message::HistorySyncNotification {
                file_sha256: Some(enc.file_sha256.to_vec()),
                file_length: Some(compressed.len() as u64),
                media_key: Some(enc.media_key.to_vec()),
                file_enc_sha256: Some(enc.file_enc_sha256.to_vec()),
                direct_path: Some(direct_path),
                sync_type: Some(wa::message::HistorySyncType::INITIAL_BOOTSTRAP),
                chunk_order: Some(0),
                progress: Some(100),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    })
}
