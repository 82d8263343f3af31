//! What `/server/healthz` and `/server/ready` report: each dependency checked for real
//! (a query, a file written and removed, `ffmpeg -version`, the queues' oldest ages, the
//! failed sessions), each under a time limit, with its state and a few facts.
//!
//! Only the database makes the gateway unhealthy (503: nothing works without it). The
//! rest degrade it (200): a failed session or a stuck webhook target needs an operator,
//! not a container restart that would drop every other session.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::store::now_ms;

/// Longest wait for one check.
const CHECK_LIMIT: Duration = Duration::from_secs(2);
/// `ffmpeg -version` is a process start: anonymous probes must not be able to spawn one
/// per request, so its answer is kept this long.
const FFMPEG_TTL: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Ok,
    /// Serving, but an operator should look.
    Degraded,
    Error,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub state: State,
    /// Facts behind the state (counts, ages, versions); shown to authenticated callers.
    #[serde(skip_serializing_if = "Value::is_null")]
    pub detail: Value,
}

impl Check {
    fn new(state: State, detail: Value) -> Check {
        Check { state, detail }
    }
}

pub struct Report {
    pub checks: BTreeMap<&'static str, Check>,
}

impl Report {
    /// `healthy`, `degraded` or `unhealthy` (the database is down).
    pub fn status(&self) -> &'static str {
        if self.checks.get("database").is_none_or(|c| c.state != State::Ok) {
            "unhealthy"
        } else if self.checks.values().all(|c| c.state == State::Ok) {
            "healthy"
        } else {
            "degraded"
        }
    }

    pub fn database_ok(&self) -> bool {
        self.checks.get("database").is_some_and(|c| c.state == State::Ok)
    }

    pub fn state_of(&self, name: &str) -> Option<State> {
        self.checks.get(name).map(|c| c.state)
    }

    /// The `checks` object: states, with their details only when `detailed`.
    pub fn to_json(&self, detailed: bool) -> Value {
        let map: serde_json::Map<String, Value> = self
            .checks
            .iter()
            .map(|(name, c)| {
                let v = if detailed { json!(c) } else { json!({ "state": c.state }) };
                (name.to_string(), v)
            })
            .collect();
        Value::Object(map)
    }
}

/// Every check, concurrently.
pub async fn check(state: &AppState) -> Report {
    let (database, data_dir, ffmpeg, send_queue, outbox, sessions) = tokio::join!(
        database(state),
        data_dir(state),
        ffmpeg(state),
        backlog(state, true),
        backlog(state, false),
        sessions(state),
    );
    let checks = BTreeMap::from([
        ("database", database),
        ("dataDir", data_dir),
        ("ffmpeg", ffmpeg),
        ("sendQueue", send_queue),
        ("webhookOutbox", outbox),
        ("sessions", sessions),
    ]);
    Report { checks }
}

/// Only the database, for `/ready`.
pub async fn database_only(state: &AppState) -> Check {
    database(state).await
}

async fn database(state: &AppState) -> Check {
    let started = Instant::now();
    let kind = state.db.kind().as_str();
    match tokio::time::timeout(CHECK_LIMIT, state.db.ping()).await {
        Ok(Ok(())) => Check::new(
            State::Ok,
            json!({ "databaseType": kind, "latencyMs": started.elapsed().as_secs_f64() * 1000.0 }),
        ),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health: the database did not answer");
            Check::new(State::Error, json!({ "databaseType": kind, "error": "query failed" }))
        }
        Err(_) => Check::new(State::Error, json!({ "databaseType": kind, "error": "timed out" })),
    }
}

async fn data_dir(state: &AppState) -> Check {
    let dir = state.config.data_dir.clone();
    let probe = tokio::task::spawn_blocking(move || super::data_dir_writable(&dir));
    match tokio::time::timeout(CHECK_LIMIT, probe).await {
        Ok(Ok(true)) => Check::new(State::Ok, Value::Null),
        Ok(_) => Check::new(State::Error, json!({ "error": "not writable" })),
        Err(_) => Check::new(State::Error, json!({ "error": "timed out" })),
    }
}

static FFMPEG: Mutex<Option<(Instant, Check)>> = Mutex::new(None);

/// Missing ffmpeg degrades: text, images and documents still go out, voice notes and GIF
/// conversion do not.
async fn ffmpeg(state: &AppState) -> Check {
    if let Some((at, c)) = FFMPEG.lock().unwrap_or_else(|e| e.into_inner()).as_ref()
        && at.elapsed() < FFMPEG_TTL
    {
        return c.clone();
    }
    let c = match state.config.outbound.ffmpeg.version(CHECK_LIMIT).await {
        Ok(version) => Check::new(State::Ok, json!({ "version": version })),
        Err(e) => Check::new(State::Degraded, json!({ "error": e.to_string() })),
    };
    *FFMPEG.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), c.clone()));
    c
}

/// `sends`: the send queue, else the webhook outbox. Older than
/// `WAREST_HEALTH_MAX_QUEUE_AGE_SEC` means stuck (a paused queue, a dead receiver).
async fn backlog(state: &AppState, sends: bool) -> Check {
    let read = async { if sends { state.db.outbound_backlog().await } else { state.db.outbox_backlog().await } };
    let limit = state.config.health_max_queue_age;
    match tokio::time::timeout(CHECK_LIMIT, read).await {
        Ok(Ok(b)) => {
            let age = Duration::from_millis(b.oldest_age_ms(now_ms()) as u64);
            let st = if age > limit { State::Degraded } else { State::Ok };
            Check::new(
                st,
                json!({ "depth": b.depth, "oldestAgeSeconds": age.as_secs(), "maxAgeSeconds": limit.as_secs() }),
            )
        }
        Ok(Err(_)) | Err(_) => Check::new(State::Error, json!({ "error": "could not be read" })),
    }
}

/// Any FAILED session degrades: it needs someone to relink or restart it.
async fn sessions(state: &AppState) -> Check {
    match tokio::time::timeout(CHECK_LIMIT, state.db.sessions_by_status()).await {
        Ok(Ok(counts)) => {
            let failed = counts.iter().find(|(s, _)| s == "FAILED").map_or(0, |(_, n)| *n);
            let total: i64 = counts.iter().map(|(_, n)| n).sum();
            let st = if failed > 0 { State::Degraded } else { State::Ok };
            Check::new(st, json!({ "failed": failed, "total": total }))
        }
        Ok(Err(_)) | Err(_) => Check::new(State::Error, json!({ "error": "could not be read" })),
    }
}
