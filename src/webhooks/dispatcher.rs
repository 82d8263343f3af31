//! The dispatcher: claims due deliveries for its free [`Slots`], signs and POSTs each in
//! its own task (one in flight per session and target, so order holds), and records the
//! outcome — delivered, retry later, target gone (404/410: URL cleared, pending rows
//! dead-lettered), or dead after the last attempt. `dispatch_batch` is one step, so tests
//! can drain it deterministically.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::answers::{Answer, AnswerSlot, read_capped};
use super::egress::Egress;
use super::queue::{AttemptLog, Claimed};
use super::retry::{Breakers, jitter, parse_retry_after, retry_delay};
use super::sign;
use super::slots::Slots;
use crate::config::WebhookConfig;
use crate::store::{Db, StoreResult, now_ms};

/// What one attempt ended in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    Retry,
    Dead,
    /// 404/410: the URL was cleared and the target's pending events dead-lettered.
    Gone,
    /// The target's breaker is open; the row waits without spending an attempt.
    Deferred,
}

impl Outcome {
    /// The `outcome` label of `warest_webhook_deliveries_total`.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Delivered => "delivered",
            Outcome::Retry => "retry",
            Outcome::Dead => "dead",
            Outcome::Gone => "gone",
            Outcome::Deferred => "deferred",
        }
    }
}

pub struct Dispatcher {
    db: Db,
    cfg: Arc<WebhookConfig>,
    egress: Arc<Egress>,
    slots: Arc<Slots>,
    breakers: Arc<Breakers>,
    pub(crate) wake: Arc<Notify>,
    answers: AnswerSlot,
}

/// A signed request ready to send: what the dispatcher and the preflight both POST.
pub struct Signed {
    pub headers: HeaderMap,
    pub body: String,
}

pub struct SignInput<'a> {
    pub cfg: &'a WebhookConfig,
    pub body: &'a str,
    pub secret: Option<&'a str>,
    pub username: &'a str,
    pub event: &'a str,
    pub event_id: &'a str,
    pub session_id: &'a str,
    pub registry: &'a str,
    pub label: Option<&'a str>,
    pub attempt: i64,
    pub custom: Option<&'a Value>,
}

fn put(h: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        h.insert(HeaderName::from_static(name), v);
    }
}

/// Builds the headers of ARCHITECTURE.md's webhook contract for one attempt. Custom
/// headers go first so they can never override a `X-WAREST-*` or signature header.
pub fn signed_headers(i: &SignInput<'_>) -> HeaderMap {
    let mut h = HeaderMap::new();
    if let Some(Value::Object(map)) = i.custom {
        for (k, v) in map {
            if let (Ok(name), Some(Ok(value))) =
                (HeaderName::from_bytes(k.as_bytes()), v.as_str().map(HeaderValue::from_str))
            {
                h.insert(name, value);
            }
        }
    }
    let now = now_ms();
    put(&mut h, "content-type", "application/json");
    put(&mut h, "user-agent", &format!("WAREST/{}", crate::VERSION));
    if let Some(secret) = i.secret.filter(|s| !s.is_empty()) {
        put(&mut h, "x-warest-signature", &sign::warest_header(i.cfg.alg, secret, i.username, i.body.as_bytes()));
        put(&mut h, "x-warest-signature-alg", i.cfg.alg.label());
        if i.cfg.standard_signature {
            put(&mut h, "webhook-id", i.event_id);
            put(&mut h, "webhook-timestamp", &(now / 1000).to_string());
            put(&mut h, "webhook-signature", &sign::standard_header(secret, i.event_id, now / 1000, i.body.as_bytes()));
        }
    }
    put(&mut h, "x-warest-timestamp", &now.to_string());
    put(&mut h, "x-warest-event", i.event);
    put(&mut h, "x-warest-event-id", i.event_id);
    put(&mut h, "x-warest-session", i.session_id);
    put(&mut h, "x-warest-registry", i.registry);
    put(&mut h, "x-warest-label", i.label.unwrap_or(""));
    put(&mut h, "x-warest-username", i.username);
    put(&mut h, "x-warest-version", crate::VERSION);
    put(&mut h, "x-warest-delivery-attempt", &i.attempt.to_string());
    h
}

impl Dispatcher {
    pub fn new(db: Db, cfg: Arc<WebhookConfig>, wake: Arc<Notify>, egress: Arc<Egress>) -> Self {
        let slots = Arc::new(Slots::new(cfg.concurrency, cfg.tenant_share_percent));
        Dispatcher { db, cfg, egress, slots, breakers: Arc::default(), wake, answers: AnswerSlot::default() }
    }

    /// Shares the breakers with the `Webhooks` handle, so `/metrics` can count the open ones.
    pub fn with_breakers(mut self, breakers: Arc<Breakers>) -> Self {
        self.breakers = breakers;
        self
    }

