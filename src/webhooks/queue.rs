//! The delivery queue on `webhook_deliveries`: claim, complete, retry, dead-letter.
//!
//! Order per session and target: only the oldest pending row of each (session, url) can
//! be claimed, and it stays `pending` (leased by `locked_until`) while in flight, so the
//! next one waits. A crashed dispatcher's lease simply expires and the row is claimed
//! again: delivery is at-least-once. On Postgres the claim takes `FOR UPDATE SKIP LOCKED`
//! so nodes sharing the database never claim the same row; SQLite has one writer, so the
//! single `UPDATE … RETURNING` statement is the claim; MySQL locks the due heads the same
//! way, then leases and reads them in one transaction (`claim_deliveries_locked`).

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Any, Row};

use crate::store::{Db, DbKind, RowText, StoreResult, now_ms};

type AnyQuery<'q> = sqlx::query::Query<'q, Any, AnyArguments<'q>>;

impl Db {
    /// Deliveries not yet done (waiting, retrying or in flight), all sessions.
    pub async fn outbox_backlog(&self) -> StoreResult<crate::store::Backlog> {
        let row = sqlx::query(self.sql(
            "SELECT COUNT(*) AS depth, MIN(created_at) AS oldest FROM webhook_deliveries WHERE state = 'pending'",
        ))
        .fetch_one(self.pool())
        .await?;
        crate::store::Backlog::from_row(&row)
    }

    /// Events in the dead-letter table (they stay until replayed or deleted).
    pub async fn dead_letter_count(&self) -> StoreResult<i64> {
        let row =
            sqlx::query(self.sql("SELECT COUNT(*) AS n FROM webhook_dead_letters")).fetch_one(self.pool()).await?;
        Ok(row.try_get("n")?)
    }

    /// Runs `q` without waiting for the disk: for rows whose loss in a power cut or a
    /// database server crash only repeats what the gateway does at least once anyway (a
    /// delivery marked done is delivered again with the same event id; an attempt log line
    /// goes missing). A crash of the gateway loses nothing either way. Waiting for the fsync
    /// of every delivery's two log writes cost Postgres most of its webhook throughput, and
    /// SQLite with `synchronous = FULL` a third of it.
    ///
    /// Postgres: `synchronous_commit = off` for this transaction only (MySQL has no such
    /// per-transaction setting: there the statement just runs). SQLite: this one
    /// statement runs with `synchronous = NORMAL` on the pool's connection, then FULL comes
    /// back; the WAL is written in order, so the next FULL commit (any acknowledging one)
    /// makes this one durable too.
    async fn relaxed_fetch(&self, q: AnyQuery<'_>) -> StoreResult<Option<AnyRow>> {
        if self.kind() == DbKind::Sqlite {
            if !self.sqlite_full_sync() {
                return Ok(q.fetch_optional(self.pool()).await?);
            }
            let mut relaxed = RelaxedSqlite::acquire(self).await?;
            let row = q.fetch_optional(relaxed.conn()).await;
            relaxed.restore().await?;
            return Ok(row?);
        }
        if self.kind() == DbKind::Mysql {
            // InnoDB's flush setting is server-wide (innodb_flush_log_at_trx_commit): no
            // transaction can relax it for itself.
            return Ok(q.fetch_optional(self.pool()).await?);
        }
        let mut tx = self.pool().begin().await?;
        sqlx::query("SET LOCAL synchronous_commit = off").execute(&mut *tx).await?;
        let row = q.fetch_optional(&mut *tx).await?;
        tx.commit().await?;
        Ok(row)
    }
}

/// The SQLite connection while it runs with `synchronous = NORMAL`. If FULL cannot be
/// restored (an error, or the future dropped midway) the connection is closed instead of
/// going back to the pool, so no acknowledging commit ever runs relaxed: the pool opens a
/// new one with the configured pragmas.
struct RelaxedSqlite {
    conn: Option<sqlx::pool::PoolConnection<Any>>,
}

impl RelaxedSqlite {
    async fn acquire(db: &Db) -> StoreResult<RelaxedSqlite> {
        // Guarded before the pragma is sent: SQLite's worker runs a statement to the end
        // even when the future that sent it is dropped.
        let mut guard = RelaxedSqlite { conn: Some(db.pool().acquire().await?) };
        sqlx::query("PRAGMA synchronous = NORMAL").execute(guard.conn()).await?;
        Ok(guard)
    }

    fn conn(&mut self) -> &mut sqlx::AnyConnection {
        self.conn.as_mut().expect("held until restored")
    }

    async fn restore(mut self) -> StoreResult<()> {
        sqlx::query("PRAGMA synchronous = FULL").execute(self.conn()).await?;
        self.conn = None;
        Ok(())
    }
}

