//! Outbound: the guarded, durable send queue. A send is validated, given its WhatsApp
//! message id and stored (with its idempotency key) before the caller gets an answer; a
//! worker per session then sends the session's jobs in FIFO order through the session's
//! current client, with a concurrency cap, a per-attempt timeout and retries with backoff.
//! The job row stays as the message's status record.
//!
//! Owns message building and the queue; does not parse HTTP (routes call [`Outbound::enqueue`],
//! and so can webhook actions) and does not deliver events (inbound writes the outbox).

pub mod build;
pub mod build_inputs;
pub mod build_interactive;
pub mod build_media;
pub mod content;
pub mod forward_media;
pub mod guard;
pub mod interactive;
pub mod pacing;
pub mod preview;
pub mod receipts;
pub mod recipient;
pub mod retry;
pub mod sources;
pub mod store;
mod worker;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::sessions::manager::SessionManager;
use crate::store::{Db, StoreError, now_ms};
use content::Content;
use recipient::Recipient;
use store::{AcceptRequest, Accepted, IdemKey, NewJob};

#[derive(Debug, Clone, PartialEq)]
pub struct OutboundConfig {
    pub concurrency: usize,
    pub max_size: i64,
    /// Bytes of sends waiting across one tenant's sessions (0: no limit; admins exempt).
    pub tenant_max_bytes: i64,
    /// Limit of one send attempt (None: no limit).
    pub timeout: Option<Duration>,
    pub retry: retry::RetryPolicy,
    pub default_country_code: Option<String>,
    pub media: crate::media::fetch::MediaLimits,
    /// Mimetypes accepted for documents (`WAREST_MIMETYPE_FILES_ALLOWLIST`).
    pub file_mimetypes: Vec<String>,
    /// ffmpeg for voice notes and GIFs.
    pub ffmpeg: crate::media::ffmpeg::FfmpegConfig,
    /// The gateway-wide limits of image work (`media::imaging::configure` applies them).
    pub images: crate::media::imaging::ImageLimits,
    /// Limits of one `/messages/send/files` upload.
    pub files_max_count: usize,
    pub files_max_total_bytes: usize,
    pub guard: guard::GuardConfig,
}

/// One send, as any caller (HTTP route, webhook action) hands it in.
#[derive(Debug, Clone)]
pub struct SendRequest {
    pub session_id: String,
    /// The session's owner (its registry), which scopes idempotency keys and reads.
    pub registry: String,
    /// The session's own JID, when linked: message ids embed it like WhatsApp's own.
    pub me_jid: Option<String>,
    pub recipients: Vec<Recipient>,
    pub content: Content,
    pub idempotency_key: Option<String>,
}

/// What was accepted for one recipient; also what an idempotent replay answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Queued {
    pub message_id: String,
    pub to: String,
    pub to_jid: String,
    pub kind: String,
    /// Unix seconds when it was accepted.
    pub timestamp: i64,
}

#[derive(Debug)]
pub struct Enqueued {
    pub messages: Vec<Queued>,
    /// True when this is the stored answer of an earlier request with the same key.
    pub replayed: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum EnqueueError {
    #[error("the session's send queue is full ({depth} waiting, limit {max})")]
    QueueFull { depth: i64, max: i64 },
    #[error("the tenant's waiting sends hold {used} bytes; its limit is {max}")]
    TenantBytes { used: i64, max: i64 },
    #[error("this Idempotency-Key was used with a different request")]
    KeyReused,
    #[error("refused by the anti-spam guard: {0:?}")]
    Guarded(guard::Rejection),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone)]
pub struct Outbound {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    cfg: OutboundConfig,
    guard: guard::Guard,
    /// Recent paced sends per content, for the broadcast slowdown.
    bursts: pacing::Bursts,
    /// Sessions whose queue is paused (mirrors `outbound_queue_state`).
    paused: Mutex<std::collections::HashSet<String>>,
    /// A wake-up per session whose worker runs.
    workers: Mutex<HashMap<String, Arc<Notify>>>,
    /// Set by [`Outbound::start`] (with the final session manager: tests adjust it after
    /// the state is built); workers run only after it.
    run: OnceLock<(SessionManager, CancellationToken)>,
    /// Sends handed to WhatsApp and not yet recorded; a graceful stop waits for them.
    in_flight: tokio::sync::watch::Sender<usize>,
}

impl Outbound {
    pub fn new(db: Db, cfg: OutboundConfig) -> Self {
        Outbound {
            inner: Arc::new(Inner {
                db,
                cfg,
                guard: guard::Guard::default(),
                bursts: pacing::Bursts::default(),
                paused: Mutex::default(),
                workers: Mutex::default(),
                run: OnceLock::new(),
                in_flight: tokio::sync::watch::Sender::new(0),
            }),
        }
    }

    pub fn config(&self) -> &OutboundConfig {
        &self.inner.cfg
    }

