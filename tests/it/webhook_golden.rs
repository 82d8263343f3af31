//! Golden payloads (issue 17, item 2): the `data` of each message event, as the inbound
//! normalizer builds it from a fixed message, equals `tests/golden/webhooks/<name>.json`,
//! and `docs/webhooks.md` shows each of those files verbatim as the event's example, so the
//! document cannot drift from what receivers get. `WAREST_BLESS=1` rewrites the files
//! after an intended change (then review the diff).

use std::path::PathBuf;

use chrono::TimeZone;
use serde_json::Value;
use warest::inbound::normalize;
use whatsapp_rust::Jid;
use whatsapp_rust::wacore::types::message::{MessageInfo, MessageSource};
use whatsapp_rust::waproto::buffa::MessageField;
use whatsapp_rust::waproto::whatsapp as wa;

const CONTACT: &str = "6281234567890@s.whatsapp.net";
const CONTACT_LID: &str = "16501234567890123@lid";
const GROUP: &str = "120363025246125888@g.us";

fn info(id: &str, group: bool) -> MessageInfo {
    let chat: Jid = (if group { GROUP } else { CONTACT }).parse().unwrap();
    let source = MessageSource {
        chat,
        sender: CONTACT.parse().unwrap(),
        is_group: group,
        sender_alt: Some(CONTACT_LID.parse().unwrap()),
        ..Default::default()
    };
    MessageInfo {
        source,
        id: id.to_string(),
        push_name: "Budi".into(),
        timestamp: chrono::Utc.timestamp_opt(1_732_364_392, 0).unwrap(),
        ..Default::default()
    }
}

fn key(id: &str) -> MessageField<wa::MessageKey> {
    MessageField::some(wa::MessageKey {
        remote_jid: Some(CONTACT.into()),
        from_me: Some(true),
        id: Some(id.into()),
        participant: None,
    })
}

/// (golden file, event, message, info): one of each message event of the catalog.
fn cases() -> Vec<(&'static str, &'static str, wa::Message, MessageInfo)> {
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
    vec![
        ("message_received.text", "message_received", text, info("3EB0C0FFEE0000000001", false)),
        ("message_received.image_in_group", "message_received", image, info("3EB0C0FFEE0000000002", true)),
        ("message_command", "message_command", command, info("3EB0C0FFEE0000000003", false)),
        ("message_reaction", "message_reaction", reaction, info("3EB0C0FFEE0000000004", false)),
        ("message_edited", "message_edited", edit, info("3EB0C0FFEE0000000005", false)),
        ("message_revoked", "message_revoked", revoke, info("3EB0C0FFEE0000000006", false)),
    ]
}

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/webhooks")
}

#[test]
fn every_message_events_payload_equals_its_golden_file_and_its_example_in_the_docs() {
    let bless = std::env::var("WAREST_BLESS").is_ok_and(|v| v == "1");
    let docs = std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/webhooks.md")).unwrap();
    let mut failures = Vec::new();
    for (name, event, msg, info) in cases() {
        let out = normalize::message(&msg, &info, "!");
        let got: Value =
            out.iter().find(|n| n.event == event).unwrap_or_else(|| panic!("{name}: no {event}")).data.clone();
        let rendered = serde_json::to_string_pretty(&got).unwrap() + "\n";
        let path = golden_dir().join(format!("{name}.json"));
        if bless {
            std::fs::create_dir_all(golden_dir()).unwrap();
            std::fs::write(&path, &rendered).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if want != rendered {
            failures.push(format!("{name}: payload differs from {}:\n{rendered}", path.display()));
        }
        if !docs.contains(want.trim_end()) {
            failures.push(format!("{name}: docs/webhooks.md does not show {} verbatim", path.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
