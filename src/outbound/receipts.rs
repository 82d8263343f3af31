//! Message status from receipts: a [`WaEventSink`] that hands delivery/read/played
//! receipts of a session to one task, which advances the status records of the messages
//! this gateway sent and publishes each change as a `message_ack` event on the bus.
//!
//! Statuses only move forward (a late "delivered" never undoes "read"). The durable
//! webhook outbox is not written here: the inbound pipeline does that from the raw events.

use std::sync::Arc;

use serde_json::json;
use tokio::sync::mpsc;
use whatsapp_rust::types::events::Event;
use whatsapp_rust::types::presence::ReceiptType;

use crate::sessions::events::{EventBus, SessionEvent};
use crate::sessions::hooks::{WaEventCtx, WaEventSink};
use crate::store::{Db, now_ms};

/// Receipts waiting for the status task; beyond this they are dropped with a warning
/// rather than blocking the session's event task.
const BACKLOG: usize = 10_000;

struct Update {
    session_id: Arc<str>,
    registry: Arc<str>,
    status: &'static str,
    ids: Vec<String>,
    ts: i64,
}

pub struct ReceiptSink {
    tx: mpsc::Sender<Update>,
}

/// The status a receipt moves a sent message to, if any.
pub fn status_of(t: &ReceiptType) -> Option<&'static str> {
    match t {
        ReceiptType::Delivered => Some(super::store::DELIVERED),
        ReceiptType::Read => Some(super::store::READ),
        ReceiptType::Played => Some(super::store::PLAYED),
        _ => None,
    }
}

impl ReceiptSink {
    /// Starts the status task; register the returned sink with the session manager.
    pub fn spawn(db: Db, bus: EventBus) -> Arc<ReceiptSink> {
        let (tx, mut rx) = mpsc::channel::<Update>(BACKLOG);
        tokio::spawn(async move {
            while let Some(u) = rx.recv().await {
                for id in &u.ids {
                    match db.outbound_advance(&u.session_id, id, u.status, u.ts).await {
                        Ok(Some(to)) => {
                            crate::metrics::send(u.status, 1);
                            bus.publish(SessionEvent {
                            event: "message_ack",
                            session_id: u.session_id.to_string(),
                            registry: u.registry.to_string(),
                            data: json!({ "id": id, "messageId": id, "to": to, "ack": u.status, "ackName": u.status.to_uppercase(), "timestamp": u.ts }),
                            ts: now_ms(),
                            })
                        }
                        Ok(None) => {}
                        Err(e) => tracing::warn!(message_id = %id, error = %e, "could not record a receipt"),
                    }
                }
            }
        });
        Arc::new(ReceiptSink { tx })
    }
}

impl WaEventSink for ReceiptSink {
    fn on_event(&self, ctx: &WaEventCtx, event: &Arc<Event>) {
        let Event::Receipt(r) = event.as_ref() else { return };
        // Receipts from our own other devices say nothing about the recipient.
        if r.source.is_from_me {
            return;
        }
        let Some(status) = status_of(&r.r#type) else { return };
        let update = Update {
            session_id: ctx.session_id.clone(),
            registry: ctx.registry.clone(),
            status,
            ids: r.message_ids.iter().map(|m| m.to_string()).collect(),
            ts: r.timestamp.timestamp_millis(),
        };
        if self.tx.try_send(update).is_err() {
            tracing::warn!(session = %ctx.session_id, "receipt backlog full; a status update was dropped");
        }
    }
}
