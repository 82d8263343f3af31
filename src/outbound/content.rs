//! What a queued send carries (stored as JSON in the job row) and how it becomes a
//! WhatsApp message proto at send time. Media is uploaded when the job runs, not when the
//! request is accepted, so a crash before the upload loses nothing.

use serde::{Deserialize, Serialize};
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

/// The payload of one send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Content {
    Text {
        text: String,
        #[serde(default)]
        common: Common,
    },
}

impl Content {
    /// The kind as the original's per-recipient `status` names it (`"text success"`).
    pub fn kind(&self) -> &'static str {
        match self {
            Content::Text { .. } => "text",
        }
    }

    /// The message proto sent to WhatsApp.
    pub fn to_message(&self) -> wa::Message {
        match self {
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
