//! The other events' cases: receipts, presence, calls, this account's name, group
//! notifications and the session's lifecycle, each built by the pure function the gateway
//! calls on the corresponding whatsapp-rust event.

use serde_json::Value;
use warest::inbound::{groups, payloads};
use warest::sessions::events::{StatusDetail, status_payload};
use warest::sessions::status::{Status, Tag};
use warest::store::sessions::Me;
use whatsapp_rust::Jid;
use whatsapp_rust::types::events::{ChatPresenceUpdate, GroupUpdate, PresenceUpdate, Receipt, SelfPushNameUpdated};
use whatsapp_rust::wacore::stanza::groups::{GroupNotificationAction as A, GroupParticipantInfo};
use whatsapp_rust::wacore::types::call::{CallAction, CallAudioCodec, IncomingCall};
use whatsapp_rust::wacore::types::message::MessageSource;
use whatsapp_rust::wacore::types::presence::{ChatPresence, ChatPresenceMedia, ReceiptType};

use super::{CONTACT, CONTACT_LID, GROUP, ME, ME_LID, at, data_of};

/// Another member of the group, by LID and phone number.
const OTHER: &str = "6289876543210@s.whatsapp.net";
const OTHER_LID: &str = "16507654321098765@lid";

fn jid(s: &str) -> Jid {
    s.parse().unwrap()
}

/// The contact's 1:1 chat, as a receipt or a typing notice from the contact addresses it.
fn from_contact() -> MessageSource {
    MessageSource { chat: jid(CONTACT), sender: jid(CONTACT), sender_alt: Some(jid(CONTACT_LID)), ..Default::default() }
}

/// A member of a LID-addressed group: by LID, with the phone number WhatsApp sends along.
fn member(lid: &str, pn: &str) -> GroupParticipantInfo {
    GroupParticipantInfo {
        jid: jid(lid),
        phone_number: Some(jid(pn)),
        display_name: None,
        r#type: None,
        lid: None,
        username: None,
        join_time: None,
        group_history_sent_state: None,
    }
}

/// A notification of the group, by `actor` (a LID; `actor_pn` its phone number).
fn group(actor: &str, actor_pn: &str, action: A) -> GroupUpdate {
    GroupUpdate::builder()
        .group_jid(jid(GROUP))
        .notification_id("3166521537".into())
        .participant(jid(actor))
        .participant_pn(jid(actor_pn))
        .timestamp(at())
        .is_lid_addressing_mode(true)
        .action(action)
        .build()
}

fn me() -> groups::Me {
    groups::Me { pn: Some(jid(ME)), lid: Some(jid(ME_LID)) }
}

/// (golden file, payload): one of each other event of the catalog.
pub(super) fn cases() -> Vec<(&'static str, Value)> {
    let mut out = vec![
        ("message_ack", receipt()),
        ("presence_update.contact", payloads::presence(&presence())),
        ("presence_update.chat", payloads::chat_presence(&typing())),
        ("call", payloads::call(&call(), false)),
        ("creds_update", payloads::creds(&renamed())),
    ];
    out.extend(group_cases());
    out.extend(status_cases());
    out
}

/// The contact read a message this session sent.
fn receipt() -> Value {
    let r = Receipt::builder()
        .source(from_contact())
        .message_ids(vec!["3EB0A1B2C3D4E5F60718".into()])
        .timestamp(at())
        .r#type(ReceiptType::Read)
        .offline(false)
        .build();
    payloads::receipt(&r).expect("a read receipt is a message_ack")
}

/// The contact went offline.
fn presence() -> PresenceUpdate {
    PresenceUpdate::builder().from(jid(CONTACT)).unavailable(true).last_seen(at()).build()
}

/// The contact is typing in its chat.
fn typing() -> ChatPresenceUpdate {
    ChatPresenceUpdate::builder()
        .source(from_contact())
        .state(ChatPresence::Composing)
        .media(ChatPresenceMedia::Text)
        .build()
}

/// This account's name changed (whatsapp-rust reports every change as the server's).
fn renamed() -> SelfPushNameUpdated {
    SelfPushNameUpdated::builder().from_server(true).old_name("Sales".into()).new_name("Sales Team".into()).build()
}

/// The contact rings this account (a voice call, not rejected).
fn call() -> IncomingCall {
    let action = CallAction::Offer {
        call_id: "A1B2C3D4E5F60718293A4B5C6D7E8F90".into(),
        call_creator: jid(CONTACT),
        caller_pn: None,
        caller_country_code: None,
        device_class: None,
        joinable: true,
        is_video: false,
        audio: vec![CallAudioCodec { enc: "opus".into(), rate: 16_000 }],
        group_jid: None,
    };
    IncomingCall::builder()
        .from(jid(CONTACT))
        .stanza_id("1732364392-1".into())
        .notify("Budi".into())
        .platform("android".into())
        .timestamp(at())
        .offline(false)
        .action(action)
        .build()
}

/// The contact adds this account, then another member, and renames the group; this
/// account leaves.
fn group_cases() -> Vec<(&'static str, Value)> {
    let join = group(CONTACT_LID, CONTACT, A::Add { participants: vec![member(ME_LID, ME)], reason: None });
    let add = group(CONTACT_LID, CONTACT, A::Add { participants: vec![member(OTHER_LID, OTHER)], reason: None });
    let leave = group(ME_LID, ME, A::Remove { participants: vec![member(ME_LID, ME)], reason: None });
    let subject = group(
        CONTACT_LID,
        CONTACT,
        A::Subject {
            subject: "Coffee orders".into(),
            subject_owner: Some(jid(CONTACT_LID)),
            subject_time: Some(1_732_364_392),
        },
    );
    [
        ("group_join", "group_join", join),
        ("group_participants", "group_participants", add),
        ("group_leave", "group_leave", leave),
        ("group_update", "group_update", subject),
    ]
    .into_iter()
    .map(|(name, event, g)| (name, data_of(name, event, groups::events(&g, &me()))))
    .collect()
}

/// The session shows a QR code, then is linked.
fn status_cases() -> Vec<(&'static str, Value)> {
    let qr = "2@Y29mZmVlLW9yZGVycw==,Z29sZGVuLXRlc3Q=,d2FyZXN0LXFy,c2FtcGxl";
    let account = Me {
        jid: Some(ME.into()),
        lid: Some(ME_LID.into()),
        push_name: Some("Sales".into()),
        platform: Some("android".into()),
    };
    vec![
        (
            "session_status.qr",
            status_payload(
                Tag::Qr,
                Status::ScanQrCode,
                &StatusDetail { qr: Some(qr), qr_duration_secs: Some(60), ..Default::default() },
            ),
        ),
        (
            "session_status.open",
            status_payload(Tag::Open, Status::Working, &StatusDetail { me: Some(&account), ..Default::default() }),
        ),
    ]
}
