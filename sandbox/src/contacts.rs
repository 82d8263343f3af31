//! Virtual contacts: accounts whose primary device is a real whatsapp-rust
//! client run by the sandbox itself.
//!
//! A contact is paired through the sandbox's own `link` hook like any other
//! client, so everything it sends and receives is truly end-to-end encrypted.
//! It records what it received (decrypted) in an inbox and reacts according to
//! its `Behaviour`. Tests drive it through the `Sandbox::contact_*` methods.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::sync::Notify;
use wacore::proto_helpers::MessageExt;
use wacore::types::events::Event;
use wacore_binary::Jid;
use waproto::whatsapp as wa;
use whatsapp_rust::Client;

use crate::client::{EventLog, TestClient};
use crate::harness::Sandbox;

/// How long contact setup (QR, link, login) may take before it is an error.
const SETUP_TIMEOUT: Duration = Duration::from_secs(30);

/// How a virtual contact reacts to incoming text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// Replies to every incoming text with the same text. Two echo contacts
    /// talking to each other would loop forever; don't do that.
    Echo,
    /// Records and says nothing.
    Silent,
}

/// One message a contact received, decrypted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboxEntry {
    pub id: String,
    /// Phone number (or LID user) of the sending account.
    pub from: String,
    /// The push name the server stamped on the message (`notify`), empty if none.
    pub push_name: String,
    pub chat: Jid,
    /// The text, for text messages.
    pub text: Option<String>,
    /// `(target message id, emoji)` for reactions.
    pub reaction: Option<(String, String)>,
    /// An image, video, audio, document or sticker, downloaded from the media host and
    /// decrypted.
    pub media: Option<InboxMedia>,
    /// The whole decrypted message as whatsapp-rust's proto JSON, for kinds the fields
    /// above do not cover (location, contact card, poll, buttons, …).
    pub message_json: Option<String>,
}

/// A media attachment a contact received, as it decrypted it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboxMedia {
    /// `image`, `video`, `audio`, `document` or `sticker`.
    pub kind: &'static str,
    pub mimetype: Option<String>,
    pub caption: Option<String>,
    pub bytes: Vec<u8>,
}

/// A call signal a contact received (`offer`, `reject`, `terminate`, …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallEntry {
    pub call_id: String,
    pub action: String,
    /// Phone number (or LID user) of the other side.
    pub from: String,
}

#[derive(Default)]
struct Inbox {
    entries: Mutex<Vec<InboxEntry>>,
    calls: Mutex<Vec<CallEntry>>,
    /// Message secrets of polls received, by poll message id, so the contact can vote.
    polls: Mutex<std::collections::HashMap<String, PollSeen>>,
    notify: Notify,
}

/// A poll a contact received: who created it, its secret, its options.
#[derive(Clone, Debug)]
struct PollSeen {
    creator: Jid,
    chat: Jid,
    secret: Vec<u8>,
}

/// A media attachment of a message, ready to download.
struct MediaPart {
    kind: &'static str,
    mimetype: Option<String>,
    caption: Option<String>,
    source: Box<dyn wacore::download::Downloadable + Send + Sync>,
}

fn media_of(m: &wa::Message) -> Option<MediaPart> {
    let m = m.get_base_message();
    if let Some(x) = m.image_message.as_option() {
        return Some(MediaPart {
            kind: "image",
            mimetype: x.mimetype.clone(),
            caption: x.caption.clone(),
            source: Box::new(x.clone()),
        });
    }
    if let Some(x) = m.video_message.as_option() {
        return Some(MediaPart {
            kind: "video",
            mimetype: x.mimetype.clone(),
            caption: x.caption.clone(),
            source: Box::new(x.clone()),
        });
    }
    if let Some(x) = m.audio_message.as_option() {
        return Some(MediaPart {
            kind: "audio",
            mimetype: x.mimetype.clone(),
            caption: None,
            source: Box::new(x.clone()),
        });
    }
    if let Some(x) = m.document_message.as_option() {
        return Some(MediaPart {
            kind: "document",
            mimetype: x.mimetype.clone(),
            caption: x.caption.clone(),
            source: Box::new(x.clone()),
        });
    }
    if let Some(x) = m.sticker_message.as_option() {
        return Some(MediaPart {
            kind: "sticker",
            mimetype: x.mimetype.clone(),
            caption: None,
            source: Box::new(x.clone()),
        });
    }
    None
}

