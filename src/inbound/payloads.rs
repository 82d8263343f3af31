//! The `data` of the catalog's non-message events, built from whatsapp-rust's events. Pure,
//! like `normalize`: `normalize_event` decides whether an event is delivered (the session's
//! flags), these decide what it says, so the golden tests can pin it without a client.

use serde_json::{Value, json};
use whatsapp_rust::types::events::{ChatPresenceUpdate, PresenceUpdate, Receipt, SelfPushNameUpdated};
use whatsapp_rust::wacore::types::call::{CallAction, IncomingCall};
use whatsapp_rust::wacore::types::presence::ReceiptType as R;

use super::normalize;

/// `message_ack`: the receipt's message state; `None` for receipts that are not one.
pub fn receipt(r: &Receipt) -> Option<Value> {
    let state = match r.r#type {
        R::Delivered => "delivered",
        R::Sent => "sent",
        R::Read | R::ReadSelf => "read",
        R::Played | R::PlayedSelf => "played",
        R::ServerError => "error",
        // Retry receipts are encryption plumbing, not message states.
        _ => return None,
    };
    let mut d = normalize::addressing(&r.source);
    d["messageIds"] = json!(r.message_ids.iter().map(|i| i.to_string()).collect::<Vec<_>>());
    d["ack"] = json!(state);
    d["timestamp"] = json!(r.timestamp.timestamp_millis());
    d["fromOffline"] = json!(r.offline);
    Some(d)
}

/// `presence_update` of a contact: online or not, and when last seen.
pub fn presence(p: &PresenceUpdate) -> Value {
    json!({ "jid": p.from.to_non_ad_string(), "presence": if p.unavailable { "unavailable" } else { "available" },
            "lastSeen": p.last_seen.map(|t| t.timestamp_millis()) })
}

/// `presence_update` of a chat: who is typing (or recording) there.
pub fn chat_presence(p: &ChatPresenceUpdate) -> Value {
    let mut d = normalize::addressing(&p.source);
    d["presence"] = serde_json::to_value(p.state).unwrap_or(Value::Null);
    d["media"] = serde_json::to_value(p.media).unwrap_or(Value::Null);
    d
}

/// `call`: who, which call, audio or video, group or not.
pub fn call(c: &IncomingCall, rejected: bool) -> Value {
    let (is_video, group) = match &c.action {
        CallAction::Offer { is_video, group_jid, .. } => (*is_video, group_jid.as_ref().map(|g| g.to_non_ad_string())),
        CallAction::OfferNotice { is_video, .. } => (*is_video, None),
        _ => (false, None),
    };
    let mut d = super::wire::normalized(serde_json::to_value(c).unwrap_or(Value::Null));
    d["from"] = json!(c.from.to_non_ad_string());
    d["callId"] = json!(c.action.call_id());
    d["callCreator"] = json!(c.action.call_creator().to_non_ad_string());
    d["status"] = json!(match &c.action {
        CallAction::Offer { .. } | CallAction::OfferNotice { .. } => "offer",
        CallAction::PreAccept { .. } => "ringing",
        CallAction::Accept { .. } => "accept",
        CallAction::Reject { .. } => "reject",
        CallAction::Terminate { .. } => "terminate",
        _ => "other",
    });
    d["isVideo"] = json!(is_video);
    d["isGroup"] = json!(group.is_some() || matches!(&c.action, CallAction::OfferNotice { is_group: true, .. }));
    d["groupJid"] = json!(group);
    d["timestamp"] = json!(c.timestamp.timestamp_millis());
    d["fromOffline"] = json!(c.offline);
    d["rejected"] = json!(rejected);
    d
}

/// `creds_update`: this account's push name changed, as whatsapp-rust reports it.
pub fn creds(u: &SelfPushNameUpdated) -> Value {
    super::wire::normalized(serde_json::to_value(u).unwrap_or(Value::Null))
}