    /// Hands 2xx answers to the handler set in `slot` (the action runner).
    pub fn with_answers(mut self, slot: AnswerSlot) -> Self {
        self.answers = slot;
        self
    }

    fn lease(&self) -> Duration {
        self.cfg.timeout + Duration::from_secs(5)
    }

    /// Claims due deliveries for the free slots and sends each in its own task; returns
    /// their handles. Rows of a tenant whose share is full go back at once.
    async fn dispatch_free(self: &Arc<Self>) -> StoreResult<Vec<tokio::task::JoinHandle<()>>> {
        let free = self.slots.free();
        if free == 0 {
            return Ok(Vec::new());
        }
        let lease_until = now_ms() + self.lease().as_millis() as i64;
        let claimed = self.db.claim_deliveries(free as i64, lease_until, &self.slots.saturated()).await?;
        let mut handles = Vec::with_capacity(claimed.len());
        let mut back = Vec::new();
        for c in claimed {
            let Some(slot) = self.slots.take(&c.registry) else {
                back.push(c.id);
                continue;
            };
            let me = self.clone();
            handles.push(tokio::spawn(async move {
                let _slot = slot;
                if let Err(e) = me.deliver(&c).await {
                    // The lease expires and the row is claimed again.
                    tracing::warn!(error = %e, delivery = c.id, "webhook delivery bookkeeping failed");
                }
            }));
        }
        self.db.release_deliveries(&back).await?;
        Ok(handles)
    }

    /// Claims due deliveries, sends them and waits for them; returns how many were
    /// claimed. One deterministic step for tests.
    pub async fn dispatch_batch(self: &Arc<Self>) -> StoreResult<usize> {
        let handles = self.dispatch_free().await?;
        let n = handles.len();
        for h in handles {
            let _ = h.await;
        }
        Ok(n)
    }