impl Inbox {
    /// Adds a message unless one with the same sender and id is already there: WhatsApp
    /// apps key messages by (chat, sender, id), so a sender's resend of an id is one
    /// message. Returns whether it was new.
    fn record(&self, entry: InboxEntry) -> bool {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.iter().any(|e| e.id == entry.id && e.from == entry.from) {
            return false;
        }
        entries.push(entry);
        drop(entries);
        self.notify.notify_waiters();
        true
    }
}

pub(crate) struct Contact {
    pub(crate) client: TestClient,
    inbox: Arc<Inbox>,
    pub(crate) behaviour: Behaviour,
}

impl Contact {
    async fn start(sandbox: &Sandbox, phone: &str, behaviour: Behaviour) -> Result<Self> {
        let inbox = Arc::new(Inbox::default());
        let hook_inbox = inbox.clone();
        let client = TestClient::start_with_log(
            sandbox.client_setup(phone),
            Arc::new(EventLog::default()),
            move |ev, client| on_event(&hook_inbox, behaviour, &ev, client),
        )
        .await?;
        let qr = client.wait_for_qr(SETUP_TIMEOUT).await?;
        sandbox.link(&qr, phone)?;
        client.wait_for(SETUP_TIMEOUT, |e| matches!(e, Event::Connected(_))).await?;
        client.go_online().await;
        Ok(Self { client, inbox, behaviour })
    }
}

fn call_action(a: &wacore::types::call::CallAction) -> &'static str {
    use wacore::types::call::CallAction as A;
    match a {
        A::Offer { .. } => "offer",
        A::Accept { .. } => "accept",
        A::PreAccept { .. } => "preaccept",
        A::Reject { .. } => "reject",
        A::Terminate { .. } => "terminate",
        _ => "other",
    }
}

fn on_event(inbox: &Arc<Inbox>, behaviour: Behaviour, ev: &Event, client: Arc<Client>) {
    if let Event::IncomingCall(c) = ev {
        let entry = CallEntry {
            call_id: c.action.call_id().to_string(),
            action: call_action(&c.action).into(),
            from: c.from.user.to_string(),
        };
        inbox.calls.lock().unwrap_or_else(|p| p.into_inner()).push(entry);
        inbox.notify.notify_waiters();
        return;
    }
    let Event::Messages(batch) = ev else {
        return;
    };
    for m in batch.messages.iter() {
        if m.info.source.is_from_me {
            continue;
        }
        let text = m.message.text_content().map(str::to_string);
        let reaction = m.message.reaction_message.as_option().map(|r| {
            let target = r.key.as_option().and_then(|k| k.id.clone()).unwrap_or_default();
            (target, r.text.clone().unwrap_or_default())
        });
        let mut entry = InboxEntry {
            id: m.info.id.to_string(),
            from: m.info.source.sender.user.to_string(),
            push_name: m.info.push_name.clone(),
            chat: m.info.source.chat.clone(),
            text: text.clone(),
            reaction,
            media: None,
            message_json: None,
        };
        entry.message_json = whatsapp_rust::serde_json::to_string(&*m.message).ok();
        let base = m.message.get_base_message();
        let is_poll = base.poll_creation_message.is_set()
            || base.poll_creation_message_v2.is_set()
            || base.poll_creation_message_v3.is_set();
        if is_poll
            && let Some(secret) = m.message.message_context_info.as_option().and_then(|c| c.message_secret.clone())
        {
            let seen = PollSeen { creator: m.info.source.sender.to_non_ad(), chat: m.info.source.chat.clone(), secret };
            inbox.polls.lock().unwrap_or_else(|p| p.into_inner()).insert(entry.id.clone(), seen);
        }
        if let Some(media) = media_of(&m.message) {
            // The download is async; the entry lands in the inbox once the bytes are in.
            let (inbox, client) = (inbox.clone(), client.clone());
            tokio::spawn(async move {
                match client.download(media.source.as_ref()).await {
                    Ok(bytes) => {
                        entry.media = Some(InboxMedia {
                            kind: media.kind,
                            mimetype: media.mimetype,
                            caption: media.caption,
                            bytes,
                        });
                        inbox.record(entry);
                    }
                    Err(e) => log::warn!("sandbox contact: {} download failed: {e}", media.kind),
                }
            });
            continue;
        }
        if !inbox.record(entry) {
            continue;
        }
        if behaviour == Behaviour::Echo
            && let Some(text) = text
        {
            let chat = m.info.source.chat.clone();
            let client = client.clone();
            tokio::spawn(async move {
                if let Err(e) = client.send_text(chat, &text).await {
                    log::warn!("sandbox contact: echo failed: {e}");
                }
            });
        }
    }
}

