//! Retention: the logs and finished work the gateway keeps grow with every message, so
//! a sweeper deletes what is older than `WAREST_RETENTION_DAYS` (0: keep forever):
//! webhook events no delivery still needs (not pending, not in the dead-letter table),
//! their delivery rows and attempt log, the at-most-once records of their actions, and
//! send jobs that are finished (their payload may hold a whole media file). Idempotency
//! keys go after their 24 hours whatever the setting. The message store (chats and
//! history) and dead letters are the user's data and are never swept here.
//!
//! Deletes go in batches, each its own short transaction, so a large backlog never holds
//! SQLite's write lock for long. Owns no HTTP.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::store::{Db, DbKind, StoreResult, now_ms};

/// Rows per delete statement.
const BATCH: i64 = 1000;
/// How often the sweeper runs (and how long after start it first runs).
const EVERY: Duration = Duration::from_secs(3600);
const FIRST_AFTER: Duration = Duration::from_secs(60);
/// An idempotency key answers for 24 hours; after that it is dead weight.
const IDEMPOTENCY_MS: i64 = 24 * 3600 * 1000;

/// What one sweep deleted, per kind of row.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Swept {
    pub events: u64,
    pub attempts: u64,
    pub action_runs: u64,
    pub send_jobs: u64,
    pub idempotency_keys: u64,
}

/// Runs [`sweep`] an hour apart until `stop`.
pub async fn run(db: Db, days: u32, stop: CancellationToken) {
    let mut wait = FIRST_AFTER;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.cancelled() => return,
        }
        match sweep(&db, days, now_ms()).await {
            Ok(s) if s != Swept::default() => tracing::info!(?s, days, "retention sweep"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "retention sweep failed; trying again later"),
        }
        wait = EVERY;
    }
}

/// Deletes what is past retention as of `now` (unix ms). `days == 0` keeps the logs.
pub async fn sweep(db: &Db, days: u32, now: i64) -> StoreResult<Swept> {
    let mut s =
        Swept { idempotency_keys: batched(db, IDEMPOTENCY_SQL, now - IDEMPOTENCY_MS).await?, ..Swept::default() };
    if days == 0 {
        return Ok(s);
    }
    let cutoff = now - i64::from(days) * 24 * 3600 * 1000;
    s.events = sweep_events(db, cutoff).await?;
    s.attempts = batched(db, ATTEMPTS_SQL, cutoff).await?;
    s.action_runs = batched(db, ACTION_RUNS_SQL, cutoff).await?;
    s.send_jobs = batched(db, SEND_JOBS_SQL, cutoff).await?;
    Ok(s)
}

/// Each sweep statement: the common form, then MySQL's, which can neither read the table
/// it deletes from in a subquery nor take `LIMIT` in an `IN` subquery, but deletes with a
/// `LIMIT` of its own.
type Sweep = (&'static str, &'static str);

const IDEMPOTENCY_SQL: Sweep = (
    "DELETE FROM idempotency_keys WHERE (registry, idem_key) IN
       (SELECT registry, idem_key FROM idempotency_keys WHERE created_at < $1 LIMIT $2)",
    "DELETE FROM idempotency_keys WHERE created_at < ? LIMIT ?",
);
const ATTEMPTS_SQL: Sweep = (
    "DELETE FROM webhook_attempts WHERE id IN (SELECT id FROM webhook_attempts WHERE created_at < $1 LIMIT $2)",
    "DELETE FROM webhook_attempts WHERE created_at < ? LIMIT ?",
);
/// Only once their event is gone: a replay of a kept event must still see which actions ran.
const ACTION_RUNS_SQL: Sweep = (
    "DELETE FROM action_runs WHERE (event_id, target, path) IN
       (SELECT r.event_id, r.target, r.path FROM action_runs r WHERE r.created_at < $1
          AND NOT EXISTS (SELECT 1 FROM webhook_events e WHERE e.id = r.event_id) LIMIT $2)",
    "DELETE FROM action_runs WHERE created_at < ?
        AND NOT EXISTS (SELECT 1 FROM webhook_events e WHERE e.id = action_runs.event_id) LIMIT ?",
);
/// Finished jobs only: a queued or in-flight send is never swept, however old.
const SEND_JOBS_SQL: Sweep = (
    "DELETE FROM outbound_messages WHERE seq IN
       (SELECT seq FROM outbound_messages WHERE updated_at < $1 AND status NOT IN ('queued', 'sending') LIMIT $2)",
    "DELETE FROM outbound_messages WHERE updated_at < ? AND status NOT IN ('queued', 'sending') LIMIT ?",
);