    /// Recovers jobs a crashed process left mid-send and starts a worker for every session
    /// with waiting work. Workers stop when `stop` is cancelled.
    pub async fn start(&self, sessions: SessionManager, stop: CancellationToken) -> Result<(), StoreError> {
        if self.inner.run.set((sessions, stop)).is_err() {
            return Ok(());
        }
        let paused = self.inner.db.outbound_paused_sessions().await?;
        self.inner.paused.lock().unwrap_or_else(|e| e.into_inner()).extend(paused);
        let resent = self.inner.db.outbound_recover().await?;
        if resent > 0 {
            tracing::warn!(jobs = resent, "sends interrupted by the last stop go out again with their message ids");
        }
        for session in self.inner.db.outbound_pending_sessions().await? {
            self.wake(&session);
        }
        Ok(())
    }

    /// Tells the session's worker there is work, starting it if needed.
    pub fn wake(&self, session_id: &str) {
        let Some((sessions, stop)) = self.inner.run.get() else { return };
        let mut workers = self.inner.workers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = workers.get(session_id) {
            n.notify_one();
            return;
        }
        let notify = Arc::new(Notify::new());
        workers.insert(session_id.to_string(), notify.clone());
        tokio::spawn(worker::run(self.clone(), sessions.clone(), session_id.to_string(), notify, stop.clone()));
    }

    pub fn is_paused(&self, session_id: &str) -> bool {
        self.inner.paused.lock().unwrap_or_else(|e| e.into_inner()).contains(session_id)
    }

    /// Pauses or resumes sending from the session's queue (accepting continues); survives
    /// restarts.
    pub async fn set_paused(&self, session_id: &str, paused: bool) -> Result<(), StoreError> {
        self.inner.db.outbound_set_paused(session_id, paused).await?;
        {
            let mut set = self.inner.paused.lock().unwrap_or_else(|e| e.into_inner());
            if paused {
                set.insert(session_id.to_string());
            } else {
                set.remove(session_id);
            }
        }
        self.wake(session_id);
        Ok(())
    }

    /// Waits (at most `bound`) until no send is in flight. Workers stop claiming jobs when
    /// the stop token is cancelled, so after that this only waits for the sends already
    /// handed to WhatsApp; returns how many were still running at the bound. A send cut
    /// off there is not lost: it is claimed again, with its message id, at the next start.
    pub async fn drain(&self, bound: Duration) -> usize {
        let mut rx = self.inner.in_flight.subscribe();
        let idle = async move { rx.wait_for(|n| *n == 0).await.map(|_| ()) };
        match tokio::time::timeout(bound, idle).await {
            Ok(_) => 0,
            Err(_) => *self.inner.in_flight.borrow(),
        }
    }

    pub(super) fn flight(&self, delta: isize) {
        self.inner.in_flight.send_modify(|n| *n = n.saturating_add_signed(delta));
    }

    fn worker_gone(&self, session_id: &str) {
        self.inner.workers.lock().unwrap_or_else(|e| e.into_inner()).remove(session_id);
    }

    /// Accepts a send: one job per recipient, stored before this returns. With an
    /// idempotency key seen in the last 24 h, returns that request's answer instead.
    pub async fn enqueue(&self, req: SendRequest) -> Result<Enqueued, EnqueueError> {
        let mut all = self.enqueue_all(vec![req]).await?;
        Ok(all.pop().expect("one answer per request"))
    }

