//! Builds and runs the gateway from a config, an already-bound listener and a shutdown
//! token, so tests start it on port 0 and stop it without signals or sleeps.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::http::rate_limit::RateLimiter;
use crate::sessions::actor::ActorDeps;
use crate::sessions::events::EventBus;
use crate::sessions::manager::{BootOptions, SessionManager};
use crate::sessions::stores::{DeviceStores, SqlStores};
use crate::sessions::wa::WaOptions;
use crate::store::{Db, now_ms};
use crate::system::cpu::CpuHistory;

/// Cheap handles shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub limiter: Arc<RateLimiter>,
    /// All of one tenant's keys together (`WAREST_TENANT_RATE_MAX`); `None`: no limit.
    pub tenant_limiter: Option<Arc<RateLimiter>>,
    /// The bound on password verifications (`WAREST_LOGIN_MAX_CONCURRENT`).
    pub login_gate: Arc<crate::auth::LoginGate>,
    pub cpu: Arc<CpuHistory>,
    pub sessions: SessionManager,
    pub events: EventBus,
    /// The durable send queue.
    pub outbound: crate::outbound::Outbound,
    /// The event outbox, dispatcher and live stream.
    pub webhooks: crate::webhooks::Webhooks,
    /// The embedded simulated network, in `warest sandbox` only.
    #[cfg(feature = "sandbox")]
    pub sandbox: Option<Arc<crate::sandbox_api::SandboxHost>>,
    /// The Prometheus recorder's handle (`GET /metrics`).
    pub metrics: crate::metrics::Metrics,
    /// True once migrations ran and session bootstrap was attempted.
    pub ready: Arc<AtomicBool>,
    pub started: Instant,
    /// Graceful restarts (exit code 75 for the supervisor) and the daily schedule.
    pub restart: crate::system::restart::Restarter,
    key_touched: Arc<Mutex<HashMap<String, i64>>>,
}

/// `last_used_at` is written at most this often per key, so authentication does not turn
/// every read into a database write.
const KEY_TOUCH_EVERY_MS: i64 = 60_000;

impl AppState {
    pub fn new(config: Config, db: Db) -> Self {
        Self::with_stores(config, db.clone(), Arc::new(SqlStores::new(db)))
    }

