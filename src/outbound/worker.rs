//! The worker of one session's queue: waits until the session is connected, claims jobs
//! oldest first (up to the concurrency cap), paces a job when it asks for it, sends each
//! with its stored message id, waits for the server's ack, and records the outcome.
//! Transient failures are retried on the [`RetryPolicy`] schedule; a job whose attempt was
//! cut off by a crash is recovered at start and sent once more.
//!
//! Sends are pipelined: a job holds its concurrency slot only until its stanza is written,
//! then waits for the server's ack in the background while the next job goes out, up to
//! [`ACK_WINDOW`] unacked sends per session. Writes stay in claim order (one slot: FIFO);
//! only a send whose ack fails and is retried can land after later ones.
//!
//! [`RetryPolicy`]: super::retry::RetryPolicy

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use sha2::Digest;
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use whatsapp_rust::NodeFilter;
use whatsapp_rust::client::Client;
use whatsapp_rust::send::{SendError, SendOptions};
use whatsapp_rust::wacore_binary::JidExt;

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
/// At most this many sends of one session written but not yet acked by the server. Waiting
/// for each ack before the next write cost two thirds of a session's throughput.
pub const ACK_WINDOW: usize = 32;

pub(super) async fn run(
    out: Outbound,
    sessions: SessionManager,
    session_id: String,
    wake: Arc<Notify>,
    stop: CancellationToken,
) {
    let sem = Arc::new(Semaphore::new(out.inner.cfg.concurrency));
    let window = Arc::new(Semaphore::new(ACK_WINDOW));
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
            // The ack window first: a full window holds no write slot.
            let unacked = tokio::select! {
                p = window.clone().acquire_owned() => p.expect("the semaphore is never closed"),
                _ = stop.cancelled() => break 'session,
            };
            let permit = tokio::select! {
                p = sem.clone().acquire_owned() => p.expect("the semaphore is never closed"),
                _ = stop.cancelled() => break 'session,
            };
            // Counted before the claim, and the stop looked at after counting: a drain that
            // starts after the stop then either sees this claim in flight or no claim is made.
            // (Counting after the claim let a drain return while a job was already `sending`.)
            out.flight(1);
            if stop.is_cancelled() {
                out.flight(-1);
                break 'session;
            }
            match out.inner.db.outbound_claim(&session_id).await {
                Ok(Some(job)) => {
                    let (out, wake) = (out.clone(), wake.clone());
                    let session_id = session_id.clone();
                    tokio::spawn(async move {
                        // The write slot is handed back (and the worker woken) as soon as
                        // the stanza is written; the window slot once the outcome is stored.
                        let mut slot = Some((permit, wake.clone()));
                        // One span per job: every log line of its attempt names the session and message.
                        let span = tracing::info_span!("send", session = %session_id, message_id = %job.message_id, attempt = job.attempts);
                        send_one(&out, &client, &session_id, job, &mut slot).instrument(span).await;
                        drop(slot);
                        out.flight(-1);
                        drop(unacked);
                        wake.notify_one();
                    });
                }
                Ok(None) => {
                    out.flight(-1);
                    drop((permit, unacked));
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
                    out.flight(-1);
                    drop((permit, unacked));
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

/// A job's write slot and the worker to wake when it is handed back.
type WriteSlot = Option<(tokio::sync::OwnedSemaphorePermit, Arc<Notify>)>;

async fn send_one(out: &Outbound, client: &Client, session_id: &str, job: Job, slot: &mut WriteSlot) {
    let db = &out.inner.db;
    let result = attempt(out, client, session_id, &job, slot).await;
    let outcome = match result {
        Ok(()) => {
            crate::metrics::send("sent", 1);
            crate::metrics::send_latency(Duration::from_millis((now_ms() - job.created_at).max(0) as u64));
            db.outbound_sent(job.seq).await
        }
        Err(Failure::Permanent(why)) => {
            tracing::warn!(message_id = %job.message_id, reason = %why, "send failed for good");
            crate::metrics::send("failed", 1);
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
                None => {
                    crate::metrics::send("failed", 1);
                    db.outbound_failed(job.seq, &format!("{why} (after {} attempts)", job.attempts)).await
                }
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

async fn attempt(
    out: &Outbound,
    client: &Client,
    session_id: &str,
    job: &Job,
    slot: &mut WriteSlot,
) -> Result<(), Failure> {
    let mut content: Content = serde_json::from_str(&job.payload)
        .map_err(|e| Failure::Permanent(format!("unreadable stored payload: {e}")))?;
    let to: whatsapp_rust::Jid =
        job.to_jid.parse().map_err(|_| Failure::Permanent(format!("invalid recipient {}", job.to_jid)))?;
    // Paced once, on the first attempt: a retry after a failure goes out without a second
    // round of typing and without counting twice in a burst.
    if content.common_mut().pacing && job.attempts <= 1 {
        pace(out, client, session_id, &job.to_jid, &to, &content).await;
    }
    let message = content.build(client).await.map_err(|e| match e {
        super::content::BuildError::Transient(why) => Failure::Transient(why),
        super::content::BuildError::Permanent(why) => Failure::Permanent(why),
    })?;
    let send = send_acked(client, to, message, &job.message_id, slot);
    match out.inner.cfg.timeout {
        Some(t) => {
            tokio::time::timeout(t, send).await.map_err(|_| Failure::Transient(format!("timed out after {t:?}")))?
        }
        None => tokio::time::timeout(ACK_WAIT_WITHOUT_LIMIT, send)
            .await
            .map_err(|_| Failure::Transient(format!("no server ack within {ACK_WAIT_WITHOUT_LIMIT:?}")))?,
    }
}

/// How long a send waits for the server's ack when no attempt limit is configured.
const ACK_WAIT_WITHOUT_LIMIT: Duration = Duration::from_secs(120);

/// Sends and waits for the server's `<ack class="message" id=…>`: only the ack means
/// WhatsApp took the message, and only then is the job `sent`.
///
/// whatsapp-rust's `send_message_with_options` returns once the stanza is written to the
/// socket, not when the server acks it (its ack-waiter is internal, for the phash check),
/// so the ack is awaited here through `wait_for_node`, registered before the send so a
/// fast ack cannot slip past. An ack carrying `error` is a refusal.
async fn send_acked(
    client: &Client,
    to: whatsapp_rust::Jid,
    message: whatsapp_rust::waproto::whatsapp::Message,
    id: &str,
    slot: &mut WriteSlot,
) -> Result<(), Failure> {
    let ack = client.wait_for_node(NodeFilter::tag("ack").attr("class", "message").attr("id", id));
    let opts = SendOptions::default().with_message_id(id.to_string());
    client.send_message_with_options(to, message, opts).await.map_err(|e| {
        if is_transient(&e) { Failure::Transient(e.to_string()) } else { Failure::Permanent(e.to_string()) }
    })?;
    // Written: the next job may go out while this one waits for its ack.
    if let Some((permit, wake)) = slot.take() {
        drop(permit);
        wake.notify_one();
    }
    let node = ack.await.map_err(|_| Failure::Transient("the connection closed before the server ack".into()))?;
    match node.get().get_attr("error") {
        None => Ok(()),
        Some(code) => {
            let code = code.as_str().to_string();
            // 4xx: the server will refuse this message again; anything else may pass later.
            if code.starts_with('4') {
                Err(Failure::Permanent(format!("the server refused the message (ack error {code})")))
            } else {
                Err(Failure::Transient(format!("the server refused the message for now (ack error {code})")))
            }
        }
    }
}

/// Human-like pacing before one send (see [`super::pacing`]): broadcast slowdown, mark
/// the chat read, "typing…" for a time proportional to the text, "paused", a random gap.
/// Failures of the cues are logged and never stop the send.
async fn pace(
    out: &Outbound,
    client: &Client,
    session_id: &str,
    chat: &str,
    to: &whatsapp_rust::Jid,
    content: &Content,
) {
    use super::pacing;
    let hash = hex::encode(sha2::Sha256::digest(content.fingerprint().as_bytes()));
    let burst = out.inner.bursts.next_delay(session_id, &hash, now_ms());
    if !burst.is_zero() {
        tracing::info!(session = session_id, to = chat, delay = ?burst, "same content to many recipients: slowed");
        tokio::time::sleep(burst).await;
    }
    match out.inner.db.unread_in_chat(session_id, chat).await {
        Ok(unread) if !unread.is_empty() => {
            // In a group a read receipt names the message's sender: one receipt per sender.
            let mut by_sender: Vec<(Option<whatsapp_rust::Jid>, Vec<&str>)> = Vec::new();
            for (id, sender) in &unread {
                let sender = if to.is_group() { sender.as_deref().and_then(|s| s.parse().ok()) } else { None };
                match by_sender.iter_mut().find(|(s, _)| *s == sender) {
                    Some((_, ids)) => ids.push(id),
                    None => by_sender.push((sender, vec![id])),
                }
            }
            let mut ok = true;
            for (sender, ids) in &by_sender {
                if let Err(e) = client.mark_as_read(to, sender.as_ref(), ids).await {
                    tracing::debug!(session = session_id, error = %e, "pacing: mark read failed");
                    ok = false;
                }
            }
            if ok {
                let _ = out.inner.db.chat_mark_read(session_id, chat).await;
            }
        }
        Ok(_) => {}
        Err(e) => tracing::debug!(session = session_id, error = %e, "pacing: unread lookup failed"),
    }
    let chatstate = client.chatstate();
    if let Err(e) = chatstate.send_composing(to).await {
        tracing::debug!(session = session_id, error = %e, "pacing: composing failed");
    }
    tokio::time::sleep(pacing::typing_time(content.visible_text().chars().count())).await;
    if let Err(e) = chatstate.send_paused(to).await {
        tracing::debug!(session = session_id, error = %e, "pacing: paused failed");
    }
    let unit: f64 = rand::thread_rng().r#gen();
    tokio::time::sleep(pacing::gap(unit)).await;
}
