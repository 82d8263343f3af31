//! Session events published for the inbound pipeline (webhooks, stream): today the WAREST
//! `session_status` events of the lifecycle. A broadcast bus: publishers never block, and
//! a subscriber that falls behind is told how many it missed (durable delivery is the
//! outbox's job, not this bus's).

use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::status::{Status, Tag};
use crate::store::sessions::Me;

#[derive(Debug, Clone, Serialize)]
pub struct SessionEvent {
    pub event: &'static str,
    pub session_id: String,
    pub registry: String,
    pub data: Value,
    /// Unix milliseconds.
    pub ts: i64,
}

impl SessionEvent {
    /// The tag of a `session_status` event.
    pub fn tag(&self) -> Option<&str> {
        self.data["tags"].as_str()
    }
}

/// Optional parts of a `session_status` event.
#[derive(Debug, Default)]
pub struct StatusDetail<'a> {
    pub qr: Option<&'a str>,
    pub qr_duration_secs: Option<u64>,
    pub pairing_code: Option<&'a str>,
    pub me: Option<&'a Me>,
    pub reason: Option<&'a str>,
    /// The proxy a session moved to (masked; empty when none is usable) and from.
    pub proxy: Option<&'a str>,
    pub previous_proxy: Option<&'a str>,
}

pub fn me_json(me: &Me) -> Value {
    json!({ "id": me.jid, "lid": me.lid, "pushName": me.push_name, "platform": me.platform })
}

/// The `data` of a `session_status` event: the tag, the resulting state, and the details
/// that tag carries. Pure, so the golden tests can pin it.
pub fn status_payload(tag: Tag, status: Status, d: &StatusDetail<'_>) -> Value {
    let mut data = json!({ "tags": tag, "status": status });
    if let Some(qr) = d.qr {
        data["qr"] = json!(qr);
    }
    if let Some(secs) = d.qr_duration_secs {
        data["qrDuration"] = json!(secs);
    }
    if let Some(code) = d.pairing_code {
        data["pairingCode"] = json!(code);
    }
    if let Some(me) = d.me {
        data["me"] = me_json(me);
    }
    if let Some(reason) = d.reason {
        data["reason"] = json!(reason);
    }
    if let Some(p) = d.proxy {
        data["proxy"] = json!(Some(p).filter(|p| !p.is_empty()));
    }
    if let Some(p) = d.previous_proxy {
        data["previousProxy"] = json!(p);
    }
    data
}

#[derive(Clone)]
pub struct EventBus {
    tx: broadcast::Sender<SessionEvent>,
}

impl Default for EventBus {
    fn default() -> Self {
        EventBus { tx: broadcast::channel(4096).0 }
    }
}

impl EventBus {
    pub fn subscribe(&self) -> broadcast::Receiver<SessionEvent> {
        self.tx.subscribe()
    }

    pub fn session_status(&self, id: &str, registry: &str, tag: Tag, status: Status, d: StatusDetail<'_>) {
        let ev = SessionEvent {
            event: "session_status",
            session_id: id.to_string(),
            registry: registry.to_string(),
            data: status_payload(tag, status, &d),
            ts: crate::store::now_ms(),
        };
        tracing::info!(session = id, tag = ?tag, status = status.as_str(), "session status");
        self.publish(ev);
    }

    /// Any other event of the catalog (`message_ack`, `message_received`, …).
    pub fn publish(&self, ev: SessionEvent) {
        // No subscriber is fine: nothing consumes events until webhooks are configured.
        let _ = self.tx.send(ev);
    }
}
