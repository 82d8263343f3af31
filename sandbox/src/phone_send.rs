//! Sending from device 0: the virtual phone writes to another account.
//!
//! A real account's phone is a device like any other. A message typed on it is
//! encrypted to every device of the recipient and, wrapped as a `deviceSentMessage`
//! naming the chat, to the sender's own companions, which show it as their own
//! (`fromMe`). The sandbox's phone does the same with its Signal identity (the ADV
//! account key, `phone_keys.rs`) and the sessions it keeps in memory
//! (`phone_inbox.rs`): a session it already has with a device is continued (`msg`, or
//! `pkmsg` while the other side has not answered yet); a missing one is started from
//! the bundle the server holds for that device, popping a one-time prekey as a bundle
//! fetch would. The stanzas go out like relayed messages (queued for offline
//! devices); the recipient's own phone decrypts its copy into its inbox.

use anyhow::{Context, Result, anyhow, bail};
use buffa::Message as _;
use wacore::libsignal::protocol::{
    CiphertextMessage, IdentityKeyPair, ProtocolAddress, SessionStore, UsePQRatchet, message_encrypt,
    process_prekey_bundle,
};
use wacore::messages::MessageUtils;
use wacore_binary::builder::NodeBuilder;
use wacore_binary::{Jid, Node};
use waproto::whatsapp as wa;

use crate::accounts::DeviceAddr;
use crate::events::SandboxEvent;
use crate::harness::Sandbox;
use crate::hub::Hub;
use crate::nodes::{now, random_id};
use crate::phone::{Identity, Sessions, take_bundle};
use crate::phone_keys::PHONE_DEVICE;

/// Largest image the phone sends (the media host's own limit is higher).
const MAX_IMAGE_BYTES: usize = 16 * 1024 * 1024;

/// What goes into the stanza besides the ciphertext.
struct Outgoing {
    message: wa::Message,
    /// `mediatype` of the `<enc>` (`image`), none for text.
    media_type: Option<&'static str>,
}

/// One device to encrypt for; `own` marks the sender's companions (they get the copy).
struct Target {
    addr: DeviceAddr,
    own: bool,
}

impl Sandbox {
    /// The virtual phone of `from` (device 0) sends `text` to the account of phone number
    /// `to`: every device of `to` receives it from `<from>@s.whatsapp.net` (device 0), and
    /// `from`'s companions receive it as their own (`fromMe`, chat `to`). Returns the
    /// message id.
    pub async fn phone_send_text(&self, from: &str, to: &str, text: &str) -> Result<String> {
        let message = wa::Message { conversation: Some(text.to_string()), ..Default::default() };
        send(&self.hub, from, to, Outgoing { message, media_type: None }).await
    }

    /// The virtual phone of `from` sends an image: encrypted and put on the sandbox's
    /// media host as a client upload would be, then sent like `phone_send_text`.
    pub async fn phone_send_image(
        &self,
        from: &str,
        to: &str,
        bytes: Vec<u8>,
        mimetype: &str,
        caption: Option<&str>,
    ) -> Result<String> {
        if bytes.is_empty() || bytes.len() > MAX_IMAGE_BYTES {
            bail!("an image must be 1 byte to {MAX_IMAGE_BYTES} bytes");
        }
        let enc = wacore::upload::encrypt_media(&bytes, wacore::download::MediaType::Image)
            .map_err(|e| anyhow!("encrypting the image: {e}"))?;
        let direct_path = format!("/v/t62.sandbox/phone-{}", random_id());
        self.hub.media.put(direct_path.clone(), enc.data_to_upload);
        let image = wa::message::ImageMessage {
            url: Some(format!("https://{}{direct_path}", self.hub.media.host())),
            direct_path: Some(direct_path),
            media_key: Some(enc.media_key.to_vec()),
            file_enc_sha256: Some(enc.file_enc_sha256.to_vec()),
            file_sha256: Some(enc.file_sha256.to_vec()),
            file_length: Some(bytes.len() as u64),
            mimetype: Some(mimetype.to_string()),
            caption: caption.map(str::to_string),
            ..Default::default()
        };
        let message = wa::Message { image_message: buffa::MessageField::some(image), ..Default::default() };
        send(&self.hub, from, to, Outgoing { message, media_type: Some("image") }).await
    }
}

