//! The action runner: a webhook receiver's 2xx answer `{"actions":[…], "delayMs":…}` is
//! parsed (size-capped, count- and depth-limited) and executed for the event's session.
//! Send actions go through the durable send queue like REST sends; control actions
//! (delay, typing, presence, react, star, delete, revoke, edit, read) call
//! `message_ops`; flow actions (queue, parallel, when, retry) nest.
//!
//! Runs are spawned off the dispatcher's path with bounded concurrency, and time- and
//! delay-limited. Every action's outcome — including invalid ones, which skip only
//! themselves, and actions refused for addressing another tenant's session — is written
//! to the delivery log (the attempt's `actions`). Every side-effecting action runs at
//! most once per (event, target, occurrence), across redeliveries and replays (`once`).
//! Owns execution; not delivery.

mod once;
pub mod parse;
mod run;
pub mod send;
mod send_rich;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::outbound::Outbound;
use crate::sessions::manager::SessionManager;
use crate::store::Db;
use crate::webhooks::answers::{Answer, AnswerBody, AnswerHandler};

/// Limits of one run (`WAREST_ACTIONS_*`).
#[derive(Debug, Clone, PartialEq)]
pub struct ActionLimits {
    pub enabled: bool,
    /// Largest answer body read, in bytes.
    pub max_body: usize,
    /// Actions per answer, nested ones included.
    pub max_actions: usize,
    pub max_depth: usize,
    /// Sum of all waits of a run (delays, typing, pauses between items, retry waits).
    pub max_total_delay: Duration,
    pub run_timeout: Duration,
    /// Runs executing at once; more wait, up to 16 times this, then are refused.
    pub concurrency: usize,
}

impl Default for ActionLimits {
    fn default() -> Self {
        ActionLimits {
            enabled: true,
            max_body: 256 * 1024,
            max_actions: 50,
            max_depth: 4,
            max_total_delay: Duration::from_secs(60),
            run_timeout: Duration::from_secs(120),
            concurrency: 16,
        }
    }
}

/// What a run needs from the app: cheap handles only (no `AppState`, which holds the
/// webhooks that hold this runner).
#[derive(Clone)]
pub struct ActionRunner {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    sessions: SessionManager,
    outbound: Outbound,
    limits: ActionLimits,
    permits: Semaphore,
    /// Runs waiting or running.
    pending: AtomicUsize,
}

/// Counts a run as pending until dropped.
struct Pending(Arc<Inner>);

impl Drop for Pending {
    fn drop(&mut self) {
        self.0.pending.fetch_sub(1, Ordering::AcqRel);
    }
}

impl ActionRunner {
    pub fn new(db: Db, sessions: SessionManager, outbound: Outbound, limits: ActionLimits) -> Self {
        let permits = Semaphore::new(limits.concurrency.max(1));
        ActionRunner {
            inner: Arc::new(Inner { db, sessions, outbound, limits, permits, pending: AtomicUsize::new(0) }),
        }
    }

    /// Runs one answer to the end and records the results (the spawned task's body;
    /// tests may call it directly).
    pub async fn run(&self, answer: Answer) {
        let me = &self.inner;
        let results = match &answer.body {
            AnswerBody::TooLarge { limit } => Some(vec![failure(format!(
                "the answer is larger than {limit} bytes (WAREST_ACTIONS_MAX_BODY_KB); no action was run"
            ))]),
            AnswerBody::Unreadable => None,
            AnswerBody::Text(t) => match parse::parse_body(t, answer.content_type.as_deref(), &me.limits) {
                parse::Parsed::Nothing => None,
                parse::Parsed::Malformed(why) => Some(vec![failure(format!("{why}; no action was run"))]),
                parse::Parsed::Plan(plan) => Some(run::execute(me, &answer, plan).await),
            },
        };
        let Some(results) = results else { return };
        record(&me.db, answer.attempt_id, results).await;
    }
}

async fn record(db: &Db, attempt_id: i64, results: Vec<Value>) {
    if let Err(e) = db.log_attempt_actions(attempt_id, &Value::Array(results).to_string()).await {
        tracing::warn!(error = %e, attempt = attempt_id, "could not record webhook action results");
    }
}

/// An entry for the run as a whole (`path` empty).
fn failure(error: String) -> Value {
    json!({ "path": "", "type": null, "ok": false, "error": error })
}

impl AnswerHandler for ActionRunner {
    fn max_body(&self) -> usize {
        self.inner.limits.max_body
    }

    fn handle(&self, answer: Answer) {
        let inner = &self.inner;
        if !inner.limits.enabled {
            return;
        }
        let max_pending = inner.limits.concurrency.max(1) * 16;
        let pending = Pending(inner.clone());
        if inner.pending.fetch_add(1, Ordering::AcqRel) >= max_pending {
            drop(pending);
            let db = inner.db.clone();
            let msg =
                failure(format!("the action runner is saturated ({max_pending} runs pending); no action was run"));
            tokio::spawn(async move { record(&db, answer.attempt_id, vec![msg]).await });
            return;
        }
        let me = self.clone();
        tokio::spawn(async move {
            let _pending = pending;
            let Ok(_permit) = me.inner.permits.acquire().await else { return };
            me.run(answer).await;
        });
    }
}
