//! Webhooks: the durable event outbox, signing, the dispatcher with retries, backoff,
//! circuit breaker and dead-letter table, and the live stream of stored events.
//!
//! Every event of the catalog is first written to the outbox (in the producer's
//! transaction when it stores something too); only after the commit are the dispatcher
//! and stream subscribers told. Owns delivery; does not normalize WhatsApp events
//! (`inbound`) and does not execute receivers' `actions`: their answers go to the
//! [`answers::AnswerHandler`] installed with [`Webhooks::set_answer_handler`].

pub mod answers;
pub mod dispatcher;
pub mod egress;
pub mod ops;
pub mod outbox;
pub mod preflight;
pub mod queue;
pub mod retry;
pub mod sign;
pub mod slots;
mod status_feed;
pub mod stream;
pub mod targets;

use std::sync::{Arc, Mutex};

use sqlx::{Any, Transaction};
use tokio::sync::{Notify, broadcast};
use tokio_util::sync::CancellationToken;

pub use outbox::{NewEvent, StoredEvent};

use crate::config::WebhookConfig;
use crate::sessions::events::{EventBus, SessionEvent};
use crate::store::{Db, StoreResult};

/// Begins a write transaction. On SQLite it takes the write lock at once (`BEGIN
/// IMMEDIATE`): a deferred transaction that reads first and writes later fails with
/// SQLITE_BUSY_SNAPSHOT when another writer committed in between, and busy_timeout does not
/// retry that case.
pub async fn begin_write(db: &Db) -> Result<Transaction<'static, Any>, sqlx::Error> {
    match db.kind() {
        crate::store::DbKind::Sqlite => db.pool().begin_with("BEGIN IMMEDIATE").await,
        crate::store::DbKind::Postgres | crate::store::DbKind::Mysql => db.pool().begin().await,
    }
}

/// The cheap handle in `AppState`: write events, wake the dispatcher, feed the stream.
#[derive(Clone)]
pub struct Webhooks {
    pub db: Db,
    pub cfg: Arc<WebhookConfig>,
    wake: Arc<Notify>,
    stream: broadcast::Sender<Arc<StoredEvent>>,
    /// Subscribed at construction so no `session_status` published before `start` is missed.
    bus_rx: Arc<Mutex<Option<broadcast::Receiver<SessionEvent>>>>,
    answers: answers::AnswerSlot,
    /// One set of breakers for every dispatcher this handle makes.
    breakers: Arc<retry::Breakers>,
    /// How deliveries leave (directly, or through the session's proxy).
    pub egress: Arc<egress::Egress>,
    /// Open event streams per key (`WAREST_SSE_MAX_PER_KEY`).
    slots: Arc<stream::Slots>,
    /// Cancelled at shutdown: open streams end, so the server's graceful stop is not held
    /// up by connections that would never finish by themselves.
    closing: CancellationToken,
}

impl Webhooks {
    pub fn new(db: Db, cfg: WebhookConfig, bus: &EventBus) -> Self {
        let egress = Arc::new(egress::Egress::new(db.clone(), cfg.timeout, cfg.via_session_proxy, cfg.allow_private));
        Webhooks {
            egress,
            db,
            cfg: Arc::new(cfg),
            wake: Arc::new(Notify::new()),
            stream: broadcast::channel(4096).0,
            bus_rx: Arc::new(Mutex::new(Some(bus.subscribe()))),
            answers: Arc::default(),
            breakers: Arc::default(),
            slots: Arc::default(),
            closing: CancellationToken::new(),
        }
    }

    /// Records one event in its own transaction.
    pub async fn emit(&self, ev: NewEvent<'_>) -> StoreResult<StoredEvent> {
        let mut tx = begin_write(&self.db).await?;
        let stored = self.emit_in(&mut tx, ev).await?;
        tx.commit().await?;
        self.committed(std::slice::from_ref(&stored));
        Ok(stored)
    }

    /// Records an event inside the caller's transaction; call [`Webhooks::committed`]
    /// with the result after the commit.
    pub async fn emit_in(&self, tx: &mut Transaction<'static, Any>, ev: NewEvent<'_>) -> StoreResult<StoredEvent> {
        outbox::insert(&self.db, tx, &self.cfg, ev).await
    }

    /// Tells the dispatcher and stream subscribers about committed events.
    pub fn committed(&self, events: &[StoredEvent]) {
        if events.is_empty() {
            return;
        }
        self.wake.notify_one();
        for e in events {
            let _ = self.stream.send(Arc::new(e.clone()));
        }
    }

    /// Live events, after they are stored: the wake of the event streams ([`stream`]).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<StoredEvent>> {
        self.stream.subscribe()
    }

    /// Live subscriptions to the stream: one per open event stream, so tests and health can
    /// see that a closed stream let go of its resources.
    pub fn stream_subscribers(&self) -> usize {
        self.stream.receiver_count()
    }

    /// Wakes the dispatcher (after a replay wrote delivery rows).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub fn dispatcher(&self) -> Arc<dispatcher::Dispatcher> {
        Arc::new(
            dispatcher::Dispatcher::new(self.db.clone(), self.cfg.clone(), self.wake.clone(), self.egress.clone())
                .with_answers(self.answers.clone())
                .with_breakers(self.breakers.clone()),
        )
    }

    /// Targets whose circuit breaker is open now.
    pub fn open_breakers(&self) -> usize {
        self.breakers.open_count(crate::store::now_ms())
    }

    /// Installs what acts on receivers' 2xx answers (once; later calls are ignored).
    pub fn set_answer_handler(&self, handler: Arc<dyn answers::AnswerHandler>) {
        let _ = self.answers.set(handler);
    }

    /// Starts the dispatcher and the `session_status` feed; both stop with `shutdown`, and
    /// the event streams end with it.
    pub fn start(&self, shutdown: CancellationToken) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks = vec![tokio::spawn(self.dispatcher().run(shutdown.clone()))];
        let (stop, closing) = (shutdown.clone(), self.closing.clone());
        tasks.push(tokio::spawn(async move {
            stop.cancelled().await;
            closing.cancel();
        }));
        if let Some(rx) = self.bus_rx.lock().unwrap_or_else(|e| e.into_inner()).take() {
            tasks.push(tokio::spawn(status_feed::run(self.clone(), rx, shutdown)));
        }
        tasks
    }
}
