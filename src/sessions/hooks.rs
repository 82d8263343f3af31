//! The hook other modules use to see a session's raw whatsapp-rust events without living
//! in the actor: the inbound pipeline (normalizer, message store) and the outbound side
//! (receipts → message status) each register a sink at start-up.
//!
//! Sinks are called on the session's event-forwarding task, in the order the client
//! emitted the events, before the actor sees them. They must not block: hand the event to
//! your own task or channel and return.

use std::sync::{Arc, RwLock};

use whatsapp_rust::client::Client;
use whatsapp_rust::types::events::Event;

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

/// The registered sinks, shared by every actor; registering later reaches running sessions.
#[derive(Clone, Default)]
pub struct Sinks(Arc<RwLock<Vec<Arc<dyn WaEventSink>>>>);

impl Sinks {
    pub fn add(&self, sink: Arc<dyn WaEventSink>) {
        self.0.write().unwrap_or_else(|e| e.into_inner()).push(sink);
    }

    pub fn dispatch(&self, ctx: &WaEventCtx, event: &Arc<Event>) {
        for sink in self.0.read().unwrap_or_else(|e| e.into_inner()).iter() {
            sink.on_event(ctx, event);
        }
    }
}