    /// Accepts several sends of one session (the files of one upload) together: every
    /// one is stored, or none is and the first refusal is the answer. A refusal by the
    /// anti-spam guard after earlier requests were admitted leaves those admissions
    /// counted (its quota and cool-downs are in memory, not in the transaction).
    pub async fn enqueue_all(&self, reqs: Vec<SendRequest>) -> Result<Vec<Enqueued>, EnqueueError> {
        let Some(first) = reqs.first() else { return Ok(Vec::new()) };
        let (session_id, registry) = (first.session_id.clone(), first.registry.clone());
        debug_assert!(reqs.iter().all(|r| r.session_id == session_id), "one session per call");
        let mut planned = Vec::with_capacity(reqs.len());
        for req in &reqs {
            planned.push(self.plan(req).await?);
        }
        for (req, _) in reqs.iter().zip(&planned).filter(|(_, p)| !p.replay) {
            let to: Vec<String> = req.recipients.iter().map(|r| r.jid.clone()).collect();
            let content_hash = hex::encode(Sha256::digest(req.content.fingerprint().as_bytes()));
            self.inner
                .guard
                .admit(
                    &self.inner.cfg.guard,
                    now_ms(),
                    &req.session_id,
                    &to,
                    &content_hash,
                    req.idempotency_key.as_deref(),
                )
                .map_err(EnqueueError::Guarded)?;
        }
        let jobs: Vec<Vec<NewJob>> = planned
            .iter()
            .map(|p| {
                p.messages
                    .iter()
                    .map(|m| NewJob {
                        message_id: &m.message_id,
                        to_jid: &m.to_jid,
                        kind: &m.kind,
                        payload: &p.payload,
                    })
                    .collect()
            })
            .collect();
        let requests: Vec<AcceptRequest> = reqs
            .iter()
            .zip(&planned)
            .zip(&jobs)
            .filter(|((_, p), _)| !p.replay)
            .map(|((req, p), jobs)| AcceptRequest {
                jobs,
                idem: req.idempotency_key.as_deref().map(|key| IdemKey {
                    key,
                    request_hash: &p.hash,
                    response: &p.response,
                }),
            })
            .collect();
        let (max, max_bytes) = (self.inner.cfg.max_size, self.inner.cfg.tenant_max_bytes);
        let limits = store::AcceptLimits { max_size: max, tenant_max_bytes: max_bytes };
        let accepted = self.inner.db.outbound_accept_all(&session_id, &registry, &requests, limits).await?;
        let mut accepted = accepted.into_iter();
        let mut out = Vec::with_capacity(planned.len());
        let mut queued = 0u64;
        for p in planned {
            if p.replay {
                out.push(Enqueued { messages: p.messages, replayed: true });
                continue;
            }
            match accepted.next() {
                Some(Accepted::Queued) => {
                    queued += p.messages.len() as u64;
                    out.push(Enqueued { messages: p.messages, replayed: false });
                }
                Some(Accepted::Replay { same_request: false, .. }) => return Err(EnqueueError::KeyReused),
                Some(Accepted::Replay { response, .. }) => {
                    out.push(Enqueued { messages: replayed(&response)?, replayed: true });
                }
                Some(Accepted::Full { depth }) => return Err(EnqueueError::QueueFull { depth, max }),
                Some(Accepted::TenantBytes { used }) => {
                    return Err(EnqueueError::TenantBytes { used, max: max_bytes });
                }
                None => return Err(EnqueueError::Store(StoreError::NotFound)),
            }
        }
        if queued > 0 {
            crate::metrics::send("accepted", queued);
            self.wake(&session_id);
        }
        Ok(out)
    }
}

impl Outbound {
    /// A request's message ids, payload and stored answer; a known idempotency key's
    /// answer instead (`replay`), or `KeyReused` if it came with another request.
    async fn plan(&self, req: &SendRequest) -> Result<Plan, EnqueueError> {
        let encode = |e: serde_json::Error| StoreError::Db(sqlx::Error::Encode(Box::new(e)));
        let ts = now_ms() / 1000;
        let payload = serde_json::to_string(&req.content).map_err(encode)?;
        let messages: Vec<Queued> = req
            .recipients
            .iter()
            .map(|r| Queued {
                message_id: new_message_id(req.me_jid.as_deref()),
                to: r.user.clone(),
                to_jid: r.jid.clone(),
                kind: req.content.kind().to_string(),
                timestamp: ts,
            })
            .collect();
        let response = serde_json::to_string(&messages).map_err(encode)?;
        let hash = request_hash(&req.session_id, &req.recipients, &req.content.fingerprint());
        // A retry with a known key is answered from the key, before any guard could refuse it.
        if let Some(key) = &req.idempotency_key
            && let Some((stored_hash, response)) = self.inner.db.idempotency_lookup(&req.registry, key).await?
        {
            if stored_hash != hash {
                return Err(EnqueueError::KeyReused);
            }
            return Ok(Plan { messages: replayed(&response)?, payload, response, hash, replay: true });
        }
        Ok(Plan { messages, payload, response, hash, replay: false })
    }
}

/// One request of [`Outbound::enqueue_all`], ready to store.
struct Plan {
    messages: Vec<Queued>,
    payload: String,
    response: String,
    hash: String,
    /// Answered from its idempotency key; nothing to store.
    replay: bool,
}

fn replayed(response: &str) -> Result<Vec<Queued>, EnqueueError> {
    serde_json::from_str(response).map_err(|e| EnqueueError::Store(StoreError::Db(sqlx::Error::Decode(Box::new(e)))))
}

/// A WhatsApp-style message id (`3EB0…`), chosen before the first attempt so every
/// attempt, including one after a crash, sends the same id.
pub fn new_message_id(me_jid: Option<&str>) -> String {
    let me = me_jid.and_then(|j| j.parse::<whatsapp_rust::Jid>().ok());
    let secs = u64::try_from(now_ms() / 1000).unwrap_or_default();
    whatsapp_rust::wacore::request::RequestUtils::message_id_at(me.as_ref(), secs)
}

/// What makes two requests "the same" for an idempotency key: session, recipients and
/// content (not the generated ids or the time).
fn request_hash(session_id: &str, recipients: &[Recipient], fingerprint: &str) -> String {
    let mut h = Sha256::new();
    h.update(session_id.as_bytes());
    for r in recipients {
        h.update([0]);
        h.update(r.jid.as_bytes());
    }
    h.update([1]);
    h.update(fingerprint.as_bytes());
    hex::encode(h.finalize())
}
