//! What a queued send carries (stored as JSON in the job row) and how it becomes a
//! WhatsApp message proto at send time. Media is uploaded when the job runs, not when the
//! request is accepted, so a crash before the upload loses nothing.

use base64::Engine;
use serde::{Deserialize, Serialize};
use whatsapp_rust::client::Client;
use whatsapp_rust::wacore::download::MediaType;
use whatsapp_rust::waproto::buffa::MessageField;
use whatsapp_rust::waproto::whatsapp as wa;

use super::interactive::{Button, Frame, ListSection};
use super::preview::LinkPreview;

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
    /// Human-like pacing before the send (read, typing, pause); decided when the send is
    /// accepted from the request's `presence` or the session's `humanPacing` flag.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pacing: bool,
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

/// What WhatsApp shows before a visual medium is downloaded: its size, duration (video)
/// and a small JPEG preview (base64).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dims {
    pub width: Option<u32>,
    pub height: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<String>,
}

impl Dims {
    fn thumbnail(&self) -> Option<Vec<u8>> {
        self.thumbnail.as_ref().and_then(|t| base64::engine::general_purpose::STANDARD.decode(t).ok())
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
        /// The link preview, fetched when the send was accepted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        preview: Option<LinkPreview>,
        #[serde(default)]
        common: Common,
    },
    Image {
        media: Media,
        caption: Option<String>,
        #[serde(default)]
        view_once: bool,
        /// Picture size and preview, filled in when the image could be read.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dims: Option<Dims>,
        #[serde(default)]
        common: Common,
    },
    /// A video, or a GIF (sent as an MP4 with `gif_playback`).
    Video {
        media: Media,
        caption: Option<String>,
        #[serde(default)]
        view_once: bool,
        #[serde(default)]
        gif_playback: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dims: Option<Dims>,
        #[serde(default)]
        common: Common,
    },
    /// An audio file, or a voice note (`ptt`, Opus in Ogg).
    Audio {
        media: Media,
        #[serde(default)]
        ptt: bool,
        seconds: Option<u32>,
        #[serde(default)]
        common: Common,
    },
    Sticker {
        media: Media,
        width: u32,
        height: u32,
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
    Buttons {
        frame: Frame,
        buttons: Vec<Button>,
        /// Header image, uploaded at send time.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        image: Option<Media>,
        #[serde(default)]
        common: Common,
    },
    List {
        frame: Frame,
        button_text: String,
        sections: Vec<ListSection>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        image: Option<Media>,
        #[serde(default)]
        common: Common,
    },
    /// A message proto written by the caller as JSON of `wa::Message` (waproto's serde
    /// shape: snake_case field names), checked by `raw_message` when accepted. Kept as
    /// the caller's JSON, so the stored job reads back without waproto in the way.
    Raw {
        message: serde_json::Value,
        /// Only pacing applies; quotes and mentions belong in the caller's message.
        #[serde(default)]
        common: Common,
    },
}

/// Largest JSON of a raw message, in bytes.
pub const RAW_MAX_BYTES: usize = 64 * 1024;

/// The message proto of a raw send's JSON, or why it is not one.
pub fn raw_message(v: &serde_json::Value) -> Result<wa::Message, String> {
    if !v.is_object() {
        return Err("must be a JSON object (a WhatsApp Message)".into());
    }
    let len = v.to_string().len();
    if len > RAW_MAX_BYTES {
        return Err(format!("must be at most {RAW_MAX_BYTES} bytes of JSON, got {len}"));
    }
    let m: wa::Message = serde_json::from_value(v.clone()).map_err(|e| format!("not a WhatsApp message: {e}"))?;
    // Unknown fields are ignored by the derive: a message with none set is all typos.
    if m == wa::Message::default() {
        return Err("sets no message field (field names are snake_case, e.g. \"conversation\")".into());
    }
    Ok(m)
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

/// A media message's fields that every kind carries the same way: where the uploaded
/// blob is, its key and hashes, its type. The kind's own fields follow in braces.
macro_rules! uploaded {
    ($kind:ident, $up:expr, $media:expr, { $($field:ident: $value:expr),* $(,)? }) => {
        wa::message::$kind {
            url: Some($up.url),
            direct_path: Some($up.direct_path),
            media_key: Some($up.media_key.to_vec()),
            file_enc_sha256: Some($up.file_enc_sha256.to_vec()),
            file_sha256: Some($up.file_sha256.to_vec()),
            file_length: Some($up.file_length),
            media_key_timestamp: Some($up.media_key_timestamp),
            mimetype: Some($media.mimetype.clone()),
            $($field: $value,)*
            ..Default::default()
        }
    };
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

/// Uploads an interactive message's header image.
async fn header_image(client: &Client, media: &Media) -> Result<wa::message::ImageMessage, BuildError> {
    let up = upload(client, media, MediaType::Image).await?;
    Ok(uploaded!(ImageMessage, up, media, {}))
}

impl Content {
    /// The kind as the original's per-recipient `status` names it (`"text success"`).
    pub fn kind(&self) -> &'static str {
        match self {
            Content::Text { .. } => "text",
            Content::Image { .. } => "image",
            Content::Video { gif_playback: true, .. } => "gif",
            Content::Video { .. } => "video",
            Content::Audio { ptt: true, .. } => "ptt",
            Content::Audio { .. } => "audio",
            Content::Sticker { .. } => "sticker",
            Content::Document { .. } => "document",
            Content::Location { .. } => "location",
            Content::Contact { .. } => "contact",
            Content::Poll { .. } => "poll",
            Content::Raw { .. } => "raw",
            // As the original's status strings name them ("interactive button success").
            Content::Buttons { .. } => "interactive button",
            Content::List { .. } => "interactive list",
        }
    }

    /// The options every kind carries.
    pub fn common_mut(&mut self) -> &mut Common {
        match self {
            Content::Text { common, .. }
            | Content::Image { common, .. }
            | Content::Video { common, .. }
            | Content::Audio { common, .. }
            | Content::Sticker { common, .. }
            | Content::Document { common, .. }
            | Content::Location { common, .. }
            | Content::Contact { common, .. }
            | Content::Poll { common, .. }
            | Content::Buttons { common, .. }
            | Content::List { common, .. }
            | Content::Raw { common, .. } => common,
        }
    }

    /// The text a recipient reads, for the typing time of pacing and burst detection.
    pub fn visible_text(&self) -> &str {
        match self {
            Content::Text { text, .. } => text,
            Content::Image { caption, .. } | Content::Video { caption, .. } | Content::Document { caption, .. } => {
                caption.as_deref().unwrap_or("")
            }
            Content::Audio { .. } | Content::Sticker { .. } => "",
            Content::Location { name, .. } => name.as_deref().unwrap_or(""),
            Content::Contact { .. } | Content::Raw { .. } => "",
            Content::Poll { question, .. } => question,
            Content::Buttons { frame, .. } | Content::List { frame, .. } => &frame.text,
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
            Content::Image { media, caption, view_once, dims, common } => {
                let up = upload(client, media, MediaType::Image).await?;
                let dims = dims.clone().unwrap_or_default();
                wa::Message {
                    image_message: MessageField::some(uploaded!(ImageMessage, up, media, {
                        caption: caption.clone(),
                        view_once: view_once.then_some(true),
                        width: dims.width,
                        height: dims.height,
                        jpeg_thumbnail: dims.thumbnail(),
                        context_info: common.context().map_or_else(MessageField::none, MessageField::some),
                    })),
                    ..Default::default()
                }
            }
            Content::Video { media, caption, view_once, gif_playback, dims, common } => {
                let up = upload(client, media, MediaType::Video).await?;
                let dims = dims.clone().unwrap_or_default();
                wa::Message {
                    video_message: MessageField::some(uploaded!(VideoMessage, up, media, {
                        caption: caption.clone(),
                        view_once: view_once.then_some(true),
                        gif_playback: gif_playback.then_some(true),
                        seconds: dims.seconds,
                        width: dims.width,
                        height: dims.height,
                        jpeg_thumbnail: dims.thumbnail(),
                        context_info: common.context().map_or_else(MessageField::none, MessageField::some),
                    })),
                    ..Default::default()
                }
            }
            Content::Audio { media, ptt, seconds, common } => {
                let up = upload(client, media, MediaType::Audio).await?;
                wa::Message {
                    audio_message: MessageField::some(uploaded!(AudioMessage, up, media, {
                        ptt: ptt.then_some(true),
                        seconds: *seconds,
                        context_info: common.context().map_or_else(MessageField::none, MessageField::some),
                    })),
                    ..Default::default()
                }
            }
            Content::Sticker { media, width, height, common } => {
                let up = upload(client, media, MediaType::Sticker).await?;
                wa::Message {
                    sticker_message: MessageField::some(uploaded!(StickerMessage, up, media, {
                        width: Some(*width),
                        height: Some(*height),
                        is_animated: Some(false),
                        context_info: common.context().map_or_else(MessageField::none, MessageField::some),
                    })),
                    ..Default::default()
                }
            }
            Content::Document { media, filename, caption, common } => {
                let up = upload(client, media, MediaType::Document).await?;
                wa::Message {
                    document_message: MessageField::some(uploaded!(DocumentMessage, up, media, {
                        file_name: Some(filename.clone()),
                        title: Some(filename.clone()),
                        caption: caption.clone(),
                        context_info: common.context().map_or_else(MessageField::none, MessageField::some),
                    })),
                    ..Default::default()
                }
            }
            Content::Buttons { frame, buttons, image: Some(image), common } => {
                let img = header_image(client, image).await?;
                super::interactive::message(
                    frame,
                    super::interactive::buttons_flow(buttons),
                    Some(img),
                    common.context(),
                )
            }
            Content::List { frame, button_text, sections, image: Some(image), common } => {
                let img = header_image(client, image).await?;
                let flow = super::interactive::list_flow(button_text, sections);
                super::interactive::message(frame, flow, Some(img), common.context())
            }
            // Checked when accepted; a job stored by another build may still not parse.
            Content::Raw { message, .. } => raw_message(message).map_err(BuildError::Permanent)?,
            other => other.to_message(),
        })
    }

    /// The message proto of the kinds that need no upload.
    pub fn to_message(&self) -> wa::Message {
        let ctx = |c: &Common| c.context().map_or_else(MessageField::none, MessageField::some);
        match self {
            Content::Image { .. }
            | Content::Video { .. }
            | Content::Audio { .. }
            | Content::Sticker { .. }
            | Content::Document { .. } => wa::Message::default(),
            Content::Buttons { frame, buttons, common, .. } => {
                super::interactive::message(frame, super::interactive::buttons_flow(buttons), None, common.context())
            }
            Content::List { frame, button_text, sections, common, .. } => super::interactive::message(
                frame,
                super::interactive::list_flow(button_text, sections),
                None,
                common.context(),
            ),
            Content::Raw { message, .. } => raw_message(message).unwrap_or_default(),
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
            Content::Text { text, preview, common } => match (common.context(), preview) {
                // A plain conversation is what WhatsApp clients send for simple text.
                (None, None) => wa::Message { conversation: Some(text.clone()), ..Default::default() },
                (ctx, preview) => wa::Message {
                    extended_text_message: MessageField::some(wa::message::ExtendedTextMessage {
                        text: Some(text.clone()),
                        matched_text: preview.as_ref().map(|p| p.url.clone()),
                        title: preview.as_ref().map(|p| p.title.clone()),
                        description: preview.as_ref().and_then(|p| p.description.clone()),
                        jpeg_thumbnail: preview.as_ref().and_then(LinkPreview::thumbnail_bytes),
                        context_info: ctx.map_or_else(MessageField::none, MessageField::some),
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
        let plain = Content::Text { text: "hi".into(), preview: None, common: Common::default() }.to_message();
        assert_eq!(plain.conversation.as_deref(), Some("hi"));
        let reply = Content::Text {
            text: "re".into(),
            preview: None,
            common: Common {
                reply_to: Some("ABC".into()),
                mentions: vec!["1@s.whatsapp.net".into()],
                forwarded: true,
                pacing: false,
            },
        }
        .to_message();
        let ext = reply.extended_text_message.as_option().unwrap();
        let ctx = ext.context_info.as_option().unwrap();
        assert_eq!((ext.text.as_deref(), ctx.stanza_id.as_deref()), (Some("re"), Some("ABC")));
        assert_eq!((ctx.mentioned_jid.len(), ctx.is_forwarded), (1, Some(true)));
    }

    #[test]
    fn a_raw_message_parses_and_bad_ones_say_why() {
        let m = raw_message(&serde_json::json!({ "conversation": "hi" })).unwrap();
        assert_eq!(m.conversation.as_deref(), Some("hi"));
        let ext = raw_message(&serde_json::json!({ "extended_text_message": { "text": "yo" } })).unwrap();
        assert_eq!(ext.extended_text_message.as_option().and_then(|e| e.text.as_deref()), Some("yo"));
        assert!(raw_message(&serde_json::json!({ "conversation": 5 })).unwrap_err().contains("not a WhatsApp message"));
        assert!(raw_message(&serde_json::json!({ "conversaton": "typo" })).unwrap_err().contains("no message field"));
        assert!(raw_message(&serde_json::json!("hi")).unwrap_err().contains("object"));
        let big = "x".repeat(RAW_MAX_BYTES);
        assert!(raw_message(&serde_json::json!({ "conversation": big })).unwrap_err().contains("at most"));
    }

    #[test]
    fn the_stored_payload_round_trips() {
        let c = Content::Text {
            text: "x".into(),
            preview: None,
            common: Common { reply_to: Some("R".into()), ..Default::default() },
        };
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<Content>(&json).unwrap(), c);
        // A payload stored before previews and pacing existed still reads.
        let old: Content = serde_json::from_str(r#"{"type":"text","text":"x","common":{}}"#).unwrap();
        assert_eq!(old, Content::Text { text: "x".into(), preview: None, common: Common::default() });
    }

    #[test]
    fn a_preview_turns_text_into_an_extended_text_with_title_and_thumbnail() {
        let preview = LinkPreview {
            url: "https://a.io".into(),
            title: "A title".into(),
            description: Some("desc".into()),
            thumbnail: Some("/9j/".into()),
        };
        let m = Content::Text { text: "see https://a.io".into(), preview: Some(preview), common: Common::default() }
            .to_message();
        let ext = m.extended_text_message.as_option().unwrap();
        assert_eq!((ext.matched_text.as_deref(), ext.title.as_deref()), (Some("https://a.io"), Some("A title")));
        assert_eq!(ext.jpeg_thumbnail.as_deref(), Some(&[0xFF, 0xD8, 0xFF][..]));
        assert!(ext.context_info.as_option().is_none());
    }
}
