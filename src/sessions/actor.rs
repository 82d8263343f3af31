//! One task per live session. It owns the session's whatsapp-rust client and is driven
//! through a cloneable [`SessionHandle`]; whatsapp-rust events feed the same task, which
//! turns them into status changes and `session_status` events.
//!
//! A new client is only ever built after the previous one has fully stopped (its run
//! loop has exited): two live clients on one device store would corrupt it. Commands are
//! processed one at a time, which is what guarantees that.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use whatsapp_rust::bot::BotHandle;
use whatsapp_rust::client::Client;
use whatsapp_rust::types::events::Event;

mod net;

use super::events::{EventBus, StatusDetail};
use super::hooks::{Forwarded, Sinks, WaEventCtx};
use super::proxy::{Notes, ProxyNote, ProxyPool};
use super::status::{Status, Tag};
use super::stores::DeviceStores;
use super::wa::{Net, WaOptions, spawn_bot};
use crate::store::Db;
use crate::store::sessions::Me;

/// What a session looks like right now; published on a watch channel for cheap reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub status: Status,
    pub qr: Option<Qr>,
    pub pairing_code: Option<String>,
    pub me: Me,
    pub last_error: Option<String>,
    /// The proxy the session's client uses (masked), and whose it is.
    pub proxy: Option<ProxyInUse>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProxyInUse {
    /// The URL with its password masked.
    pub url: String,
    /// `session` (its own config) or `pool`.
    pub source: &'static str,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Qr {
    pub code: String,
    pub duration: Duration,
    /// Unix milliseconds after which the code is stale.
    pub expires_at: i64,
}

pub(super) enum Command {
    Start {
        pair_phone: Option<String>,
        reply: oneshot::Sender<()>,
    },
    Stop {
        reply: oneshot::Sender<()>,
    },
    Restart {
        reply: oneshot::Sender<()>,
    },
    Logout {
        reply: oneshot::Sender<()>,
    },
    /// Process shutdown: stop the client but keep the stored status, so boot restores it.
    Shutdown {
        reply: oneshot::Sender<()>,
    },
}

#[derive(Clone)]
pub struct SessionHandle {
    tx: mpsc::Sender<Command>,
    state: watch::Receiver<Snapshot>,
    client: watch::Receiver<Option<Arc<Client>>>,
}

impl SessionHandle {
    pub fn snapshot(&self) -> Snapshot {
        self.state.borrow().clone()
    }

    /// The session's current client, while one runs (connected or reconnecting). Senders
    /// use it; check the status first if the socket must be open.
    pub fn client(&self) -> Option<Arc<Client>> {
        self.client.borrow().clone()
    }

    pub fn watch(&self) -> watch::Receiver<Snapshot> {
        self.state.clone()
    }

