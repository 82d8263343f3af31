//! The durable half of inbound: whatsapp-rust's inbound durability hook hands decrypted
//! messages here *before* it acknowledges them to WhatsApp, and acks only once this
//! commit is done. A crash in between leaves them unacked; the server redelivers them
//! and the client replays them from its pending-inbound buffer (the device store).
//!
//! Delivery is therefore at-least-once, and this commit is what makes it exactly-once in
//! the store: each message is claimed in `inbound_seen` by (session, chat, sender, id) —
//! stanza ids are unique only within a chat and sender — in the same transaction as its
//! message rows and outbox events, so a replay adds neither. The normalization, session
//! flags and events are the plain event path's (`super::handle`).

use std::sync::atomic::{AtomicI64, Ordering};

use sqlx::{Any, Transaction};
use whatsapp_rust::types::events::InboundMessage;
use whatsapp_rust::types::message::MessageInfo;

use super::{Deps, chat_skipped, flags, message_events, store_items};
use crate::sessions::hooks::WaEventCtx;
use crate::store::{Db, StoreResult, now_ms};
use crate::webhooks::begin_write;

/// Stores a batch in one transaction; `Ok` only after the commit.
pub(super) async fn commit(deps: &Deps, ctx: &WaEventCtx, batch: &[InboundMessage]) -> StoreResult<()> {
    let hooks = &deps.hooks;
    let f = flags(hooks, &ctx.session_id).await;
    // Normalized outside the transaction (poll votes read the store; media is queued).
    // Already-stored messages are not normalized again, so a replay queues no second
    // download; the claim below is what decides.
    let mut normalized = Vec::with_capacity(batch.len());
    for m in batch {
        if seen(deps, &ctx.session_id, &m.info).await? {
            continue;
        }
        let src = &m.info.source;
        let items = if chat_skipped(&f, &src.chat, src.is_group, src.is_from_me) {
            Vec::new()
        } else {
            message_events(deps, ctx, m).await
        };
        normalized.push((m, items));
    }
    if normalized.is_empty() {
        return Ok(());
    }
    let started = std::time::Instant::now();
    let mut tx = begin_write(&hooks.db).await?;
    let mut stored = Vec::new();
    let mut fresh = 0;
    for (m, items) in normalized {
        if !claim(&hooks.db, &mut tx, &ctx.session_id, &m.info).await? {
            continue;
        }
        fresh += usize::from(!items.is_empty());
        store_items(deps, ctx, &mut tx, items, &mut stored).await?;
    }
    #[cfg(feature = "sandbox")]
    let crash = fail_point::reached(fresh);
    #[cfg(feature = "sandbox")]
    fail_point::abort_if(crash, fail_point::Phase::BeforeCommit);
    tx.commit().await?;
    #[cfg(feature = "sandbox")]
    fail_point::abort_if(crash, fail_point::Phase::AfterCommit);
    crate::metrics::inbound_committed(fresh as u64, started.elapsed());
    hooks.committed(&stored);
    prune(deps).await;
    Ok(())
}

/// How long a message's claim is kept: far beyond the 7 days whatsapp-rust keeps its
/// pending-inbound copies, which are what replays come from.
const SEEN_RETENTION_MS: i64 = 30 * 24 * 3600 * 1000;
/// Claims are pruned at most this often (per process; any node's pruning serves all).
const PRUNE_EVERY_MS: i64 = 3600 * 1000;

async fn prune(deps: &Deps) {
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = now_ms();
    let last = LAST.load(Ordering::Relaxed);
    if now - last < PRUNE_EVERY_MS || LAST.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_err() {
        return;
    }
    let done = sqlx::query(deps.hooks.db.sql("DELETE FROM inbound_seen WHERE seen_at < $1"))
        .bind(now - SEEN_RETENTION_MS)
        .execute(deps.hooks.db.pool())
        .await;
    if let Err(e) = done {
        tracing::warn!(error = %e, "could not prune old inbound message claims");
    }
}

/// The dedupe key's parts, as whatsapp-rust writes them.
fn key(info: &MessageInfo) -> (String, String, &str) {
    (info.source.chat.to_string(), info.source.sender.to_string(), info.id.as_str())
}

async fn seen(deps: &Deps, session: &str, info: &MessageInfo) -> StoreResult<bool> {
    let (chat, sender, id) = key(info);
    let row = sqlx::query(
        deps.hooks.db.sql("SELECT 1 AS one FROM inbound_seen WHERE session_id = $1 AND chat_jid = $2 AND sender_jid = $3 AND message_id = $4"),
    )
    .bind(session)
    .bind(chat)
    .bind(sender)
    .bind(id)
    .fetch_optional(deps.hooks.db.pool())
    .await?;
    Ok(row.is_some())
}

/// Marks a message stored; `false` when an earlier commit already did.
async fn claim(db: &Db, tx: &mut Transaction<'static, Any>, session: &str, info: &MessageInfo) -> StoreResult<bool> {
    let (chat, sender, id) = key(info);
    let done = sqlx::query(db.sql(
        "INSERT INTO inbound_seen (session_id, chat_jid, sender_jid, message_id, seen_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (session_id, chat_jid, sender_jid, message_id) DO NOTHING",
    ))
    .bind(session)
    .bind(chat)
    .bind(sender)
    .bind(id)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Sandbox builds only: `WAREST_TEST_INBOUND_ABORT=before:N` (or `after:N`) aborts the
/// process right before (after) the commit that stores the Nth new inbound message of this
/// process (counting those with catalog events; protocol messages such as key shares have
/// none), so tests can crash the gateway between "received" and "stored", or between
/// "stored" and "acknowledged". Production builds have no such knob.
#[cfg(feature = "sandbox")]
mod fail_point {
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Clone, Copy, PartialEq, Eq)]
    pub enum Phase {
        BeforeCommit,
        AfterCommit,
    }

    static STORED: AtomicUsize = AtomicUsize::new(0);

    /// Counts this commit's messages; the phase to abort in when it stores the Nth.
    pub fn reached(fresh: usize) -> Option<Phase> {
        // A sandbox-build fail point for the crash tests, not configuration.
        #[expect(clippy::disallowed_methods, reason = "a test fail point, compiled only with the sandbox feature")]
        let spec = std::env::var("WAREST_TEST_INBOUND_ABORT").ok()?;
        let (phase, n) = spec.split_once(':')?;
        let phase = match phase {
            "before" => Phase::BeforeCommit,
            "after" => Phase::AfterCommit,
            _ => return None,
        };
        let n: usize = n.parse().ok()?;
        let before = STORED.fetch_add(fresh, Ordering::SeqCst);
        (before < n && before + fresh >= n).then_some(phase)
    }

    pub fn abort_if(reached: Option<Phase>, now: Phase) {
        if reached == Some(now) {
            eprintln!("warest: WAREST_TEST_INBOUND_ABORT reached, aborting");
            std::process::abort();
        }
    }
}