/// Runs `sql` (with `$1` = cutoff, `$2` = batch size) until a batch deletes less than a batch.
async fn batched(db: &Db, (common, mysql): Sweep, cutoff: i64) -> StoreResult<u64> {
    let sql = db.pick(common, mysql);
    let mut total = 0;
    loop {
        let n = sqlx::query(sql).bind(cutoff).bind(BATCH).execute(db.pool()).await?.rows_affected();
        total += n;
        if n < BATCH as u64 {
            return Ok(total);
        }
    }
}

/// Events older than `cutoff` that nothing still needs, with their delivery rows (deleted
/// explicitly: SQLite cascades only with its foreign-key pragma on).
async fn sweep_events(db: &Db, cutoff: i64) -> StoreResult<u64> {
    // On MySQL the picked events stay locked to commit: a replay adding a delivery to one
    // of them waits (its foreign key reads the event row), and they are deleted by list.
    let pick = db.pick(
        "SELECT e.seq FROM webhook_events e WHERE e.created_at < $1
        AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_seq = e.seq AND d.state = 'pending')
        AND NOT EXISTS (SELECT 1 FROM webhook_dead_letters x WHERE x.event_seq = e.seq)
        ORDER BY e.seq LIMIT $2",
        "SELECT e.seq FROM webhook_events e WHERE e.created_at < ?
        AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_seq = e.seq AND d.state = 'pending')
        AND NOT EXISTS (SELECT 1 FROM webhook_dead_letters x WHERE x.event_seq = e.seq)
        ORDER BY e.seq LIMIT ? FOR UPDATE",
    );
    let mut total = 0;
    loop {
        let mut tx = match db.kind() {
            DbKind::Sqlite => db.pool().begin_with("BEGIN IMMEDIATE").await?,
            DbKind::Postgres | DbKind::Mysql => db.pool().begin().await?,
        };
        let seqs: Vec<i64> = sqlx::query_scalar(pick).bind(cutoff).bind(BATCH).fetch_all(&mut *tx).await?;
        if seqs.is_empty() {
            tx.commit().await?;
            return Ok(total);
        }
        if db.kind() == DbKind::Mysql {
            total += delete_listed(&mut tx, &seqs).await?;
            tx.commit().await?;
            if (seqs.len() as i64) < BATCH {
                return Ok(total);
            }
            continue;
        }
        let (lo, hi) = (seqs[0], seqs[seqs.len() - 1]);
        // The picked seqs, by range and by the same conditions (a list of 1000 binds is not
        // portable across both drivers); inside the transaction nothing changes under us.
        let within = "e.seq BETWEEN $2 AND $3 AND e.created_at < $1
            AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_seq = e.seq AND d.state = 'pending')
            AND NOT EXISTS (SELECT 1 FROM webhook_dead_letters x WHERE x.event_seq = e.seq)";
        sqlx::query(&format!(
            "DELETE FROM webhook_deliveries WHERE event_seq IN (SELECT e.seq FROM webhook_events e WHERE {within})"
        ))
        .bind(cutoff)
        .bind(lo)
        .bind(hi)
        .execute(&mut *tx)
        .await?;
        let n = sqlx::query(&format!(
            "DELETE FROM webhook_events WHERE seq IN (SELECT e.seq FROM webhook_events e WHERE {within})"
        ))
        .bind(cutoff)
        .bind(lo)
        .bind(hi)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        total += n;
        if (seqs.len() as i64) < BATCH {
            return Ok(total);
        }
    }
}

/// MySQL: the locked events of one batch, and their delivery rows, by list.
async fn delete_listed(tx: &mut sqlx::Transaction<'static, sqlx::Any>, seqs: &[i64]) -> StoreResult<u64> {
    let marks = vec!["?"; seqs.len()].join(", ");
    let mut n = 0;
    for sql in [
        format!("DELETE FROM webhook_deliveries WHERE event_seq IN ({marks})"),
        format!("DELETE FROM webhook_events WHERE seq IN ({marks})"),
    ] {
        let mut q = sqlx::query(&sql);
        for s in seqs {
            q = q.bind(s);
        }
        n = q.execute(&mut **tx).await?.rows_affected();
    }
    Ok(n)
}
