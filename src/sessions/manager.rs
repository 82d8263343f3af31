//! The session manager: the registry of live actors, session creation and deletion, and
//! the boot sequence that brings auto-start sessions back without a new QR.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use serde_json::Value;
use tokio::sync::Semaphore;

use super::actor::{self, ActorDeps, SessionHandle, Snapshot};
use super::events::StatusDetail;
use super::status::{Status, Tag};
use super::wa::WaOptions;
use crate::store::sessions::{NewSession, Scope, SessionRow};
use crate::store::{StoreError, StoreResult};

#[derive(Clone)]
pub struct SessionManager {
    deps: ActorDeps,
    live: Arc<Mutex<HashMap<String, SessionHandle>>>,
}

/// Boot pacing: how many sessions connect at once, and a random delay before each so a
/// restart does not hit WhatsApp with every session in the same instant.
#[derive(Debug, Clone, Copy)]
pub struct BootOptions {
    pub concurrency: usize,
    pub max_jitter: Duration,
}

pub struct NewSessionSpec<'a> {
    pub id: &'a str,
    pub registry: &'a str,
    pub label: Option<&'a str>,
    pub auto_start: bool,
    pub metadata: &'a Value,
}

impl SessionManager {
    pub fn new(deps: ActorDeps) -> Self {
        SessionManager { deps, live: Arc::default() }
    }

    pub fn deps(&self) -> &ActorDeps {
        &self.deps
    }

    /// Changes how sessions spawned from now on reach WhatsApp (the sandbox wires its media
    /// host in before any session starts).
    pub fn set_wa_options(&mut self, wa: WaOptions) {
        self.deps.wa = wa;
    }

    fn initial_snapshot(row: &SessionRow) -> Snapshot {
        Snapshot {
            // A stored running status without an actor is history (the process stopped);
            // the actor resets it when it starts.
            status: Status::parse(&row.status).filter(|s| !s.is_running()).unwrap_or(Status::Stopped),
            qr: None,
            pairing_code: None,
            me: row.me.clone(),
            last_error: row.last_error.clone(),
            proxy: None,
        }
    }

    /// The session's actor, spawned on first use.
    pub fn handle(&self, row: &SessionRow) -> SessionHandle {
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        live.entry(row.id.clone())
            .or_insert_with(|| {
                actor::spawn(row.id.clone(), row.registry.clone(), Self::initial_snapshot(row), self.deps.clone())
            })
            .clone()
    }

    /// The live view of a session: its actor's state, or the stored one when none runs.
    pub fn snapshot(&self, row: &SessionRow) -> Snapshot {
        let live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        live.get(&row.id).map_or_else(|| Self::initial_snapshot(row), |h| h.snapshot())
    }

    pub fn active_count(&self) -> usize {
        let live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        live.values().filter(|h| h.snapshot().status == Status::Working).count()
    }

    /// Creates the registry row; `Conflict` when the id is taken (by anyone).
    pub async fn create(&self, spec: NewSessionSpec<'_>) -> StoreResult<SessionRow> {
        let row = self
            .deps
            .db
            .create_session(NewSession {
                id: spec.id,
                registry: spec.registry,
                label: spec.label,
                status: Status::Stopped.as_str(),
                auto_start: spec.auto_start,
                metadata: spec.metadata,
            })
            .await?;
        self.deps.bus.session_status(&row.id, &row.registry, Tag::Create, Status::Stopped, StatusDetail::default());
        Ok(row)
    }

    /// Logs the session out (best effort), stops it, wipes its device store and deletes it.
    pub async fn delete(&self, scope: Scope<'_>, id: &str) -> StoreResult<SessionRow> {
        let row = self.deps.db.get_session(scope, id).await?;
        let handle = self.live.lock().unwrap_or_else(|e| e.into_inner()).remove(id);
        if let Some(h) = handle {
            if h.snapshot().me.jid.is_some() {
                h.logout().await;
            } else {
                h.shutdown().await;
            }
        }
        if let Err(e) = self.deps.stores.wipe(id).await {
            tracing::error!(session = id, error = %e, "could not wipe the device store");
        }
        self.deps.db.delete_session_row(scope, id).await?;
        // The media rows went with the session; their files are not left behind. (Session
        // ids are validated as path-safe when created.)
        let path_safe = !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        let dir = self.deps.media_dir.join(id);
        if path_safe
            && let Err(e) = tokio::fs::remove_dir_all(&dir).await
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(session = id, error = %e, "could not remove the session's media files");
        }
        self.deps.bus.session_status(id, &row.registry, Tag::Delete, Status::Stopped, StatusDetail::default());
        Ok(row)
    }

    /// Starts every session that was running with auto-start on, with bounded concurrency
    /// and jitter. Returns once every start was attempted (not necessarily connected).
    pub async fn restore_all(&self, opts: BootOptions) -> StoreResult<usize> {
        let rows = self.deps.db.sessions_to_restore().await?;
        let sem = Arc::new(Semaphore::new(opts.concurrency.max(1)));
        let mut tasks = Vec::with_capacity(rows.len());
        for row in &rows {
            let permit = sem.clone().acquire_owned().await.map_err(|_| StoreError::NotFound)?;
            let handle = self.handle(row);
            let jitter_ms = opts.max_jitter.as_millis() as u64;
            let delay = if jitter_ms == 0 { 0 } else { rand::thread_rng().gen_range(0..=jitter_ms) };
            tasks.push(tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(delay)).await;
                handle.start(None).await;
                drop(permit);
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
        Ok(rows.len())
    }

    /// Stops every client (keeping stored statuses, so the next boot restores them).
    pub async fn shutdown_all(&self) {
        let handles: Vec<SessionHandle> = {
            let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
            live.drain().map(|(_, h)| h).collect()
        };
        let stops = handles.iter().map(|h| h.shutdown());
        futures_util::future::join_all(stops).await;
    }
}
