//! The worker of one session's queue: waits until the session is connected, claims jobs
//! oldest first (up to the concurrency cap), sends each with its stored message id, and
//! records the outcome. Transient failures are retried on the [`RetryPolicy`] schedule;
//! a job whose attempt was cut off by a crash is recovered at start and sent once more.
//!
//! [`RetryPolicy`]: super::retry::RetryPolicy

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use whatsapp_rust::client::Client;
use whatsapp_rust::send::{SendError, SendOptions};

use super::Outbound;
use super::content::Content;
use super::store::Job;
use crate::sessions::actor::SessionHandle;
use crate::sessions::manager::SessionManager;
use crate::sessions::status::Status;
use crate::store::{StoreError, now_ms};

/// How long an idle worker sleeps before looking at its queue again without a wake-up.
const IDLE_RECHECK: Duration = Duration::from_secs(30);
/// Pause after a database error before trying again.
const DB_BACKOFF: Duration = Duration::from_secs(1);

pub(super) async fn run(
    out: Outbound,
    sessions: SessionManager,
    session_id: String,
    wake: Arc<Notify>,
    stop: CancellationToken,
) {
    let sem = Arc::new(Semaphore::new(out.inner.cfg.concurrency));
    'session: while !stop.is_cancelled() {
        let row = match out.inner.db.session(&session_id).await {
            Ok(row) => row,
            Err(StoreError::NotFound) => break,
            Err(e) => {
                tracing::warn!(session = %session_id, error = %e, "send queue: cannot load the session");
                sleep_or_stop(DB_BACKOFF, &stop).await;
                continue;
            }
        };
        let handle = sessions.handle(&row);
        loop {
            let Some(client) = wait_working(&handle, &stop).await else {
                // The actor went away (deleted or being replaced): look the session up again.
                sleep_or_stop(DB_BACKOFF, &stop).await;
                continue 'session;
            };
            if out.is_paused(&session_id) {
                tokio::select! {
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep(IDLE_RECHECK) => {}
                    _ = stop.cancelled() => break 'session,
                }
                continue;
            }
            let permit = tokio::select! {
                p = sem.clone().acquire_owned() => p.expect("the semaphore is never closed"),
                _ = stop.cancelled() => break 'session,
            };
            match out.inner.db.outbound_claim(&session_id).await {
                Ok(Some(job)) => {
                    let (out, wake) = (out.clone(), wake.clone());
                    tokio::spawn(async move {
                        send_one(&out, &client, job).await;
                        drop(permit);
                        wake.notify_one();
                    });
                }
                Ok(None) => {
                    drop(permit);
                    let wait = match out.inner.db.outbound_next_due(&session_id).await {
                        Ok(Some(due)) => {
                            Duration::from_millis(u64::try_from(due - now_ms()).unwrap_or(0)).min(IDLE_RECHECK)
                        }
                        _ => IDLE_RECHECK,
                    };
                    tokio::select! {
                        _ = wake.notified() => {}
                        _ = tokio::time::sleep(wait) => {}
                        _ = stop.cancelled() => break 'session,
                    }
                }
                Err(e) => {
                    drop(permit);
                    tracing::warn!(session = %session_id, error = %e, "send queue: claim failed");
                    sleep_or_stop(DB_BACKOFF, &stop).await;
                }
            }
        }
    }
    out.worker_gone(&session_id);
}

async fn sleep_or_stop(d: Duration, stop: &CancellationToken) {
    tokio::select! { _ = tokio::time::sleep(d) => {}, _ = stop.cancelled() => {} }
}

/// The session's client once it is connected; None when the session actor is gone (the
/// session was deleted or stopped for good) or the process stops.
async fn wait_working(handle: &SessionHandle, stop: &CancellationToken) -> Option<Arc<Client>> {
    let mut state = handle.watch();
    loop {
        if state.borrow_and_update().status == Status::Working
            && let Some(c) = handle.client()
        {
            return Some(c);
        }
        tokio::select! {
            changed = state.changed() => changed.ok()?,
            // The client handle and the status are published separately; look again soon.
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            _ = stop.cancelled() => return None,
        }
    }
}

/// Whether a failed attempt may succeed later (connection trouble) or never will.
fn is_transient(e: &SendError) -> bool {
    !matches!(e, SendError::InvalidRequest(_))
}

async fn send_one(out: &Outbound, client: &Client, job: Job) {
    let db = &out.inner.db;
    let result = attempt(out, client, &job).await;
    let outcome = match result {
        Ok(()) => db.outbound_sent(job.seq).await,
        Err(Failure::Permanent(why)) => {
            tracing::warn!(message_id = %job.message_id, reason = %why, "send failed for good");
            db.outbound_failed(job.seq, &why).await
        }
        Err(Failure::Transient(why)) => {
            let retry = u32::try_from(job.attempts).unwrap_or(u32::MAX);
            let unit: f64 = rand::thread_rng().r#gen();
            match out.inner.cfg.retry.delay(retry, unit) {
                Some(d) => {
                    tracing::info!(message_id = %job.message_id, reason = %why, retry_in = ?d, "send will be retried");
                    db.outbound_retry_at(job.seq, now_ms() + d.as_millis() as i64, &why).await
                }
                None => db.outbound_failed(job.seq, &format!("{why} (after {} attempts)", job.attempts)).await,
            }
        }
    };
    if let Err(e) = outcome {
        // The job stays `sending`; the next start sends it again with the same id.
        tracing::error!(message_id = %job.message_id, error = %e, "could not record a send outcome");
    }
}

enum Failure {
    Transient(String),
    Permanent(String),
}

async fn attempt(out: &Outbound, client: &Client, job: &Job) -> Result<(), Failure> {
    let content: Content = serde_json::from_str(&job.payload)
        .map_err(|e| Failure::Permanent(format!("unreadable stored payload: {e}")))?;
    let to: whatsapp_rust::Jid =
        job.to_jid.parse().map_err(|_| Failure::Permanent(format!("invalid recipient {}", job.to_jid)))?;
    let message = content.build(client).await.map_err(|e| match e {
        super::content::BuildError::Transient(why) => Failure::Transient(why),
        super::content::BuildError::Permanent(why) => Failure::Permanent(why),
    })?;
    let opts = SendOptions::default().with_message_id(job.message_id.clone());
    let send = client.send_message_with_options(to, message, opts);
    let res = match out.inner.cfg.timeout {
        Some(t) => {
            tokio::time::timeout(t, send).await.map_err(|_| Failure::Transient(format!("timed out after {t:?}")))?
        }
        None => send.await,
    };
    res.map(|_| ()).map_err(|e| {
        if is_transient(&e) { Failure::Transient(e.to_string()) } else { Failure::Permanent(e.to_string()) }
    })
}