impl Drop for RelaxedSqlite {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            // Not restored: close it rather than hand out a relaxed connection.
            drop(conn.detach());
        }
    }
}

/// What a claim returns of each delivery, with its event's tenant.
const CLAIMED_COLUMNS: &str = "id, event_seq, session_id, target_kind, target_id, url, headers, attempts,
     (SELECT registry FROM webhook_events WHERE seq = event_seq) AS registry";

/// The ids of the deliveries due at `now` that head their (session, url) line and, when
/// sequential, their event's line, oldest first, at most `limit`. Tenants in `skip` (at
/// their share of the slots) are left out, so their backlog waits for their own deliveries
/// to finish instead of taking everyone's slots; their placeholders are numbered from
/// `first_skip` (`$N`), after `now` and `limit`.
fn due_heads(now: &str, limit: &str, skip: &[String], first_skip: usize) -> String {
    let skip_sql = if skip.is_empty() {
        String::new()
    } else {
        let marks: Vec<String> = (0..skip.len())
            .map(|i| if first_skip == 0 { "?".into() } else { format!("${}", i + first_skip) })
            .collect();
        format!(
            " AND (SELECT e.registry FROM webhook_events e WHERE e.seq = d.event_seq) NOT IN ({})",
            marks.join(", ")
        )
    };
    format!(
        "SELECT d.id FROM webhook_deliveries d
         WHERE d.state = 'pending' AND d.next_at <= {now}
           AND (d.locked_until IS NULL OR d.locked_until < {now})
           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p
                           WHERE p.session_id = d.session_id AND p.url = d.url
                             AND p.state = 'pending' AND p.id < d.id)
           AND (d.after_previous = 0
                OR NOT EXISTS (SELECT 1 FROM webhook_deliveries q
                               WHERE q.event_seq = d.event_seq AND q.state = 'pending' AND q.id < d.id)){skip_sql}
         ORDER BY d.id LIMIT {limit}"
    )
}

fn claimed(r: &AnyRow) -> StoreResult<Claimed> {
    Ok(Claimed {
        id: r.try_get("id")?,
        event_seq: r.try_get("event_seq")?,
        session_id: r.text("session_id")?,
        target_kind: r.text("target_kind")?,
        target_id: r.text_opt("target_id")?,
        url: r.text("url")?,
        headers: r.text("headers")?,
        attempts: r.try_get("attempts")?,
        registry: r.text_opt("registry")?.unwrap_or_default(),
    })
}

#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub event_seq: i64,
    pub session_id: String,
    pub target_kind: String,
    pub target_id: Option<String>,
    pub url: String,
    pub headers: String,
    /// Attempts already made before this one.
    pub attempts: i64,
    /// The tenant the event belongs to (per-tenant fairness).
    pub registry: String,
}

/// What one attempt ended in, as the queue records it.
#[derive(Debug, Clone)]
pub struct AttemptLog<'a> {
    pub delivery_id: i64,
    pub event_id: &'a str,
    pub event: &'a str,
    pub session_id: &'a str,
    /// The tenant the event belongs to, which scopes the attempt from now on.
    pub registry: &'a str,
    pub url: &'a str,
    pub attempt: i64,
    pub status: Option<u16>,
    pub error: Option<&'a str>,
    pub duration_ms: i64,
}

impl Db {
    /// Leases up to `limit` due head-of-line deliveries until `lease_until`.
    pub async fn claim_deliveries(&self, limit: i64, lease_until: i64, skip: &[String]) -> StoreResult<Vec<Claimed>> {
        let now = now_ms();
        let mut out = if self.kind() == DbKind::Mysql {
            self.claim_deliveries_locked(limit, lease_until, now, skip).await?
        } else {
            let lock = if self.kind() == DbKind::Postgres { " FOR UPDATE OF d SKIP LOCKED" } else { "" };
            let sql = format!(
                "UPDATE webhook_deliveries SET locked_until = $1, updated_at = $2
                 WHERE id IN ({}{lock})
                   AND (locked_until IS NULL OR locked_until < $2)
                 RETURNING {CLAIMED_COLUMNS}",
                due_heads("$2", "$3", skip, 4)
            );
            let mut q = sqlx::query(&sql).bind(lease_until).bind(now).bind(limit);
            for r in skip {
                q = q.bind(r);
            }
            q.fetch_all(self.pool()).await?.iter().map(claimed).collect::<StoreResult<_>>()?
        };
        out.sort_by_key(|c| c.id);
        Ok(out)
    }