    /// With another device store (tests use memory to run without a database per client).
    pub fn with_stores(config: Config, db: Db, stores: Arc<dyn DeviceStores>) -> Self {
        let limiter = RateLimiter::new(config.rate_limit_window, config.rate_limit_max);
        let tenant_limiter = (config.tenant_rate_max > 0)
            .then(|| Arc::new(RateLimiter::new(config.rate_limit_window, config.tenant_rate_max)));
        let login_gate = Arc::new(crate::auth::LoginGate::new(config.login_max_concurrent));
        let events = EventBus::default();
        let proxies = config.proxy_pool.clone().map(|p| Arc::new(crate::sessions::proxy::ProxyPool::new(p)));
        let webhooks = crate::webhooks::Webhooks::new(db.clone(), config.webhook.clone(), &events);
        if let Some(pool) = &proxies {
            webhooks.egress.set_pool(pool.clone());
        }
        let sessions = SessionManager::new(ActorDeps {
            db: db.clone(),
            bus: events.clone(),
            stores,
            wa: WaOptions { url: config.wa_url.clone(), version: config.wa_version, http: None },
            reconnect_timeout: config.session_reconnect_timeout,
            sinks: Default::default(),
            media_dir: crate::media::session_dir(&config.data_dir, ""),
            proxies,
        });
        let outbound = crate::outbound::Outbound::new(db.clone(), config.outbound.clone());
        AppState {
            metrics: crate::metrics::Metrics::from_config(&config.metrics),
            outbound,
            webhooks,
            config: Arc::new(config),
            db,
            limiter: Arc::new(limiter),
            tenant_limiter,
            login_gate,
            cpu: Arc::new(CpuHistory::default()),
            sessions,
            events,
            #[cfg(feature = "sandbox")]
            sandbox: None,
            ready: Arc::new(AtomicBool::new(false)),
            started: Instant::now(),
            restart: Default::default(),
            key_touched: Arc::default(),
        }
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Records a key's use in the background, throttled per key.
    pub fn note_key_use(&self, key_id: &str) {
        let now = now_ms();
        {
            let mut seen = self.key_touched.lock().unwrap_or_else(|e| e.into_inner());
            if seen.get(key_id).is_some_and(|t| now - t < KEY_TOUCH_EVERY_MS) {
                return;
            }
            if seen.len() > 100_000 {
                seen.clear();
            }
            seen.insert(key_id.to_string(), now);
        }
        let db = self.db.clone();
        let id = key_id.to_string();
        tokio::spawn(async move {
            if let Err(e) = db.touch_api_key(&id, now).await {
                tracing::warn!(error = %e, "could not record API key use");
            }
        });
    }
}

/// Opens the database and applies migrations (also what `warest migrate` runs).
pub async fn open_database(config: &Config) -> anyhow::Result<Db> {
    let db = Db::connect_with(&config.database, config.db_pool_max, config.sqlite_full_sync)
        .await
        .with_context(|| format!("cannot open the {} database", config.database.kind()))?;
    db.migrate().await.context("cannot apply database migrations")?;
    Ok(db)
}

/// Opens and migrates the database, seeds the admin, and builds the state. Hands a
/// generated admin key over once (auth::handover). Nothing listens yet.
pub async fn prepare(config: Config) -> anyhow::Result<AppState> {
    let db = open_database(&config).await?;
    let seeded = crate::auth::seed_admin(&db, &config).await.context("cannot seed the admin user")?;
    if let Some(key) = &seeded.generated_key {
        // Never logged: it must not end up in log aggregation, and it is handed over once.
        match crate::auth::handover::hand_over(&config.data_dir, &seeded.admin.username, key)
            .context("cannot hand over the generated admin key")?
        {
            crate::auth::handover::Handover::Printed => {}
            crate::auth::handover::Handover::File(path) => tracing::warn!(
                path = %path.display(),
                "generated an admin API key for user {:?}; no terminal is attached, so it was written to this \
                 file (mode 0600): read it, store it, delete the file, or set WAREST_ADMIN_APIKEY",
                seeded.admin.username
            ),
        }
    }
    // One limit for all image work in the process (the last gateway built sets it).
    crate::media::imaging::configure(config.outbound.images);
    let state = AppState::new(config, db);
    // Receipts advance the status records of sent messages.
    let receipts = crate::outbound::receipts::ReceiptSink::spawn(state.db.clone(), state.events.clone());
    state.sessions.deps().sinks.add(receipts);
    // The normalizer sees every session's raw events (message store + outbox).
    let media = crate::media::received::ReceivedMedia::start(
        state.db.clone(),
        state.config.data_dir.clone(),
        state.config.media.clone(),
    );
    let sink = crate::inbound::InboundSink::start(crate::inbound::Deps {
        hooks: state.webhooks.clone(),
        prefix: state.config.command_prefix.clone(),
        media,
        outbound: state.outbound.clone(),
        autoreply: state.config.autoreply,
    });
    state.sessions.deps().sinks.add(sink.clone());
    // …and stores each decrypted message before whatsapp-rust acknowledges it to WhatsApp.
    state.sessions.deps().sinks.set_committer(sink);
    // App-state changes (archive, mute, pin …) from any device keep the chats rows current.
    state.sessions.deps().sinks.add(crate::chats::sync::ChatSyncSink::spawn(state.db.clone()));
    Ok(state)
}

/// Runs the gateway until `shutdown` is cancelled, then drains and returns.
pub async fn run(config: Config, listener: TcpListener, shutdown: CancellationToken) -> anyhow::Result<()> {
    let state = prepare(config).await?;
    serve(state, listener, shutdown).await
}

/// Serves a prepared gateway: restores sessions, answers HTTP, and on `shutdown` stops
/// the sessions cleanly and closes the database.
pub async fn serve(state: AppState, listener: TcpListener, shutdown: CancellationToken) -> anyhow::Result<()> {
    let db = state.db.clone();
    let sampler = tokio::spawn(crate::system::cpu::run_sampler(
        state.cpu.clone(),
        state.config.cpu_sample_interval,
        shutdown.clone(),
    ));

    // Before the listener answers: jobs a crash left mid-send are queued again first.
    state.outbound.start(state.sessions.clone(), shutdown.clone()).await.context("cannot start the send queue")?;
    // Receivers' answers with `actions` run (with the final session manager: tests adjust it
    // after `prepare`) through the send queue and message operations.
    let runner = crate::actions::ActionRunner::new(
        state.db.clone(),
        state.sessions.clone(),
        state.outbound.clone(),
        state.config.actions.clone(),
    );
    state.webhooks.set_answer_handler(std::sync::Arc::new(runner));
    // Stopped only after the sessions, so their last statuses still reach the outbox.
    let hooks_stop = CancellationToken::new();
    let hook_tasks = state.webhooks.start(hooks_stop.clone());

    let router = crate::http::router(state.clone());
    let addr = listener.local_addr()?;
    tracing::info!(%addr, database = db.kind().as_str(), "warest listening");

    // Ready means migrated and session bootstrap attempted; the listener already answers
    // (health probes, 503 on /ready) while sessions come back.
    let boot = {
        let state = state.clone();
        tokio::spawn(async move {
            let opts = BootOptions {
                concurrency: state.config.session_boot_concurrency,
                max_jitter: state.config.session_boot_jitter,
            };
            match state.sessions.restore_all(opts).await {
                Ok(n) => tracing::info!(sessions = n, "session bootstrap done"),
                Err(e) => tracing::error!(error = %e, "session bootstrap failed"),
            }
            state.ready.store(true, Ordering::Release);
        })
    };

    // A requested restart is a graceful stop; the binary then exits with the restart code.
    let restart_watch = {
        let (restart, shutdown) = (state.restart.clone(), shutdown.clone());
        tokio::spawn(async move {
            tokio::select! {
                _ = restart.wait() => shutdown.cancel(),
                _ = shutdown.cancelled() => {}
            }
        })
    };
    let scheduler =
        tokio::spawn(crate::system::restart::run_scheduler(db.clone(), state.restart.clone(), shutdown.clone()));
    let retention =
        tokio::spawn(crate::system::retention::run(db.clone(), state.config.retention_days, shutdown.clone()));

    let grace = state.config.shutdown_timeout;
    let stop = shutdown.clone();
    let server = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move { stop.cancelled().await });
    let server = tokio::spawn(async move { server.await });
    let metrics_server = match state.config.metrics.listen {
        Some(at) if state.metrics.enabled() => {
            let listener = TcpListener::bind(at)
                .await
                .with_context(|| format!("cannot listen on {at} (WAREST_METRICS_LISTEN)"))?;
            tracing::info!(addr = %listener.local_addr()?, "metrics listening");
            let app = crate::http::routes::server::metrics::own_listener(state.clone());
            let stop = shutdown.clone();
            Some(tokio::spawn(async move {
                axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
                    .with_graceful_shutdown(async move { stop.cancelled().await })
                    .await
            }))
        }
        _ => None,
    };

    shutdown.cancelled().await;
    tracing::info!("shutting down");
    state.ready.store(false, Ordering::Release);
    boot.abort();
    let _ = tokio::join!(restart_watch, scheduler, retention);
    // The queue's workers stopped claiming with the token; sends already handed to
    // WhatsApp finish (bounded) before the clients go away.
    let cut = state.outbound.drain(grace).await;
    if cut > 0 {
        tracing::warn!(sends = cut, ?grace, "sends still in flight at shutdown go out again at the next start");
    }
    // Clients stop cleanly (flushing their stores) and keep their status for the next boot.
    state.sessions.shutdown_all().await;
    hooks_stop.cancel();
    for t in hook_tasks {
        let _ = t.await;
    }
    match tokio::time::timeout(grace, server).await {
        Ok(joined) => joined.context("server task panicked")?.context("server error")?,
        Err(_) => tracing::warn!(?grace, "in-flight requests did not finish in time"),
    }
    let _ = sampler.await;
    if let Some(m) = metrics_server {
        let _ = tokio::time::timeout(grace, m).await;
    }
    db.close().await;
    tracing::info!("stopped");
    Ok(())
}
