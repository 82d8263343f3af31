//! What a queued send carries (stored as JSON in the job row) and how it becomes a
//! WhatsApp message proto at send time. Media is uploaded when the job runs, not when the
//! request is accepted, so a crash before the upload loses nothing.

use base64::Engine;
use serde::{Deserialize, Serialize};
use whatsapp_rust::client::Client;
use whatsapp_rust::wacore::download::MediaType;
use whatsapp_rust::waproto::buffa::MessageField;
use whatsapp_rust::waproto::whatsapp as wa;

/// Options every message kind shares.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Common {
    /// Quote this message id (a message of the same chat).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forwarded: bool,
    /// JIDs mentioned in the text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<String>,
}

impl Common {
    fn context(&self) -> Option<wa::ContextInfo> {
        if self.reply_to.is_none() && !self.forwarded && self.mentions.is_empty() {
            return None;
        }
        Some(wa::ContextInfo {
            stanza_id: self.reply_to.clone(),
            mentioned_jid: self.mentions.clone(),
            is_forwarded: self.forwarded.then_some(true),
            forwarding_score: self.forwarded.then_some(1),
            ..Default::default()
        })
    }
}

/// Media bytes stored with the job (base64 in the JSON payload), uploaded at send time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Media {
    pub base64: String,
    pub mimetype: String,
}

impl Media {
    pub fn new(bytes: &[u8], mimetype: &str) -> Self {
        Media { base64: base64::engine::general_purpose::STANDARD.encode(bytes), mimetype: mimetype.to_string() }
    }
}

/// One contact card, rendered as a vCard 3.0 when the job is accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Card {
    pub display_name: String,
    pub vcard: String,
}

/// The payload of one send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Content {
    Text {
        text: String,
        #[serde(default)]
        common: Common,
    },
    Image {
        media: Media,
        caption: Option<String>,
        #[serde(default)]
        view_once: bool,
        #[serde(default)]
        common: Common,
    },
    Document {
        media: Media,
        filename: String,
        caption: Option<String>,
        #[serde(default)]
        common: Common,
    },
    Location {
        latitude: f64,
        longitude: f64,
        name: Option<String>,
        address: Option<String>,
        url: Option<String>,
        #[serde(default)]
        common: Common,
    },
    Contact {
        cards: Vec<Card>,
        #[serde(default)]
        common: Common,
    },
    Poll {
        question: String,
        options: Vec<String>,
        selectable: u32,
        /// The poll's 32-byte secret (base64), fixed at acceptance so a resend carries the
        /// same one and votes stay decryptable.
        secret: String,
        #[serde(default)]
        common: Common,
    },
}

/// Why a message could not be built; upload failures are worth retrying.
#[derive(Debug)]
pub enum BuildError {
    Transient(String),
    Permanent(String),
}

/// Builds a vCard 3.0 for one contact with one or more phone numbers.
pub fn vcard(full_name: &str, phones: &[String], organization: Option<&str>, email: Option<&str>) -> String {
    // vCard values escape backslash, comma, semicolon and newlines.
    let esc = |v: &str| v.replace('\\', "\\\\").replace(',', "\\,").replace(';', "\\;").replace('\n', "\\n");
    let mut out = format!("BEGIN:VCARD\nVERSION:3.0\nFN:{}\n", esc(full_name));
    if let Some(org) = organization {
        out.push_str(&format!("ORG:{};\n", esc(org)));
    }
    for p in phones {
        let digits: String = p.chars().filter(char::is_ascii_digit).collect();
        out.push_str(&format!("TEL;type=CELL;type=VOICE;waid={digits}:+{digits}\n"));
    }
    if let Some(mail) = email {
        out.push_str(&format!("EMAIL:{}\n", esc(mail)));
    }
    out.push_str("END:VCARD");
    out
}

async fn upload(
    client: &Client,
    media: &Media,
    kind: MediaType,
) -> Result<whatsapp_rust::upload::UploadResponse, BuildError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(media.base64.as_bytes())
        .map_err(|e| BuildError::Permanent(format!("stored media is not base64: {e}")))?;
    client
        .upload(bytes, kind, whatsapp_rust::upload::UploadOptions::default())
        .await
        .map_err(|e| BuildError::Transient(format!("media upload failed: {e}")))
}