    /// `claim_deliveries` on MySQL, which has no `UPDATE … RETURNING` and cannot update a
    /// table its own subquery reads: the due heads are locked (skipping rows another
    /// claimer holds), leased and read back in one transaction. A locking read sees the
    /// newest committed lease, so a row another node just claimed is not taken again.
    async fn claim_deliveries_locked(
        &self,
        limit: i64,
        lease_until: i64,
        now: i64,
        skip: &[String],
    ) -> StoreResult<Vec<Claimed>> {
        let mut tx = self.pool().begin().await?;
        let sql = format!("{} FOR UPDATE SKIP LOCKED", due_heads("?", "?", skip, 0));
        // Bound in the order the marks appear: `now` twice, the skipped tenants, `limit`.
        let mut q = sqlx::query(&sql).bind(now).bind(now);
        for r in skip {
            q = q.bind(r);
        }
        q = q.bind(limit);
        let ids: Vec<i64> = q.fetch_all(&mut *tx).await?.iter().map(|r| r.try_get("id")).collect::<Result<_, _>>()?;
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let marks = vec!["?"; ids.len()].join(", ");
        let update = format!("UPDATE webhook_deliveries SET locked_until = ?, updated_at = ? WHERE id IN ({marks})");
        let mut q = sqlx::query(&update).bind(lease_until).bind(now);
        for id in &ids {
            q = q.bind(id);
        }
        q.execute(&mut *tx).await?;
        let read = format!("SELECT {CLAIMED_COLUMNS} FROM webhook_deliveries WHERE id IN ({marks})");
        let mut q = sqlx::query(&read);
        for id in &ids {
            q = q.bind(id);
        }
        let rows = q.fetch_all(&mut *tx).await?;
        tx.commit().await?;
        rows.iter().map(claimed).collect()
    }

    /// Gives claimed rows back unattempted (their tenant had no free slot).
    pub async fn release_deliveries(&self, ids: &[i64]) -> StoreResult<()> {
        for id in ids {
            sqlx::query(
                self.sql("UPDATE webhook_deliveries SET locked_until = NULL WHERE id = $1 AND state = 'pending'"),
            )
            .bind(id)
            .execute(self.pool())
            .await?;
        }
        Ok(())
    }

