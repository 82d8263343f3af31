//! A plain whatsapp-rust test client pointed at a sandbox.
//!
//! `TestClient` wraps one `Bot` on an `InMemoryBackend` (kept, so the client can
//! be restarted or resumed after a crash on the same store) with an `EventLog`
//! that can be waited on with a predicate and a timeout instead of sleeping.
//! Nothing here talks to the internet: the only HTTP is the sandbox's in-memory
//! media host (`media.rs`) and the version is pinned.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Result, anyhow, bail};

use crate::media::SandboxHttp;
use tokio::sync::Notify;
use wacore::store::traits::Backend;
use wacore::types::events::{ChannelEventHandler, Event, EventHandler, Subscription};
use whatsapp_rust::Client;
use whatsapp_rust::bot::{Bot, BotBuilder, BotHandle, Provided};
use whatsapp_rust::transport::TokioWebSocketTransportFactory;

/// The version every sandbox client announces, so none of them fetches it from
/// web.whatsapp.com.
pub const CLIENT_VERSION: (u32, u32, u32) = (2, 3000, 0);

/// Everything a client reported, in order, plus a wake-up for waiters.
#[derive(Default)]
pub struct EventLog {
    events: Mutex<Vec<Arc<Event>>>,
    notify: Notify,
}

impl EventHandler for EventLog {
    fn handle_event(&self, event: Arc<Event>) {
        self.events.lock().unwrap_or_else(|p| p.into_inner()).push(event);
        self.notify.notify_waiters();
    }
}

impl EventLog {
    /// How many events have been seen so far (a cursor for `wait_for_after`).
    pub fn mark(&self) -> usize {
        self.events.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn snapshot(&self) -> Vec<Arc<Event>> {
        self.events.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Waits for the first event at index ≥ `from` matching `pred`.
    pub async fn wait_for_after(
        &self,
        from: usize,
        timeout: Duration,
        mut pred: impl FnMut(&Event) -> bool,
    ) -> Result<Arc<Event>> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut scanned = from;
        loop {
            // Register interest before scanning so an event pushed in between
            // still wakes us.
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let events = self.events.lock().unwrap_or_else(|p| p.into_inner());
                while scanned < events.len() {
                    if pred(&events[scanned]) {
                        return Ok(events[scanned].clone());
                    }
                    scanned += 1;
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                bail!("timed out after {timeout:?} waiting for a client event");
            }
        }
    }
}

/// The texts carried by a `Messages` event, with their metadata.
pub fn texts_of(event: &Event) -> Vec<(Arc<wacore::types::message::MessageInfo>, String)> {
    use wacore::proto_helpers::MessageExt;
    let Event::Messages(batch) = event else {
        return Vec::new();
    };
    batch
        .messages
        .iter()
        .filter_map(|m| {
            let text = m.message.text_content()?.to_string();
            Some((m.info.clone(), text))
        })
        .collect()
}

/// Whether `event` reports an app-state (syncd) change made on another device
/// of the account: chat mute, archive, pin, star, read, clear, delete.
pub fn is_app_state_event(event: &Event) -> bool {
    matches!(
        event,
        Event::ArchiveUpdate(_)
            | Event::MuteUpdate(_)
            | Event::PinUpdate(_)
            | Event::StarUpdate(_)
            | Event::MarkChatAsReadUpdate(_)
            | Event::ClearChatUpdate(_)
            | Event::DeleteChatUpdate(_)
            | Event::DeleteMessageForMeUpdate(_)
    )
}

/// A `BotBuilder` wired for a sandbox: the given store, the sandbox's transport
/// URL, its in-memory media host as the only HTTP, and the pinned version. Add
/// handlers, then `build()`. This is the hook for running the gateway's own
/// session code against a sandbox (see also `Sandbox::bot_builder`).
pub fn bot_builder(
    ws_url: &str,
    backend: Arc<dyn Backend>,
    http: SandboxHttp,
) -> BotBuilder<Provided, Provided, Provided, Provided> {
    Bot::builder()
        .with_backend_arc(backend)
        .with_transport_factory(TokioWebSocketTransportFactory::new().with_url(ws_url))
        .with_http_client(http)
        .with_version(CLIENT_VERSION)
}

/// Everything needed to (re)start a client on the same credentials: its store
/// and its sandbox. Returned by `crash` and friends, taken by `resume`.
#[derive(Clone)]
pub struct ClientSetup {
    pub backend: Arc<dyn Backend>,
    pub ws_url: String,
    pub push_name: String,
    pub http: SandboxHttp,
}

/// A real whatsapp-rust client on an in-memory store, pointed at a sandbox.
pub struct TestClient {
    pub client: Arc<Client>,
    pub events: Arc<EventLog>,
    handle: Option<BotHandle>,
    setup: ClientSetup,
}

impl TestClient {
    /// Starts a fresh, unpaired client (see `Sandbox::client`).
    pub async fn start(setup: ClientSetup) -> Result<Self> {
        Self::start_with_log(setup, Arc::new(EventLog::default()), |_, _| {}).await
    }

