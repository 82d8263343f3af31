//! Interactive messages (buttons and lists) as WhatsApp Web sends them today: an
//! `interactiveMessage` with a `nativeFlowMessage` whose buttons are `quick_reply`,
//! `cta_url`, `cta_call` or one `single_select` (the list). The legacy `buttonsMessage`
//! and `listMessage` are no longer rendered by current phones for non-business senders.
//!
//! The message stays at the top level (not wrapped in `viewOnceMessage`): whatsapp-rust
//! derives the `<biz>` stanza node phones need to render it only from a top-level
//! `interactiveMessage` (or one inside `documentWithCaptionMessage`), as WhatsApp Web does.

use serde::{Deserialize, Serialize};
use serde_json::json;
use wa::message::interactive_message::{self as im, NativeFlowMessage, native_flow_message::NativeFlowButton};
use whatsapp_rust::waproto::buffa::MessageField;
use whatsapp_rust::waproto::whatsapp as wa;

/// One button of a button message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Button {
    /// Answers with `id` when tapped.
    Reply { id: String, display_text: String },
    /// Opens `url`.
    Url { display_text: String, url: String },
    /// Calls `phone_number`.
    Call { display_text: String, phone_number: String },
}

impl Button {
    pub fn display_text(&self) -> &str {
        match self {
            Button::Reply { display_text, .. }
            | Button::Url { display_text, .. }
            | Button::Call { display_text, .. } => display_text,
        }
    }

    fn native(&self) -> NativeFlowButton {
        let (name, params) = match self {
            Button::Reply { id, display_text } => ("quick_reply", json!({ "display_text": display_text, "id": id })),
            Button::Url { display_text, url } => {
                ("cta_url", json!({ "display_text": display_text, "url": url, "merchant_url": url }))
            }
            Button::Call { display_text, phone_number } => {
                ("cta_call", json!({ "display_text": display_text, "phone_number": phone_number }))
            }
        };
        NativeFlowButton { name: Some(name.to_string()), button_params_json: Some(params.to_string()) }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListRow {
    pub id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListSection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub rows: Vec<ListRow>,
}

/// What both interactive kinds show around their buttons.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Frame {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub footer: Option<String>,
}

/// The `single_select` button that opens a list.
fn list_button(button_text: &str, sections: &[ListSection]) -> NativeFlowButton {
    let sections: Vec<_> = sections
        .iter()
        .map(|s| {
            let rows: Vec<_> = s
                .rows
                .iter()
                .map(|r| json!({ "header": "", "title": r.title, "description": r.description.clone().unwrap_or_default(), "id": r.id }))
                .collect();
            json!({ "title": s.title.clone().unwrap_or_default(), "highlight_label": "", "rows": rows })
        })
        .collect();
    NativeFlowButton {
        name: Some("single_select".to_string()),
        button_params_json: Some(json!({ "title": button_text, "sections": sections }).to_string()),
    }
}

/// The native-flow buttons of a button message.
pub fn buttons_flow(buttons: &[Button]) -> Vec<NativeFlowButton> {
    buttons.iter().map(Button::native).collect()
}

/// The native-flow button of a list message.
pub fn list_flow(button_text: &str, sections: &[ListSection]) -> Vec<NativeFlowButton> {
    vec![list_button(button_text, sections)]
}

/// Assembles the message; `image` is an uploaded header image.
pub fn message(
    frame: &Frame,
    flow: Vec<NativeFlowButton>,
    image: Option<wa::message::ImageMessage>,
    context: Option<wa::ContextInfo>,
) -> wa::Message {
    let has_image = image.is_some();
    let header = (frame.title.is_some() || has_image).then(|| im::Header {
        title: frame.title.clone(),
        has_media_attachment: Some(has_image),
        media: image.map(|i| im::header::Media::ImageMessage(Box::new(i))),
        ..Default::default()
    });
    wa::Message {
        interactive_message: MessageField::some(wa::message::InteractiveMessage {
            header: header.map_or_else(MessageField::none, MessageField::some),
            body: MessageField::some(im::Body { text: Some(frame.text.clone()) }),
            footer: frame.footer.as_ref().map_or_else(MessageField::none, |f| {
                MessageField::some(im::Footer { text: Some(f.clone()), ..Default::default() })
            }),
            interactive_message: Some(im::InteractiveMessage::NativeFlowMessage(Box::new(NativeFlowMessage {
                buttons: flow,
                message_params_json: Some("{}".to_string()),
                message_version: Some(1),
            }))),
            context_info: context.map_or_else(MessageField::none, MessageField::some),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buttons_become_native_flow_buttons_with_their_params() {
        let b = [
            Button::Reply { id: "agent".into(), display_text: "Talk to agent".into() },
            Button::Url { display_text: "Open".into(), url: "https://example.com".into() },
            Button::Call { display_text: "Call".into(), phone_number: "+62811".into() },
        ];
        let frame = Frame { text: "Need help?".into(), title: None, footer: Some("Support".into()) };
        let m = message(&frame, buttons_flow(&b), None, None);
        let i = m.interactive_message.as_option().unwrap();
        let Some(im::InteractiveMessage::NativeFlowMessage(nf)) = &i.interactive_message else { panic!("native flow") };
        let names: Vec<_> = nf.buttons.iter().map(|b| b.name.as_deref().unwrap()).collect();
        assert_eq!(names, ["quick_reply", "cta_url", "cta_call"]);
        let p: serde_json::Value = serde_json::from_str(nf.buttons[0].button_params_json.as_deref().unwrap()).unwrap();
        assert_eq!((p["display_text"].as_str(), p["id"].as_str()), (Some("Talk to agent"), Some("agent")));
        assert_eq!(i.footer.as_option().unwrap().text.as_deref(), Some("Support"));
        assert!(i.header.as_option().is_none());
    }

    #[test]
    fn a_list_is_one_single_select_button_carrying_the_sections() {
        let sections = [ListSection {
            title: Some("Fruits".into()),
            rows: vec![ListRow { id: "apple".into(), title: "Apple".into(), description: Some("Red".into()) }],
        }];
        let flow = list_flow("Choose", &sections);
        assert_eq!(flow.len(), 1);
        let p: serde_json::Value = serde_json::from_str(flow[0].button_params_json.as_deref().unwrap()).unwrap();
        assert_eq!(p["title"], "Choose");
        assert_eq!(p["sections"][0]["rows"][0]["id"], "apple");
        assert_eq!(p["sections"][0]["title"], "Fruits");
    }
}