    async fn ask(&self, make: impl FnOnce(oneshot::Sender<()>) -> Command) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(make(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    pub async fn start(&self, pair_phone: Option<String>) {
        self.ask(|reply| Command::Start { pair_phone, reply }).await
    }
    pub async fn stop(&self) {
        self.ask(|reply| Command::Stop { reply }).await
    }
    pub async fn restart(&self) {
        self.ask(|reply| Command::Restart { reply }).await
    }
    pub async fn logout(&self) {
        self.ask(|reply| Command::Logout { reply }).await
    }
    pub async fn shutdown(&self) {
        self.ask(|reply| Command::Shutdown { reply }).await
    }
}

/// What an actor needs from the rest of the gateway.
#[derive(Clone)]
pub struct ActorDeps {
    pub db: Db,
    pub bus: EventBus,
    pub stores: Arc<dyn DeviceStores>,
    pub wa: WaOptions,
    /// A session that cannot reconnect for this long goes `FAILED`.
    pub reconnect_timeout: Duration,
    /// Raw-event consumers (inbound pipeline, message status).
    pub sinks: Sinks,
    /// Where received media is kept (`<dir>/<session>/…`); a deleted session's files go with it.
    pub media_dir: std::path::PathBuf,
    /// The managed proxy pool, for sessions without a proxy of their own.
    pub proxies: Option<Arc<ProxyPool>>,
}

struct Actor {
    id: String,
    registry: String,
    deps: ActorDeps,
    state: watch::Sender<Snapshot>,
    client: watch::Sender<Option<Arc<Client>>>,
    bot: Option<BotHandle>,
    /// Bumped per client, so late events of a stopped client are ignored.
    generation: u64,
    events_tx: mpsc::UnboundedSender<(u64, Arc<Event>)>,
    proxy_tx: mpsc::UnboundedSender<(u64, ProxyNote)>,
    /// Whether the running client's proxy came from the pool (its place is released on stop).
    pooled: bool,
    /// Set while we log out ourselves, so our own `LoggedOut` is not taken for the phone's.
    logging_out: bool,
    reconnect_deadline: Option<Instant>,
    /// Set when the client's run loop ended on its own: its last events (a ban, an
    /// outdated client, a logout) may still be on their way through the forwarder, and
    /// they say why it ended better than "stopped unexpectedly" would.
    ended_grace: Option<Instant>,
}

/// How long the last events of a client that stopped by itself are still taken.
const ENDED_GRACE: Duration = Duration::from_millis(500);

pub fn spawn(id: String, registry: String, initial: Snapshot, deps: ActorDeps) -> SessionHandle {
    let (tx, rx) = mpsc::channel(64);
    let (state_tx, state_rx) = watch::channel(initial);
    let (client_tx, client_rx) = watch::channel(None);
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let (proxy_tx, proxy_rx) = mpsc::unbounded_channel();
    let actor = Actor {
        id,
        registry,
        deps,
        state: state_tx,
        client: client_tx,
        bot: None,
        generation: 0,
        events_tx,
        proxy_tx,
        pooled: false,
        logging_out: false,
        reconnect_deadline: None,
        ended_grace: None,
    };
    tokio::spawn(actor.run(rx, events_rx, proxy_rx));
    SessionHandle { tx, state: state_rx, client: client_rx }
}

impl Actor {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut events: mpsc::UnboundedReceiver<(u64, Arc<Event>)>,
        mut proxy_notes: mpsc::UnboundedReceiver<(u64, ProxyNote)>,
    ) {
        loop {
            let deadline = self.reconnect_deadline;
            let grace = self.ended_grace;
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    Some(cmd) => self.on_command(cmd).await,
                    // Every handle dropped: the manager forgot this session.
                    None => {
                        self.stop_client().await;
                        return;
                    }
                },
                Some((generation, ev)) = events.recv() => {
                    if generation == self.generation && (self.bot.is_some() || self.ended_grace.is_some()) {
                        self.on_event(&ev).await;
                    }
                }
                Some((generation, note)) = proxy_notes.recv() => {
                    if generation == self.generation && self.bot.is_some() {
                        self.on_proxy_note(note).await;
                    }
                }
                _ = async { (&mut self.bot.as_mut().expect("guarded")).await }, if self.bot.is_some() => {
                    // The client's run loop ended without our asking (logout by the phone,
                    // fatal error). Its handle is spent; never shut it down twice. Its last
                    // events are still taken for a moment (see `ended_grace`).
                    self.bot = None;
                    self.client.send_replace(None);
                    self.reconnect_deadline = None;
                    self.release_proxy();
                    self.ended_grace = Some(Instant::now() + ENDED_GRACE);
                }
                _ = tokio::time::sleep_until(grace.unwrap_or_else(Instant::now)), if grace.is_some() => {
                    self.ended_grace = None;
                    self.generation += 1;
                    if self.snapshot().status.is_running() {
                        self.set_failed("the WhatsApp client stopped unexpectedly").await;
                    }
                }
                _ = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    self.reconnect_deadline = None;
                    let secs = self.deps.reconnect_timeout.as_secs();
                    // A proxy failure seen on the way says more than the timeout alone.
                    let cause = self.snapshot().last_error.filter(|e| e.starts_with("proxy "));
                    self.stop_client().await;
                    let why = format!("could not reconnect to WhatsApp for {secs}s");
                    self.set_failed(&cause.map_or(why.clone(), |c| format!("{why}: {c}"))).await;
                }
            }
        }
    }

    fn snapshot(&self) -> Snapshot {
        self.state.borrow().clone()
    }

    async fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Start { pair_phone, reply } => {
                if self.bot.is_none() {
                    self.start_client(pair_phone).await;
                }
                let _ = reply.send(());
            }
            Command::Stop { reply } => {
                self.stop_client().await;
                self.set_status(Status::Stopped, None, Tag::Stopped, StatusDetail::default()).await;
                let _ = reply.send(());
            }
            Command::Restart { reply } => {
                self.stop_client().await;
                self.start_client(None).await;
                let _ = reply.send(());
            }
            Command::Logout { reply } => {
                self.logout().await;
                let _ = reply.send(());
            }
            Command::Shutdown { reply } => {
                self.stop_client().await;
                let _ = reply.send(());
            }
        }
    }

    async fn start_client(&mut self, pair_phone: Option<String>) {
        self.ended_grace = None;
        self.generation += 1;
        self.logging_out = false;
        self.reconnect_deadline = None;
        let generation = self.generation;
        let (fwd_tx, mut fwd_rx) = mpsc::unbounded_channel::<Forwarded>();
        let (client_tx, client_rx) = oneshot::channel::<Arc<Client>>();
        let tagged = self.events_tx.clone();
        let sinks = self.deps.sinks.clone();
        let (session_id, registry): (Arc<str>, Arc<str>) = (self.id.as_str().into(), self.registry.as_str().into());
        // Hands each event to the sinks, then to the actor tagged with the client generation
        // it came from; durable batches to the committer, in line with the events. Events
        // wait in the channel until the client exists.
        tokio::spawn(async move {
            let Ok(client) = client_rx.await else { return };
            let ctx = WaEventCtx { session_id, registry, generation, client };
            while let Some(item) = fwd_rx.recv().await {
                match item {
                    Forwarded::Event(ev) => {
                        sinks.dispatch(&ctx, &ev);
                        if tagged.send((generation, ev)).is_err() {
                            break;
                        }
                    }
                    Forwarded::Commit(batch) => sinks.commit(&ctx, batch),
                }
            }
        });
        self.state.send_modify(|s| {
            s.qr = None;
            s.pairing_code = None;
        });
        self.set_status(Status::Starting, None, Tag::Connecting, StatusDetail::default()).await;
        let route = match self.route().await {
            Ok(r) => r,
            Err(why) => return self.set_failed(&why).await,
        };
        self.pooled = matches!(route, super::proxy::Route::Pool { .. });
        let in_use = route.current().zip(route.source()).map(|(p, source)| ProxyInUse { url: p.masked(), source });
        self.state.send_modify(|s| s.proxy = in_use);
        let net = Net { route, notes: Notes { generation, tx: self.proxy_tx.clone() } };
        let backend = self.deps.stores.open(&self.id);
        let durable = self.deps.sinks.has_committer();
        match spawn_bot(backend, &self.deps.wa, net, fwd_tx, pair_phone, durable).await {
            Ok(handle) => {
                let _ = client_tx.send(handle.client());
                self.client.send_replace(Some(handle.client()));
                self.bot = Some(handle);
            }
            Err(e) => self.set_failed(&e.to_string()).await,
        }
    }

    /// Stops the client and waits until its run loop has exited.
    async fn stop_client(&mut self) {
        self.reconnect_deadline = None;
        if self.ended_grace.take().is_some() {
            self.generation += 1;
        }
        if let Some(bot) = self.bot.take() {
            self.generation += 1;
            self.client.send_replace(None);
            bot.shutdown().await;
        }
        self.release_proxy();
    }

    async fn logout(&mut self) {
        self.logging_out = true;
        if let Some(bot) = &self.bot {
            // Tells WhatsApp to remove this companion (best effort when offline).
            bot.client().logout().await;
        }
        self.stop_client().await;
        self.wipe_credentials().await;
        crate::metrics::session_logout("api");
        self.set_status(Status::Stopped, None, Tag::LoggedOut, StatusDetail::default()).await;
    }

    /// whatsapp-rust's logout leaves the device store in place; a logged-out session must
    /// not keep keys that could be reused.
    async fn wipe_credentials(&mut self) {
        if let Err(e) = self.deps.stores.wipe(&self.id).await {
            tracing::error!(session = %self.id, error = %e, "could not wipe the device store");
        }
        let me = Me::default();
        if let Err(e) = self.deps.db.set_session_me(&self.id, &me, false).await {
            tracing::error!(session = %self.id, error = %e, "could not clear the session identity");
        }
        self.state.send_modify(|s| s.me = me);
    }

    async fn on_event(&mut self, ev: &Event) {
        match ev {
            Event::PairingQrCode(q) => {
                let qr = Qr {
                    code: q.code.clone(),
                    duration: q.timeout,
                    expires_at: crate::store::now_ms() + q.timeout.as_millis() as i64,
                };
                let detail = StatusDetail {
                    qr: Some(&qr.code),
                    qr_duration_secs: Some(q.timeout.as_secs()),
                    ..Default::default()
                };
                let code = qr.clone();
                self.set_status_with(Status::ScanQrCode, None, Tag::Qr, detail, |s| s.qr = Some(code)).await;
            }
            Event::PairingCode(p) => {
                let detail = StatusDetail { pairing_code: Some(&p.code), ..Default::default() };
                let code = p.code.clone();
                self.set_status_with(Status::ScanQrCode, None, Tag::PairingCode, detail, |s| {
                    s.pairing_code = Some(code)
                })
                .await;
            }
            Event::PairSuccess(p) => {
                let me = Me {
                    jid: Some(p.id.to_non_ad().to_string()),
                    lid: Some(p.lid.to_non_ad().to_string()).filter(|l| !l.is_empty() && l != "@lid"),
                    push_name: None,
                    platform: Some(p.platform.clone()).filter(|x| !x.is_empty()),
                };
                self.save_me(me, false).await;
            }
            Event::Connected(_) => {
                self.reconnect_deadline = None;
                let me = self.me_from_client();
                self.save_me(me.clone(), true).await;
                let detail = StatusDetail { me: Some(&me), ..Default::default() };
                self.set_status_with(Status::Working, None, Tag::Open, detail, |s| {
                    s.qr = None;
                    s.pairing_code = None;
                })
                .await;
            }
            Event::Disconnected(_) if self.snapshot().status == Status::Working => {
                self.reconnect_deadline = Some(Instant::now() + self.deps.reconnect_timeout);
                crate::metrics::session_reconnect();
                self.set_status(Status::Starting, None, Tag::Reconnecting, StatusDetail::default()).await;
            }
            Event::LoggedOut(_) if !self.logging_out => {
                // The phone removed this device (or WhatsApp logged it out): credentials are dead.
                self.stop_client().await;
                self.wipe_credentials().await;
                crate::metrics::session_logout("phone");
                let reason = "logged out from the phone";
                self.set_status(
                    Status::Failed,
                    Some(reason),
                    Tag::LoggedOut,
                    StatusDetail { reason: Some(reason), ..Default::default() },
                )
                .await;
            }
            Event::TemporaryBan(b) => {
                let reason = format!("temporarily banned by WhatsApp ({:?}) for {}s", b.code, b.expire.num_seconds());
                crate::metrics::session_failure("temporary_ban");
                self.stop_client().await;
                self.set_failed(&reason).await;
            }
            Event::ClientOutdated(_) => {
                crate::metrics::session_failure("outdated");
                self.stop_client().await;
                self.set_failed("WhatsApp rejected this client version as outdated").await;
            }
            Event::StreamReplaced(_) => {
                crate::metrics::session_failure("replaced");
                self.stop_client().await;
                self.set_failed("another client connected with this session's credentials").await;
            }
            Event::PairingQrCodesExhausted(_) => {
                crate::metrics::session_failure("qr_timeout");
                self.stop_client().await;
                self.set_failed("no QR code was scanned in time; start the session again for new codes").await;
            }
            Event::ConnectFailure(f) if !f.reason.should_reconnect() => {
                let reason = format!("WhatsApp refused the connection: {:?}", f.reason);
                crate::metrics::session_failure("refused");
                self.stop_client().await;
                self.set_failed(&reason).await;
            }
            _ => {}
        }
    }

    fn me_from_client(&self) -> Me {
        let prev = self.snapshot().me;
        let Some(bot) = &self.bot else { return prev };
        let client = bot.client();
        let push_name = Some(client.push_name()).filter(|n| !n.is_empty());
        Me {
            jid: client.pn().map(|j| j.to_non_ad().to_string()).or(prev.jid),
            lid: client.lid().map(|j| j.to_non_ad().to_string()).or(prev.lid),
            push_name: push_name.or(prev.push_name),
            platform: prev.platform,
        }
    }

    async fn save_me(&mut self, me: Me, connected: bool) {
        if let Err(e) = self.deps.db.set_session_me(&self.id, &me, connected).await {
            tracing::error!(session = %self.id, error = %e, "could not store the session identity");
        }
        self.state.send_modify(|s| s.me = me);
    }

    async fn set_failed(&mut self, reason: &str) {
        tracing::warn!(session = %self.id, reason, "session failed");
        self.set_status(
            Status::Failed,
            Some(reason),
            Tag::Failed,
            StatusDetail { reason: Some(reason), ..Default::default() },
        )
        .await;
    }

    async fn set_status(&mut self, status: Status, error: Option<&str>, tag: Tag, detail: StatusDetail<'_>) {
        self.set_status_with(status, error, tag, detail, |_| {}).await
    }

    /// Stores the status, then changes the snapshot in one step (status and `also`
    /// together, so a reader never sees a QR with a stale status), then publishes.
    async fn set_status_with(
        &mut self,
        status: Status,
        error: Option<&str>,
        tag: Tag,
        detail: StatusDetail<'_>,
        also: impl FnOnce(&mut Snapshot),
    ) {
        crate::metrics::session_transition(status.as_str(), tag.as_str());
        if let Err(e) = self.deps.db.set_session_status(&self.id, status.as_str(), error).await {
            tracing::error!(session = %self.id, error = %e, "could not store the session status");
        }
        self.state.send_modify(|s| {
            s.status = status;
            s.last_error = error.map(str::to_string);
            also(s);
        });
        self.deps.bus.session_status(&self.id, &self.registry, tag, status, detail);
    }
}