impl Sandbox {
    pub(crate) fn contact(&self, phone: &str) -> Result<Arc<Contact>> {
        self.contacts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(phone)
            .cloned()
            .with_context(|| format!("no virtual contact {phone}"))
    }

    /// Creates a virtual contact on `phone`: a real client, paired and online.
    pub async fn create_contact(&self, phone: &str, behaviour: Behaviour) -> Result<Jid> {
        if self.contact(phone).is_ok() {
            bail!("virtual contact {phone} already exists");
        }
        let before = self.devices(phone);
        let contact = Contact::start(self, phone, behaviour).await?;
        if let Some(p) = &self.persist {
            // The device the contact's client runs as, to unlink it after a restart.
            let device = self.devices(phone).into_iter().find(|d| !before.contains(d));
            let echo = behaviour == Behaviour::Echo;
            p.note_contact(crate::persist::SavedContact { phone: phone.to_string(), echo, device });
        }
        self.contacts.lock().unwrap_or_else(|p| p.into_inner()).insert(phone.to_string(), Arc::new(contact));
        Ok(Jid::pn(phone))
    }

    /// The contact sends `text` to the account `to` (a phone number) or to a group it
    /// is in (`<id>@g.us`); returns the message id.
    pub async fn contact_send(&self, phone: &str, to: &str, text: &str) -> Result<String> {
        let c = self.contact(phone)?;
        let jid = if to.ends_with("@g.us") { to.parse::<Jid>()? } else { Jid::pn(to) };
        Ok(c.client.client.send_text(jid, text).await?.message_id)
    }

    /// The contact sends an image (uploaded to the sandbox's media host, encrypted like
    /// any WhatsApp media) to `to`; returns the message id.
    pub async fn contact_send_image(
        &self,
        phone: &str,
        to: &str,
        bytes: Vec<u8>,
        mimetype: &str,
        caption: Option<&str>,
    ) -> Result<String> {
        let c = self.contact(phone)?;
        let client = &c.client.client;
        let up = client
            .upload(bytes, wacore::download::MediaType::Image, whatsapp_rust::upload::UploadOptions::default())
            .await?;
        let image = wa::message::ImageMessage {
            url: Some(up.url.clone()),
            direct_path: Some(up.direct_path.clone()),
            media_key: Some(up.media_key.to_vec()),
            file_enc_sha256: Some(up.file_enc_sha256.to_vec()),
            file_sha256: Some(up.file_sha256.to_vec()),
            file_length: Some(up.file_length),
            mimetype: Some(mimetype.to_string()),
            caption: caption.map(str::to_string),
            ..Default::default()
        };
        let msg = wa::Message { image_message: buffa::MessageField::some(image), ..Default::default() };
        Ok(client.send_message(Jid::pn(to), msg).await?.message_id)
    }