/// Encrypts `out` from `from`'s phone to every device of `to` and to `from`'s
/// companions, and hands the stanzas out.
async fn send(hub: &Hub, from: &str, to: &str, out: Outgoing) -> Result<String> {
    let id = random_id();
    let chat = Jid::pn(to);
    let (pair, registration_id, push_name, targets) = {
        let st = hub.state();
        let acct = st.accounts.get(from).with_context(|| format!("no account {from}"))?;
        if st.accounts.get(to).is_none() {
            bail!("no account {to}");
        }
        if from == to {
            bail!("the phone does not message its own number");
        }
        let mut targets = Vec::new();
        if crate::blocklist::is_blocked(&st, to, from) {
            // As for any sender: the phone's own devices still get their copy.
            hub.emit(SandboxEvent::MessageBlocked { id: id.clone(), from: from.to_string(), to_phone: to.to_string() });
        } else {
            targets.extend(st.accounts.devices_of(to).into_iter().map(|addr| Target { addr, own: false }));
        }
        let own = st.accounts.devices_of(from).into_iter().filter(|a| a.1 != PHONE_DEVICE);
        targets.extend(own.map(|addr| Target { addr, own: true }));
        let pair: IdentityKeyPair = acct.account_key.clone().into();
        (pair, acct.registration_id, acct.push_name.clone(), targets)
    };

    let copy = wa::Message {
        device_sent_message: buffa::MessageField::some(wa::message::DeviceSentMessage {
            destination_jid: Some(chat.to_string()),
            message: buffa::MessageField::some(out.message.clone()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let to_them = MessageUtils::pad_message_v2(out.message.encode_to_vec());
    let to_own = MessageUtils::pad_message_v2(copy.encode_to_vec());

    let mut identity = Identity::new(pair, registration_id);
    let mut signal = hub.phone_signal.lock().await;
    let sessions = &mut signal.account(from).sessions;
    let mut nodes = Vec::new();
    for t in targets {
        let plaintext = if t.own { &to_own } else { &to_them };
        // One device without keys (or a broken bundle) must not stop the others.
        match encrypt(hub, sessions, &mut identity, &t.addr, plaintext).await {
            Ok(enc) => nodes.push((t.addr.clone(), stanza(&id, from, &push_name, &out, enc, t.own.then_some(&chat)))),
            Err(e) => log::warn!("sandbox: the phone of {from} cannot encrypt for {}:{}: {e:#}", t.addr.0, t.addr.1),
        }
    }
    drop(signal);

    relay(hub, from, &id, nodes);
    Ok(id)
}

/// Hands the phone's sealed stanzas to the devices (queued for offline ones), as the
/// server relays a client's message, and says so in the event log.
pub(crate) fn relay(hub: &Hub, from: &str, id: &str, nodes: Vec<(DeviceAddr, Node)>) {
    let sender = Jid::pn(from).to_string();
    let mut st = hub.state();
    for (addr, node) in nodes {
        let live = st.deliver(&addr, node);
        let (to_phone, to_device) = addr;
        hub.emit(SandboxEvent::MessageRelayed { id: id.to_string(), from: sender.clone(), to_phone, to_device, live });
    }
}

/// Seals `plaintext` for one device, starting a session from its bundle when the phone
/// has none. Returns the `<enc>` type and ciphertext.
pub(crate) async fn encrypt(
    hub: &Hub,
    sessions: &mut Sessions,
    identity: &mut Identity,
    addr: &DeviceAddr,
    plaintext: &[u8],
) -> Result<(&'static str, Vec<u8>)> {
    let remote = ProtocolAddress::new(&addr.0, u32::from(addr.1).into());
    if !sessions.has_session(&remote).await? {
        let bundle = {
            let mut st = hub.state();
            let acct = st.accounts.get_mut(&addr.0).context("the account went away")?;
            let dev = acct.devices.get_mut(&addr.1).context("the device went away")?;
            let bundle = take_bundle(dev)?;
            if addr.1 == PHONE_DEVICE {
                crate::phone_keys::replenish(acct);
            }
            bundle
        };
        // A `Send` RNG: callers may be spawned tasks.
        let mut rng = rand::make_rng::<rand::rngs::StdRng>();
        process_prekey_bundle(&remote, sessions, identity, &bundle, &mut rng, UsePQRatchet::No).await?;
    }
    Ok(match message_encrypt(plaintext, &remote, sessions, identity).await? {
        CiphertextMessage::PreKeySignalMessage(m) => ("pkmsg", m.serialized().to_vec()),
        CiphertextMessage::SignalMessage(m) => ("msg", m.serialized().to_vec()),
        _ => bail!("unexpected ciphertext kind for a 1:1 session"),
    })
}

/// The `<message>` one device receives; a companion's copy names the chat in `recipient`.
fn stanza(
    id: &str,
    from: &str,
    push_name: &str,
    out: &Outgoing,
    (enc_type, ciphertext): (&'static str, Vec<u8>),
    recipient: Option<&Jid>,
) -> Node {
    let mut enc = NodeBuilder::new("enc").attr("v", "2").attr("type", enc_type);
    if let Some(mt) = out.media_type {
        enc = enc.attr("mediatype", mt);
    }
    let mut b = NodeBuilder::new("message")
        .attr("from", Jid::pn(from))
        .attr("id", id)
        .attr("t", now().to_string())
        .attr("type", if out.media_type.is_some() { "media" } else { "text" });
    if !push_name.is_empty() {
        b = b.attr("notify", push_name);
    }
    if let Some(r) = recipient {
        b = b.attr("recipient", r.clone());
    }
    b.children([enc.bytes(ciphertext).build()]).build()
}
