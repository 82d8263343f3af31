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
mod prebuilt;
mod run;
pub mod send;
mod send_rich;
mod template;
mod tenants;
mod transform;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::outbound::Outbound;
use crate::sessions::manager::SessionManager;
use crate::store::Db;
use crate::webhooks::answers::{Answer, AnswerBody, AnswerHandler};

/// Runs that may wait per runner slot before more are refused.
const PENDING_PER_SLOT: usize = 16;

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
    /// Most of those (running, and waiting) one tenant may hold, in percent.
    pub tenant_share_percent: u32,
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
            tenant_share_percent: 75,
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
    tenants: Arc<tenants::TenantShares>,
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
        let tenants = Arc::new(tenants::TenantShares::new(
            limits.concurrency.max(1),
            limits.concurrency.max(1) * PENDING_PER_SLOT,
            limits.tenant_share_percent,
        ));
        ActionRunner {
            inner: Arc::new(Inner { db, sessions, outbound, limits, permits, pending: AtomicUsize::new(0), tenants }),
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
            AnswerBody::Text(t) => match parse::parse_body(
                t,
                answer.content_type.as_deref(),
                &me.limits,
                &template::context(&answer.event, &answer.data, &answer.session_id),
            ) {
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
        let max_pending = inner.limits.concurrency.max(1) * PENDING_PER_SLOT;
        let pending = Pending(inner.clone());
        let over = inner.pending.fetch_add(1, Ordering::AcqRel) >= max_pending;
        let held = if over { None } else { inner.tenants.enter(&answer.registry) };
        let Some(held) = held else {
            drop(pending);
            let why = if over {
                format!("the action runner is saturated ({max_pending} runs pending); no action was run")
            } else {
                format!(
                    "this tenant has {} runs pending, its share (WAREST_TENANT_SHARE_PERCENT); no action was run",
                    inner.tenants.pending_share()
                )
            };
            let db = inner.db.clone();
            tokio::spawn(async move { record(&db, answer.attempt_id, vec![failure(why)]).await });
            return;
        };
        let me = self.clone();
        tokio::spawn(async move {
            let _pending = pending;
            // The tenant's permit first: waiting over its share holds none of the runner's.
            let Ok(_mine) = held.running.clone().acquire_owned().await else { return };
            let Ok(_permit) = me.inner.permits.acquire().await else { return };
            me.run(answer).await;
        });
    }
}