    /// Test support: the contact sends an image message whose download fields a hostile
    /// sender chose (`direct_path`, `static_url`, the declared length), with random keys
    /// and hashes and nothing uploaded; returns the message id.
    pub async fn contact_send_crafted_image(
        &self,
        phone: &str,
        to: &str,
        direct_path: Option<&str>,
        static_url: Option<&str>,
        declared_len: u64,
    ) -> Result<String> {
        let c = self.contact(phone)?;
        let random = |n: usize| (0..n).map(|_| rand::random::<u8>()).collect::<Vec<u8>>();
        let image = wa::message::ImageMessage {
            url: static_url.map(str::to_string),
            direct_path: direct_path.map(str::to_string),
            static_url: static_url.map(str::to_string),
            media_key: Some(random(32)),
            file_enc_sha256: Some(random(32)),
            file_sha256: Some(random(32)),
            file_length: Some(declared_len),
            mimetype: Some("image/jpeg".to_string()),
            ..Default::default()
        };
        let msg = wa::Message { image_message: buffa::MessageField::some(image), ..Default::default() };
        Ok(c.client.client.send_message(Jid::pn(to), msg).await?.message_id)
    }

    /// The contact reacts with `emoji` to message `id` it received from `to`.
    pub async fn contact_react(&self, phone: &str, to: &str, id: &str, emoji: &str) -> Result<String> {
        let c = self.contact(phone)?;
        let key = wa::MessageKey {
            remote_jid: Some(Jid::pn(to).to_string()),
            from_me: Some(false),
            id: Some(id.to_string()),
            ..Default::default()
        };
        Ok(c.client.client.send_reaction(Jid::pn(to), key, emoji).await?.message_id)
    }

    /// The contact edits its own message `id` (sent to `to`) to `text`.
    pub async fn contact_edit(&self, phone: &str, to: &str, id: &str, text: &str) -> Result<String> {
        let c = self.contact(phone)?;
        let body = wa::Message { conversation: Some(text.to_string()), ..Default::default() };
        Ok(c.client.client.edit_message(Jid::pn(to), id, body).await?)
    }

    /// The contact deletes its own message `id` (sent to `to`) for everyone.
    pub async fn contact_revoke(&self, phone: &str, to: &str, id: &str) -> Result<()> {
        let c = self.contact(phone)?;
        c.client.client.revoke_message(Jid::pn(to), id, whatsapp_rust::send::RevokeType::Sender).await?;
        Ok(())
    }

    /// The contact marks messages from `chat` as read (read receipts).
    pub async fn contact_read(&self, phone: &str, chat: &str, ids: &[&str]) -> Result<()> {
        let c = self.contact(phone)?;
        c.client.client.mark_as_read(&Jid::pn(chat), None, ids).await
    }

    /// The contact shows "typing…" in its chat with `to`.
    pub async fn contact_typing(&self, phone: &str, to: &str) -> Result<()> {
        let c = self.contact(phone)?;
        c.client.client.chatstate().send_composing(&Jid::pn(to)).await?;
        Ok(())
    }

    /// Every client event the contact has seen so far, oldest first (messages, chat states
    /// such as "typing…", receipts): for tests about the order things reached it.
    pub fn contact_events(&self, phone: &str) -> Result<Vec<Arc<Event>>> {
        Ok(self.contact(phone)?.client.events.snapshot())
    }

    /// The contact votes on poll `poll_id` it received, choosing `options` (by name);
    /// returns the vote's message id. Fails if the contact never received that poll.
    pub async fn contact_vote(&self, phone: &str, poll_id: &str, options: &[&str]) -> Result<String> {
        let c = self.contact(phone)?;
        let seen = c.inbox.polls.lock().unwrap_or_else(|p| p.into_inner()).get(poll_id).cloned();
        let seen = seen.with_context(|| format!("{phone} has not received poll {poll_id}"))?;
        let names: Vec<String> = options.iter().map(|o| o.to_string()).collect();
        let sent = c.client.client.polls().vote(seen.chat, poll_id, &seen.creator, &seen.secret, &names).await?;
        Ok(sent.message_id)
    }