    /// Records one attempt; returns its id (the row an action run's results are added to).
    pub async fn log_attempt(&self, a: &AttemptLog<'_>) -> StoreResult<i64> {
        let row = sqlx::query(self.sql(
            "INSERT INTO webhook_attempts (delivery_id, event_id, event, session_id, url, attempt, status, error,
                                           duration_ms, created_at, registry)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        ))
        .bind(a.delivery_id)
        .bind(a.event_id)
        .bind(a.event)
        .bind(a.session_id)
        .bind(a.url)
        .bind(a.attempt)
        .bind(a.status.map(i64::from))
        .bind(a.error)
        .bind(a.duration_ms)
        .bind(now_ms())
        .bind(a.registry);
        let row = self.relaxed_fetch(row).await?.ok_or(crate::store::StoreError::NotFound)?;
        // By position: MariaDB names no columns of a prepared RETURNING.
        Ok(row.try_get(0)?)
    }

    /// Adds what the action runner did with the receiver's answer to an attempt's row.
    pub async fn log_attempt_actions(&self, attempt_id: i64, results: &str) -> StoreResult<()> {
        sqlx::query(self.sql("UPDATE webhook_attempts SET actions = $1 WHERE id = $2"))
            .bind(results)
            .bind(attempt_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn delivery_done(&self, id: i64, status: u16) -> StoreResult<()> {
        let q = sqlx::query(self.sql(
            "UPDATE webhook_deliveries SET state = 'delivered', attempts = attempts + 1, last_status = $1,
                    last_error = NULL, locked_until = NULL, updated_at = $2 WHERE id = $3",
        ))
        .bind(i64::from(status))
        .bind(now_ms())
        .bind(id);
        self.relaxed_fetch(q).await?;
        Ok(())
    }

    /// A failed attempt with another one due at `next_at`.
    pub async fn delivery_retry(
        &self,
        id: i64,
        next_at: i64,
        status: Option<u16>,
        error: Option<&str>,
    ) -> StoreResult<()> {
        sqlx::query(self.sql(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, next_at = $1, last_status = $2, last_error = $3,
                    locked_until = NULL, updated_at = $4 WHERE id = $5",
        ))
        .bind(next_at)
        .bind(status.map(i64::from))
        .bind(error)
        .bind(now_ms())
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Puts a delivery back without counting an attempt (its target's breaker is open).
    pub async fn delivery_defer(&self, id: i64, next_at: i64) -> StoreResult<()> {
        sqlx::query(
            self.sql("UPDATE webhook_deliveries SET next_at = $1, locked_until = NULL, updated_at = $2 WHERE id = $3"),
        )
        .bind(next_at)
        .bind(now_ms())
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Moves deliveries to the dead-letter table: one (`only = Some(id)`) or every pending
    /// one of a session's target (its URL is gone). Counts the attempt just made.
    pub async fn delivery_dead(
        &self,
        session_id: &str,
        url: &str,
        only: Option<i64>,
        status: Option<u16>,
        error: &str,
    ) -> StoreResult<u64> {
        let now = now_ms();
        let mut tx = super::begin_write(self).await?;
        let cond =
            if only.is_some() { "d.id = $1" } else { "d.session_id = $1 AND d.url = $2 AND d.state = 'pending'" };
        let sql = format!(
            "SELECT d.id, d.event_seq, d.attempts, e.id AS event_id, e.registry, e.event
             FROM webhook_deliveries d JOIN webhook_events e ON e.seq = d.event_seq
             WHERE {cond} ORDER BY d.id"
        );
        let sql = self.sql_string(sql);
        let ids = sqlx::query(&sql);
        let rows = match only {
            Some(id) => ids.bind(id).fetch_all(&mut *tx).await?,
            None => ids.bind(session_id).bind(url).fetch_all(&mut *tx).await?,
        };
        for r in &rows {
            let id: i64 = r.try_get("id")?;
            let attempts: i64 = r.try_get("attempts")?;
            let counted = if only.is_some() { attempts + 1 } else { attempts };
            sqlx::query(self.sql(
                "INSERT INTO webhook_dead_letters (id, delivery_id, event_seq, event_id, session_id, registry, event,
                                                   url, attempts, last_status, last_error, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            ))
            .bind(format!("dlq_{}", uuid::Uuid::now_v7().simple()))
            .bind(id)
            .bind(r.try_get::<i64, _>("event_seq")?)
            .bind(r.text("event_id")?)
            .bind(session_id)
            .bind(r.text("registry")?)
            .bind(r.text("event")?)
            .bind(url)
            .bind(counted)
            .bind(status.map(i64::from))
            .bind(error)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query(self.sql(
                "UPDATE webhook_deliveries SET state = 'dead', attempts = $1, last_status = $2, last_error = $3,
                        locked_until = NULL, updated_at = $4 WHERE id = $5",
            ))
            .bind(counted)
            .bind(status.map(i64::from))
            .bind(error)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(rows.len() as u64)
    }

    /// Clears a target's URL after 404/410: the session's webhook_url (its secret is kept)
    /// or an extra target's url. Only if it still is that URL, so a fresh one survives.
    pub async fn clear_webhook_url(
        &self,
        session_id: &str,
        kind: &str,
        target_id: Option<&str>,
        url: &str,
    ) -> StoreResult<bool> {
        let res =
            match (kind, target_id) {
                ("session", _) => {
                    sqlx::query(self.sql(
                        "UPDATE sessions SET webhook_url = NULL, updated_at = $1 WHERE id = $2 AND webhook_url = $3",
                    ))
                    .bind(now_ms())
                    .bind(session_id)
                    .bind(url)
                    .execute(self.pool())
                    .await?
                }
                ("extra", Some(t)) => {
                    sqlx::query(
                        self.sql("UPDATE webhook_targets SET url = NULL, updated_at = $1 WHERE id = $2 AND url = $3"),
                    )
                    .bind(now_ms())
                    .bind(t)
                    .bind(url)
                    .execute(self.pool())
                    .await?
                }
                // WEBHOOK_DEFAULT_URL lives in the environment; it cannot be cleared from here.
                _ => return Ok(false),
            };
        Ok(res.rows_affected() > 0)
    }

    /// The secret a delivery is signed with: the target's own, else the session's, else none
    /// (the caller then falls back to WEBHOOK_DEFAULT_SECRET).
    pub async fn delivery_secret(&self, session_id: &str, target_id: Option<&str>) -> StoreResult<Option<String>> {
        if let Some(t) = target_id {
            let own: Option<String> = sqlx::query(self.sql("SELECT secret FROM webhook_targets WHERE id = $1"))
                .bind(t)
                .fetch_optional(self.pool())
                .await?
                .map(|r| r.text_opt("secret"))
                .transpose()?
                .flatten();
            if own.is_some() {
                return Ok(own);
            }
        }
        Ok(sqlx::query(self.sql("SELECT webhook_secret FROM sessions WHERE id = $1"))
            .bind(session_id)
            .fetch_optional(self.pool())
            .await?
            .map(|r| r.text_opt("webhook_secret"))
            .transpose()?
            .flatten())
    }
}

#[cfg(test)]
#[path = "queue_tests.rs"]
mod tests;