impl Content {
    /// The kind as the original's per-recipient `status` names it (`"text success"`).
    pub fn kind(&self) -> &'static str {
        match self {
            Content::Text { .. } => "text",
            Content::Image { .. } => "image",
            Content::Document { .. } => "document",
            Content::Location { .. } => "location",
            Content::Contact { .. } => "contact",
            Content::Poll { .. } => "poll",
        }
    }

    /// What identifies the content for idempotency and the spam cooldown: the payload
    /// without the per-request random parts (a poll's secret).
    pub fn fingerprint(&self) -> String {
        let mut c = self.clone();
        if let Content::Poll { secret, .. } = &mut c {
            secret.clear();
        }
        serde_json::to_string(&c).unwrap_or_default()
    }

    /// The message proto sent to WhatsApp, uploading media through `client` first.
    pub async fn build(&self, client: &Client) -> Result<wa::Message, BuildError> {
        Ok(match self {
            Content::Image { media, caption, view_once, common } => {
                let up = upload(client, media, MediaType::Image).await?;
                wa::Message {
                    image_message: MessageField::some(wa::message::ImageMessage {
                        url: Some(up.url),
                        direct_path: Some(up.direct_path),
                        media_key: Some(up.media_key.to_vec()),
                        file_enc_sha256: Some(up.file_enc_sha256.to_vec()),
                        file_sha256: Some(up.file_sha256.to_vec()),
                        file_length: Some(up.file_length),
                        media_key_timestamp: Some(up.media_key_timestamp),
                        mimetype: Some(media.mimetype.clone()),
                        caption: caption.clone(),
                        view_once: view_once.then_some(true),
                        context_info: common.context().map_or_else(MessageField::none, MessageField::some),
                        ..Default::default()
                    }),
                    ..Default::default()
                }
            }
            Content::Document { media, filename, caption, common } => {
                let up = upload(client, media, MediaType::Document).await?;
                wa::Message {
                    document_message: MessageField::some(wa::message::DocumentMessage {
                        url: Some(up.url),
                        direct_path: Some(up.direct_path),
                        media_key: Some(up.media_key.to_vec()),
                        file_enc_sha256: Some(up.file_enc_sha256.to_vec()),
                        file_sha256: Some(up.file_sha256.to_vec()),
                        file_length: Some(up.file_length),
                        media_key_timestamp: Some(up.media_key_timestamp),
                        mimetype: Some(media.mimetype.clone()),
                        file_name: Some(filename.clone()),
                        title: Some(filename.clone()),
                        caption: caption.clone(),
                        context_info: common.context().map_or_else(MessageField::none, MessageField::some),
                        ..Default::default()
                    }),
                    ..Default::default()
                }
            }
            other => other.to_message(),
        })
    }

    /// The message proto of the kinds that need no upload.
    pub fn to_message(&self) -> wa::Message {
        let ctx = |c: &Common| c.context().map_or_else(MessageField::none, MessageField::some);
        match self {
            Content::Image { .. } | Content::Document { .. } => wa::Message::default(),
            Content::Location { latitude, longitude, name, address, url, common } => wa::Message {
                location_message: MessageField::some(wa::message::LocationMessage {
                    degrees_latitude: Some(*latitude),
                    degrees_longitude: Some(*longitude),
                    name: name.clone(),
                    address: address.clone(),
                    url: url.clone(),
                    context_info: ctx(common),
                    ..Default::default()
                }),
                ..Default::default()
            },
            Content::Contact { cards, common } if cards.len() == 1 => wa::Message {
                contact_message: MessageField::some(wa::message::ContactMessage {
                    display_name: Some(cards[0].display_name.clone()),
                    vcard: Some(cards[0].vcard.clone()),
                    context_info: ctx(common),
                    ..Default::default()
                }),
                ..Default::default()
            },
            Content::Contact { cards, common } => wa::Message {
                contacts_array_message: MessageField::some(wa::message::ContactsArrayMessage {
                    display_name: Some(format!("{} contacts", cards.len())),
                    contacts: cards
                        .iter()
                        .map(|c| wa::message::ContactMessage {
                            display_name: Some(c.display_name.clone()),
                            vcard: Some(c.vcard.clone()),
                            ..Default::default()
                        })
                        .collect(),
                    context_info: ctx(common),
                }),
                ..Default::default()
            },
            Content::Poll { question, options, selectable, secret, common } => {
                let poll = wa::message::PollCreationMessage {
                    name: Some(question.clone()),
                    options: options
                        .iter()
                        .map(|o| wa::message::poll_creation_message::Option {
                            option_name: Some(o.clone()),
                            ..Default::default()
                        })
                        .collect(),
                    selectable_options_count: Some(*selectable),
                    context_info: ctx(common),
                    ..Default::default()
                };
                let secret = base64::engine::general_purpose::STANDARD.decode(secret.as_bytes()).unwrap_or_default();
                // WhatsApp Web sends single-choice polls as v3 and multi-choice as v1.
                let mut m = if *selectable == 1 {
                    wa::Message { poll_creation_message_v3: MessageField::some(poll), ..Default::default() }
                } else {
                    wa::Message { poll_creation_message: MessageField::some(poll), ..Default::default() }
                };
                m.message_context_info =
                    MessageField::some(wa::MessageContextInfo { message_secret: Some(secret), ..Default::default() });
                m
            }
            Content::Text { text, common } => match common.context() {
                // A plain conversation is what WhatsApp clients send for simple text.
                None => wa::Message { conversation: Some(text.clone()), ..Default::default() },
                Some(ctx) => wa::Message {
                    extended_text_message: MessageField::some(wa::message::ExtendedTextMessage {
                        text: Some(text.clone()),
                        context_info: MessageField::some(ctx),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_a_conversation_and_a_reply_carries_its_context() {
        let plain = Content::Text { text: "hi".into(), common: Common::default() }.to_message();
        assert_eq!(plain.conversation.as_deref(), Some("hi"));
        let reply = Content::Text {
            text: "re".into(),
            common: Common { reply_to: Some("ABC".into()), mentions: vec!["1@s.whatsapp.net".into()], forwarded: true },
        }
        .to_message();
        let ext = reply.extended_text_message.as_option().unwrap();
        let ctx = ext.context_info.as_option().unwrap();
        assert_eq!((ext.text.as_deref(), ctx.stanza_id.as_deref()), (Some("re"), Some("ABC")));
        assert_eq!((ctx.mentioned_jid.len(), ctx.is_forwarded), (1, Some(true)));
    }

    #[test]
    fn the_stored_payload_round_trips() {
        let c = Content::Text { text: "x".into(), common: Common { reply_to: Some("R".into()), ..Default::default() } };
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<Content>(&json).unwrap(), c);
    }
}