    /// The contact calls `to` (an offer, audio or video, as WhatsApp sends it: signalling
    /// only, no media keys); returns the call id.
    pub async fn contact_call(&self, phone: &str, to: &str, video: bool) -> Result<String> {
        let c = self.contact(phone)?;
        let client = &c.client.client;
        let me = client.pn().context("the contact is not logged in")?;
        let call_id = crate::nodes::random_id().to_uppercase();
        let stanza_id = crate::nodes::random_id();
        let node = wacore::stanza::call::build_offer(&wacore::stanza::call::OfferParams {
            call_id: &call_id,
            to: &Jid::pn(to),
            call_creator: &me,
            device_keys: &[],
            privacy_token: None,
            capability: None,
            device_identity: None,
            id: Some(&stanza_id),
            multi_device: false,
            video,
            audio_rates: &["8000", "16000"],
        });
        client.send_node(node).await?;
        Ok(call_id)
    }

    /// Call signals the contact received so far, oldest first.
    pub fn calls(&self, phone: &str) -> Result<Vec<CallEntry>> {
        let c = self.contact(phone)?;
        let calls = c.inbox.calls.lock().unwrap_or_else(|p| p.into_inner());
        Ok(calls.clone())
    }

    /// Waits until the contact received a call signal matching `pred`.
    pub async fn wait_call(
        &self,
        phone: &str,
        timeout: Duration,
        mut pred: impl FnMut(&CallEntry) -> bool,
    ) -> Result<CallEntry> {
        let c = self.contact(phone)?;
        let what = format!("a call signal to {phone}");
        wait_matching(&c.inbox.notify, &c.inbox.calls, timeout, &mut pred, &what).await
    }

    /// The whatsapp-rust client a contact runs, for what the `contact_*` helpers do not
    /// cover (groups: create, add, remove, promote, …).
    pub fn contact_client(&self, phone: &str) -> Result<Arc<Client>> {
        Ok(self.contact(phone)?.client.client.clone())
    }

    /// Waits until the contact's own client has reported an event matching `pred`
    /// (since it started): receipts it got (`Event::Receipt`), chat states, anything
    /// the inbox does not keep.
    pub async fn wait_contact_event(
        &self,
        phone: &str,
        timeout: Duration,
        pred: impl FnMut(&Event) -> bool,
    ) -> Result<Arc<Event>> {
        let c = self.contact(phone)?;
        c.client.wait_for(timeout, pred).await
    }

    /// What the contact has received so far, oldest first.
    pub fn inbox(&self, phone: &str) -> Result<Vec<InboxEntry>> {
        let c = self.contact(phone)?;
        let entries = c.inbox.entries.lock().unwrap_or_else(|p| p.into_inner());
        Ok(entries.clone())
    }

    /// Waits until the contact's inbox holds an entry matching `pred`.
    pub async fn wait_inbox(
        &self,
        phone: &str,
        timeout: Duration,
        mut pred: impl FnMut(&InboxEntry) -> bool,
    ) -> Result<InboxEntry> {
        let c = self.contact(phone)?;
        let what = format!("{phone}'s inbox");
        wait_matching(&c.inbox.notify, &c.inbox.entries, timeout, &mut pred, &what).await
    }
}

/// Waits until `list` holds an item matching `pred`, woken by `notify` (registered before
/// each look, so an item pushed between the look and the wait is not missed).
async fn wait_matching<T: Clone>(
    notify: &tokio::sync::Notify,
    list: &std::sync::Mutex<Vec<T>>,
    timeout: Duration,
    pred: &mut impl FnMut(&T) -> bool,
    what: &str,
) -> Result<T> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let notified = notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if let Some(e) = list.lock().unwrap_or_else(|p| p.into_inner()).iter().find(|e| pred(e)) {
            return Ok(e.clone());
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            bail!("timed out after {timeout:?} waiting on {what}");
        }
    }
}