    /// Runs until `shutdown`: fills free slots while there is work, else waits for a
    /// wake-up (an event was written here), a freed slot, or a short poll (retries falling
    /// due, other nodes). Deliveries in flight at shutdown end with their lease.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        loop {
            let started = tokio::select! {
                _ = shutdown.cancelled() => return,
                r = self.dispatch_free() => r,
            };
            match started {
                Ok(h) if !h.is_empty() => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "webhook dispatcher could not claim deliveries"),
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.wake.notified() => {}
                _ = self.slots.freed.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
        }
    }

    /// One attempt of one claimed delivery.
    pub async fn deliver(&self, c: &Claimed) -> StoreResult<Outcome> {
        let span = tracing::info_span!(
            "webhook_delivery",
            session = %c.session_id,
            delivery = c.id,
            attempt = c.attempts + 1,
            event_id = tracing::field::Empty,
            outcome = tracing::field::Empty,
        );
        let outcome = self.attempt(c, &span).instrument(span.clone()).await;
        if let Ok(o) = &outcome {
            span.record("outcome", o.name());
        }
        if let Ok(o) = &outcome {
            crate::metrics::webhook_delivery(o.name());
        }
        outcome
    }

    #[expect(clippy::too_many_lines, reason = "one attempt read top to bottom: breaker, sign, send, record, decide")]
    async fn attempt(&self, c: &Claimed, span: &tracing::Span) -> StoreResult<Outcome> {
        let now = now_ms();
        let ev = self.db.webhook_event(c.event_seq).await?;
        span.record("event_id", ev.id.as_str());
        // Per tenant and URL: a 401 caused by one tenant's secret, or one tenant's flood,
        // must not cool off another tenant's deliveries to the same receiver.
        let breaker = breaker_key(&ev.registry, &c.url);
        if let Some(until) = self.breakers.open_until(&breaker, now) {
            self.db.delivery_defer(c.id, until).await?;
            return Ok(Outcome::Deferred);
        }
        let parsed: Value = serde_json::from_str(&ev.body).unwrap_or(Value::Null);
        let secret = match self.db.delivery_secret(&c.session_id, c.target_id.as_deref()).await? {
            Some(s) => Some(s),
            None => self.cfg.default_secret.as_ref().map(|s| s.expose().to_string()),
        };
        let custom: Value = serde_json::from_str(&c.headers).unwrap_or(Value::Null);
        let attempt = c.attempts + 1;
        let headers = signed_headers(&SignInput {
            cfg: &self.cfg,
            body: &ev.body,
            secret: secret.as_deref(),
            username: &ev.username,
            event: &ev.event,
            event_id: &ev.id,
            session_id: &ev.session_id,
            registry: &ev.registry,
            label: parsed["session"]["label"].as_str(),
            attempt,
            custom: Some(&custom),
        });
        let started = Instant::now();
        let res = match self.egress.for_delivery(&c.session_id, &ev.registry, &c.url).await {
            Ok(http) => Ok(http.post(&c.url).headers(headers).body(ev.body.clone()).send().await),
            Err(no_route) => Err(no_route),
        };
        crate::metrics::webhook_attempt(started.elapsed());
        let duration_ms = started.elapsed().as_millis() as i64;
        let (status, error, retry_after) = match &res {
            Err(no_route) => (None, Some(no_route.clone()), None),
            Ok(Err(e)) => (None, Some(transport_error(e)), None),
            Ok(Ok(r)) => {
                let ra = r
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| parse_retry_after(v, now_ms()));
                (Some(r.status().as_u16()), None, ra)
            }
        };
        // The body only matters to the action runner, so it is read (capped) only for it.
        let handler = self.answers.get().cloned();
        let answer = match (res, &handler) {
            (Ok(Ok(r)), Some(h)) if r.status().is_success() => {
                let ct = r.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_string);
                Some((ct, read_capped(r, h.max_body()).await))
            }
            _ => None,
        };
        let attempt_id = self
            .db
            .log_attempt(&AttemptLog {
                delivery_id: c.id,
                event_id: &ev.id,
                event: &ev.event,
                session_id: &c.session_id,
                registry: &ev.registry,
                url: &c.url,
                attempt,
                status,
                error: error.as_deref(),
                duration_ms,
            })
            .await?;
        if let (Some(h), Some((content_type, body))) = (handler, answer) {
            h.handle(Answer {
                attempt_id,
                delivery_id: c.id,
                target: format!("{}:{}", c.target_kind, c.target_id.as_deref().unwrap_or("")),
                session_id: ev.session_id.clone(),
                registry: ev.registry.clone(),
                event_id: ev.id.clone(),
                event: ev.event.clone(),
                data: parsed.get("data").cloned().unwrap_or(Value::Null),
                content_type,
                body,
            });
        }
        let now = now_ms();
        match status {
            Some(s) if (200..300).contains(&s) => {
                self.breakers.success(&breaker);
                self.db.delivery_done(c.id, s).await?;
                Ok(Outcome::Delivered)
            }
            Some(s @ (404 | 410)) => {
                let cleared =
                    self.db.clear_webhook_url(&c.session_id, &c.target_kind, c.target_id.as_deref(), &c.url).await?;
                tracing::warn!(
                    session = %c.session_id, status = s, target = %c.target_kind, cleared,
                    "webhook target answered {s}: its URL was cleared (secret kept); pending events moved to the dead-letter table"
                );
                self.db
                    .delivery_dead(&c.session_id, &c.url, None, Some(s), &format!("HTTP {s}: webhook URL cleared"))
                    .await?;
                Ok(Outcome::Gone)
            }
            _ => {
                let why = error.clone().unwrap_or_else(|| format!("HTTP {}", status.unwrap_or_default()));
                if attempt as u64 > u64::from(self.cfg.retries) {
                    self.breakers.failure(&breaker, now, self.cfg.breaker_threshold, self.cfg.breaker_cooldown);
                    self.db.delivery_dead(&c.session_id, &c.url, Some(c.id), status, &why).await?;
                    tracing::warn!(session = %c.session_id, event_id = %ev.id, attempts = attempt, "webhook event dead-lettered: {why}");
                    return Ok(Outcome::Dead);
                }
                let mut next = now
                    + retry_delay(attempt as u32, self.cfg.backoff, jitter(self.cfg.jitter), retry_after).as_millis()
                        as i64;
                if matches!(status, Some(401 | 403)) {
                    // The receiver rejects our credentials: hammering it will not help.
                    let until = now + self.cfg.auth_cooloff.as_millis() as i64;
                    self.breakers.hold(&breaker, until);
                    next = next.max(until);
                    tracing::warn!(session = %c.session_id, status = ?status, "webhook target refused the signature; cooling off");
                } else if let Some(until) =
                    self.breakers.failure(&breaker, now, self.cfg.breaker_threshold, self.cfg.breaker_cooldown)
                {
                    next = next.max(until);
                }
                self.db.delivery_retry(c.id, next, status, Some(&why)).await?;
                Ok(Outcome::Retry)
            }
        }
    }
}

/// A breaker's key: the tenant and the URL.
fn breaker_key(registry: &str, url: &str) -> String {
    format!("{registry} {url}")
}

/// Without the URL: reqwest errors embed it, and URLs may carry tokens.
pub(super) fn transport_error(e: &reqwest::Error) -> String {
    if super::egress::is_private_target(e) {
        super::egress::PRIVATE_TARGET.into()
    } else if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        "connection failed".into()
    } else {
        "request failed".into()
    }
}