    /// Stops this client gracefully and starts a new one on the same store, as
    /// an app restart does. The new client has a fresh event log.
    pub async fn restart(self) -> Result<Self> {
        let setup = self.crash_after_shutdown().await;
        Self::resume(setup).await
    }

    /// Kills the client without a goodbye (like a crashed app) and returns its
    /// setup, for `resume`. Its socket stays open until the sandbox `kick`s it.
    pub fn crash(mut self) -> ClientSetup {
        if let Some(h) = self.handle.take() {
            h.abort();
        }
        self.setup.clone()
    }

    /// Stops the client gracefully (store flushed, socket closed) and returns
    /// its setup, for `resume`.
    pub async fn crash_after_shutdown(mut self) -> ClientSetup {
        if let Some(h) = self.handle.take() {
            h.shutdown().await;
        }
        self.setup.clone()
    }

    /// This client's setup, for starting a second client on the same
    /// credentials (as a second process would) while this one runs.
    pub fn setup(&self) -> ClientSetup {
        self.setup.clone()
    }

    /// Starts a client on a store left behind by `crash` and friends.
    pub async fn resume(setup: ClientSetup) -> Result<Self> {
        Self::start(setup).await
    }

    /// Like `start`, with a caller-provided log and a hook that sees every event
    /// (used by virtual contacts to react to messages).
    pub(crate) async fn start_with_log(
        setup: ClientSetup,
        events: Arc<EventLog>,
        on_event: impl Fn(Arc<Event>, Arc<Client>) + Send + Sync + 'static,
    ) -> Result<Self> {
        let log = events.clone();
        let on_event = Arc::new(on_event);
        let bot = bot_builder(&setup.ws_url, setup.backend.clone(), setup.http.clone())
            .with_push_name(setup.push_name.as_str())
            .skip_history_sync()
            .on_event(move |ev, client| {
                log.handle_event(ev.clone());
                let hook = on_event.clone();
                async move { hook(ev, client) }
            })
            .build()
            .await?;
        let client = bot.client();
        // Test clients always send real delivery receipts. A companion that has
        // not announced presence sends `inactive` ones instead, and whether it has
        // depends on timing (offline-queued messages arrive before any presence).
        client.set_force_active_delivery_receipts(true);
        let handle = bot.spawn();
        Ok(Self { client, events, handle: Some(handle), setup })
    }

    pub async fn wait_for(&self, timeout: Duration, pred: impl FnMut(&Event) -> bool) -> Result<Arc<Event>> {
        self.events.wait_for_after(0, timeout, pred).await
    }

    /// The first QR string the client rendered.
    pub async fn wait_for_qr(&self, timeout: Duration) -> Result<String> {
        let ev = self.wait_for(timeout, |e| matches!(e, Event::PairingQrCode(_))).await?;
        match &*ev {
            Event::PairingQrCode(q) => Ok(q.code.clone()),
            _ => unreachable!("filtered above"),
        }
    }

    /// Announces presence `available`, as an app in the foreground does, so
    /// presence subscribers see this account online. Needs a push name; the
    /// harness always gives one, so a failure is only logged.
    pub async fn go_online(&self) {
        if let Err(e) = self.client.presence().set_available().await {
            log::warn!("sandbox test client: could not announce presence: {e}");
        }
    }

    /// Waits for an incoming text equal to `text`; returns its metadata.
    pub async fn wait_for_text(
        &self,
        text: &str,
        timeout: Duration,
    ) -> Result<Arc<wacore::types::message::MessageInfo>> {
        let mut found = None;
        self.wait_for(timeout, |e| {
            found = texts_of(e).into_iter().find(|(_, t)| t == text).map(|(info, _)| info);
            found.is_some()
        })
        .await?;
        found.ok_or_else(|| anyhow!("matched event carried no text"))
    }

    /// Waits for a receipt of `kind` covering message `id`.
    pub async fn wait_for_receipt(
        &self,
        id: &str,
        kind: wacore::types::presence::ReceiptType,
        timeout: Duration,
    ) -> Result<Arc<Event>> {
        self.wait_for(
            timeout,
            |e| matches!(e, Event::Receipt(r) if r.r#type == kind && r.message_ids.iter().any(|m| m == id)),
        )
        .await
    }

    /// Events from now on as a channel, for code that prefers receiving to
    /// predicates. Keep the `Subscription`: dropping it ends the stream.
    pub fn event_channel(&self) -> (Subscription, async_channel::Receiver<Arc<Event>>) {
        let (handler, rx) = ChannelEventHandler::new();
        (self.client.subscribe_handler(handler), rx)
    }

    /// Graceful stop: flushes the store and closes the socket.
    pub async fn shutdown(mut self) {
        if let Some(h) = self.handle.take() {
            h.shutdown().await;
        }
    }
}
