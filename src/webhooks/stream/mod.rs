//! The live event stream behind `GET /api/v1/events/stream`: what one open stream shows,
//! when it ends, and how many a key may hold. The route only parses and renders SSE.
//!
//! The table is the stream's source, not the broadcast: each stream reads
//! `webhook_events` by its own cursor (`seq > position ORDER BY seq`) and shows rows only
//! in `seq` order with no hole that may still fill ([`cursor`] says when one can). So a
//! stream shows every committed event once, in order, and `Last-Event-ID` resumes it with
//! exactly the rest, even when concurrent transactions commit out of `seq` order. The
//! broadcast of [`super::Webhooks::committed`] only wakes streams; a timer wakes them too
//! (events written by another process, rolled-back holes, re-authorisation), so a lagging
//! or missed wake costs latency, never an event.
//!
//! A stream without `Last-Event-ID` starts after the newest stored event when it opens;
//! an event whose transaction was still open below that seq counts as before the stream,
//! as it would for a client resuming from that id.
//!
//! A stream ends when its key is revoked or its user disabled (or made or unmade admin):
//! checked on a timer every [`RECHECK`], and before showing what a wake found when the last
//! check is older than that (a busy stream costs one check per interval, not per event).
//! It ends when the client goes away, since all of its state (cursor, subscription, place
//! under `WAREST_SSE_MAX_PER_KEY`, the `warest_sse_clients` gauge) lives in the response
//! body, which the server drops when the connection closes; and at shutdown, so the
//! server's graceful stop does not wait on streams that would never finish.

mod cursor;
mod slots;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures_util::Stream;
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};
use tokio::time::Instant;

pub use slots::Slots;

use super::StoredEvent;
use super::ops::Filter;
use crate::auth::Principal;
use crate::store::{Db, StoreError};

/// How often a stream re-checks its credentials, and reads the table without a wake.
pub const RECHECK: Duration = Duration::from_secs(2);
/// How often a stream looks again while it waits on a hole (a rollback wakes no one).
const GAP_POLL: Duration = Duration::from_millis(100);

/// What a stream shows: the caller's tenant (all of them for an admin), optionally one
/// session and one event name.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub registry: Option<String>,
    pub session_id: Option<String>,
    pub event: Option<String>,
}

impl Scope {
    fn filter(&self) -> Filter<'_> {
        Filter {
            registry: self.registry.as_deref(),
            session_id: self.session_id.as_deref(),
            event: self.event.as_deref(),
            ..Default::default()
        }
    }

    fn takes(&self, e: &StoredEvent) -> bool {
        self.registry.as_deref().is_none_or(|r| r == e.registry)
            && self.session_id.as_deref().is_none_or(|s| s == e.session_id)
            && self.event.as_deref().is_none_or(|ev| ev == e.event)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{max} event streams are open for this key (WAREST_SSE_MAX_PER_KEY)")]
    TooMany { max: usize },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One open stream's state; dropping it (with the response body) frees everything.
struct Live {
    db: Db,
    who: Principal,
    scope: Scope,
    cursor: cursor::Cursor,
    wake: broadcast::Receiver<Arc<StoredEvent>>,
    ready: VecDeque<StoredEvent>,
    checked: Instant,
    closing: tokio_util::sync::CancellationToken,
    _slot: slots::Slot,
    _gauge: crate::metrics::SseClient,
}

impl super::Webhooks {
    /// Opens a stream for `who`, after `last` (a resume) or from now.
    pub async fn open_stream(
        &self,
        who: Principal,
        scope: Scope,
        last: Option<i64>,
    ) -> Result<impl Stream<Item = StoredEvent> + Send + use<>, OpenError> {
        // Keyless callers (the dashboard's signed-in users) are capped per user.
        let bucket = who.key_id.clone().unwrap_or_else(|| format!("user:{}", who.registry));
        let max = self.cfg.sse_max_per_key;
        let slot = self.slots.take(&bucket, max).ok_or(OpenError::TooMany { max })?;
        // Subscribed before the cursor is placed, so no wake falls in between.
        let wake = self.subscribe();
        let cursor = cursor::Cursor::start(&self.db, last).await?;
        let live = Live {
            db: self.db.clone(),
            who,
            scope,
            cursor,
            wake,
            ready: VecDeque::new(),
            checked: Instant::now(),
            closing: self.closing.clone(),
            _slot: slot,
            _gauge: crate::metrics::SseClient::open(),
        };
        Ok(futures_util::stream::unfold(live, |mut live| async move { live.next().await.map(|e| (e, live)) }))
    }

    /// Streams open now.
    pub fn open_streams(&self) -> usize {
        self.slots.total()
    }
}

impl Live {
    /// The next event to show; `None` ends the stream.
    async fn next(&mut self) -> Option<StoredEvent> {
        loop {
            if self.closing.is_cancelled() {
                return None;
            }
            if let Some(e) = self.ready.pop_front() {
                return Some(e);
            }
            let at_once = match self.cursor.step(&self.db, &self.scope.filter()).await {
                Ok(step) => {
                    self.ready.extend(step.events);
                    step.again
                }
                Err(e) => {
                    tracing::warn!(error = %e, "event stream: reading stored events failed; retrying");
                    false
                }
            };
            // Re-checked before anything found is shown, as well as on the timer.
            if (!self.ready.is_empty() || self.checked.elapsed() >= RECHECK) && !self.authorised().await {
                return None;
            }
            if at_once || !self.ready.is_empty() {
                continue;
            }
            if !self.sleep().await {
                return None;
            }
        }
    }

    /// Whether the stream's credentials still hold (read at most every [`RECHECK`]).
    async fn authorised(&mut self) -> bool {
        if self.checked.elapsed() < RECHECK {
            return true;
        }
        match crate::auth::still_valid(&self.db, &self.who).await {
            Ok(true) => {
                self.checked = Instant::now();
                true
            }
            Ok(false) => {
                tracing::info!(registry = %self.who.registry, "event stream ended: its key or user is no longer valid");
                false
            }
            // Fails closed: the client reconnects and is authenticated afresh.
            Err(e) => {
                tracing::warn!(error = %e, "event stream ended: re-authorisation failed");
                false
            }
        }
    }

    /// Waits for a wake that concerns this stream, or the timer; `false` at shutdown.
    async fn sleep(&mut self) -> bool {
        let pause = if self.cursor.waiting() { GAP_POLL } else { RECHECK.saturating_sub(self.checked.elapsed()) };
        let until = Instant::now() + pause.max(Duration::from_millis(10));
        loop {
            let got = tokio::select! {
                got = self.wake.recv() => got,
                () = tokio::time::sleep_until(until) => return true,
                () = self.closing.cancelled() => return false,
            };
            match got {
                // Another tenant's or session's event moves nothing this stream shows,
                // unless it may fill the hole the stream waits on.
                Ok(e) if !self.scope.takes(&e) && !self.cursor.waiting() => {}
                Ok(_) | Err(RecvError::Lagged(_)) => break,
                Err(RecvError::Closed) => return false,
            }
        }
        // One read serves every wake queued meanwhile.
        while matches!(self.wake.try_recv(), Ok(_) | Err(TryRecvError::Lagged(_))) {}
        true
    }
}
