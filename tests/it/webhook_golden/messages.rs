//! The message events' cases: each built by `normalize::message` from a fixed message.

use serde_json::Value;
use warest::inbound::normalize;
use whatsapp_rust::Jid;
use whatsapp_rust::wacore::types::message::{MessageInfo, MessageSource};
use whatsapp_rust::waproto::buffa::MessageField;
use whatsapp_rust::waproto::whatsapp as wa;

use super::{CONTACT, CONTACT_LID, GROUP, at, data_of};

fn info(id: &str, group: bool) -> MessageInfo {
    let chat: Jid = (if group { GROUP } else { CONTACT }).parse().unwrap();
    let source = MessageSource {
        chat,
        sender: CONTACT.parse().unwrap(),
        is_group: group,
        sender_alt: Some(CONTACT_LID.parse().unwrap()),
        ..Default::default()
    };
    MessageInfo { source, id: id.to_string(), push_name: "Budi".into(), timestamp: at(), ..Default::default() }
}

fn key(id: &str) -> MessageField<wa::MessageKey> {
    MessageField::some(wa::MessageKey {
        remote_jid: Some(CONTACT.into()),
        from_me: Some(true),
        id: Some(id.into()),
        participant: None,
    })
}

/// (golden file, payload): one of each message event of the catalog.
pub(super) fn cases() -> Vec<(&'static str, Value)> {
    use wa::message::protocol_message::Type;
    let text = wa::Message { conversation: Some("Hello from WhatsApp".into()), ..Default::default() };
    let image = wa::Message {
        image_message: MessageField::some(wa::message::ImageMessage {
            mimetype: Some("image/jpeg".into()),
            caption: Some("the invoice".into()),
            file_length: Some(48_213),
            file_sha256: Some(vec![7; 32]),
            ..Default::default()
        }),
        ..Default::default()
    };
    let command = wa::Message { conversation: Some("!order 2 coffee".into()), ..Default::default() };
    let reaction = wa::Message {
        reaction_message: MessageField::some(wa::message::ReactionMessage {
            key: key("3EB0A1B2C3D4E5F60718"),
            text: Some("👍".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let edit = wa::Message {
        protocol_message: MessageField::some(wa::message::ProtocolMessage {
            key: key("3EB0A1B2C3D4E5F60718"),
            r#type: Some(Type::MESSAGE_EDIT),
            edited_message: MessageField::some(wa::Message {
                conversation: Some("Hello again, corrected".into()),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let revoke = wa::Message {
        protocol_message: MessageField::some(wa::message::ProtocolMessage {
            key: key("3EB0A1B2C3D4E5F60718"),
            r#type: Some(Type::REVOKE),
            ..Default::default()
        }),
        ..Default::default()
    };
    let cases = [
        ("message_received.text", "message_received", text, info("3EB0C0FFEE0000000001", false)),
        ("message_received.image_in_group", "message_received", image, info("3EB0C0FFEE0000000002", true)),
        ("message_command", "message_command", command, info("3EB0C0FFEE0000000003", false)),
        ("message_reaction", "message_reaction", reaction, info("3EB0C0FFEE0000000004", false)),
        ("message_edited", "message_edited", edit, info("3EB0C0FFEE0000000005", false)),
        ("message_revoked", "message_revoked", revoke, info("3EB0C0FFEE0000000006", false)),
    ];
    cases
        .into_iter()
        .map(|(name, event, msg, info)| {
            let out = normalize::message(&msg, &info, "!").into_iter().map(|n| (n.event, n.data)).collect();
            (name, data_of(name, event, out))
        })
        .collect()
}
