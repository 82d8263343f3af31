//! The hook other modules use to see a session's raw whatsapp-rust events without living
//! in the actor: the inbound pipeline (normalizer, message store) and the outbound side
//! (receipts → message status) each register a sink at start-up.
//!
//! Sinks are called on the session's event-forwarding task, in the order the client
//! emitted the events, before the actor sees them. They must not block: hand the event to
//! your own task or channel and return.
//!
//! One component (the inbound pipeline) may also register as the [`InboundCommitter`]:
//! every session's client then gets an inbound durability hook, and its batches travel
//! the same forwarding task as the events, so a commit never overtakes an earlier event.

use std::sync::{Arc, RwLock};

use tokio::sync::oneshot;
use whatsapp_rust::client::Client;
use whatsapp_rust::types::events::{Event, InboundMessage};

/// Which session an event came from, and the client that emitted it (to answer, fetch
/// media, or look up LIDs). `generation` changes with every new client of the session.
#[derive(Clone)]
pub struct WaEventCtx {
    pub session_id: Arc<str>,
    pub registry: Arc<str>,
    pub generation: u64,
    pub client: Arc<Client>,
}

pub trait WaEventSink: Send + Sync {
    fn on_event(&self, ctx: &WaEventCtx, event: &Arc<Event>);
}

/// Decrypted messages whatsapp-rust will acknowledge to WhatsApp only once `done` says
/// they are stored (`Ok`) — an `Err` or a dropped `done` leaves them unacked, and the
/// server redelivers them.
pub struct DurableBatch {
    pub messages: Arc<[InboundMessage]>,
    pub done: oneshot::Sender<Result<(), String>>,
}

/// Stores durable batches. Like a sink it must not block: queue the batch and return.
pub trait InboundCommitter: Send + Sync {
    fn commit(&self, ctx: &WaEventCtx, batch: DurableBatch);
}

/// What a session's client hands its forwarding task, in the client's order.
pub enum Forwarded {
    Event(Arc<Event>),
    Commit(DurableBatch),
}

/// The registered sinks and committer, shared by every actor; registering later reaches
/// running sessions (a committer only clients started afterwards).
#[derive(Clone, Default)]
pub struct Sinks {
    sinks: Arc<RwLock<Vec<Arc<dyn WaEventSink>>>>,
    committer: Arc<RwLock<Option<Arc<dyn InboundCommitter>>>>,
}

impl Sinks {
    pub fn add(&self, sink: Arc<dyn WaEventSink>) {
        self.sinks.write().unwrap_or_else(|e| e.into_inner()).push(sink);
    }

    pub fn dispatch(&self, ctx: &WaEventCtx, event: &Arc<Event>) {
        for sink in self.sinks.read().unwrap_or_else(|e| e.into_inner()).iter() {
            sink.on_event(ctx, event);
        }
    }

    pub fn set_committer(&self, committer: Arc<dyn InboundCommitter>) {
        *self.committer.write().unwrap_or_else(|e| e.into_inner()) = Some(committer);
    }

    /// Whether clients should get the durability hook.
    pub fn has_committer(&self) -> bool {
        self.committer.read().unwrap_or_else(|e| e.into_inner()).is_some()
    }

    pub fn commit(&self, ctx: &WaEventCtx, batch: DurableBatch) {
        let committer = self.committer.read().unwrap_or_else(|e| e.into_inner()).clone();
        match committer {
            Some(c) => c.commit(ctx, batch),
            None => {
                let _ = batch.done.send(Err("no inbound committer".into()));
            }
        }
    }
}
