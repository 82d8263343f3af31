//! SQL of the send queue: accepting sends (with the idempotency key, in one transaction),
//! claiming the next job of a session in FIFO order, recording each attempt's outcome,
//! receipts, and the reads behind `GET /messages/{id}` and the queue view.
//!
//! Every transaction starts with a write, so SQLite takes its write lock up front instead
//! of failing a read→write upgrade when two requests race.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::store::sessions::Scope;
use crate::store::{Db, DbKind, RowText, StoreError, StoreResult, now_ms};

/// An idempotency key answers with the first result for this long.
pub const IDEMPOTENCY_TTL_MS: i64 = 24 * 60 * 60 * 1000;

/// Message statuses in the order they can advance; `failed` stands apart.
pub const QUEUED: &str = "queued";
pub const SENDING: &str = "sending";
pub const SENT: &str = "sent";
pub const DELIVERED: &str = "delivered";
pub const READ: &str = "read";
pub const PLAYED: &str = "played";
pub const FAILED: &str = "failed";

pub struct NewJob<'a> {
    pub message_id: &'a str,
    pub to_jid: &'a str,
    pub kind: &'a str,
    pub payload: &'a str,
}

/// One request of [`Db::outbound_accept_all`].
pub struct AcceptRequest<'j, 'k> {
    pub jobs: &'j [NewJob<'k>],
    pub idem: Option<IdemKey<'k>>,
}

pub struct IdemKey<'a> {
    pub key: &'a str,
    pub request_hash: &'a str,
    /// The answer to give again for this key.
    pub response: &'a str,
}

#[derive(Debug, Clone)]
pub enum Accepted {
    Queued,
    /// The key was seen within 24h: its stored answer, and whether the request matched.
    Replay {
        response: String,
        same_request: bool,
    },
    /// The session's queue would exceed its limit; nothing was stored.
    Full {
        depth: i64,
    },
    /// The tenant's waiting sends would hold more than its byte quota; nothing was stored.
    /// `used` is what waits already.
    TenantBytes {
        used: i64,
    },
}

/// The limits [`Db::outbound_accept_all`] holds under races.
#[derive(Debug, Clone, Copy)]
pub struct AcceptLimits {
    /// Jobs waiting (queued or sending) per session.
    pub max_size: i64,
    /// Payload bytes waiting across all of the tenant's sessions (0: no limit). Sessions
    /// of admin users are exempt.
    pub tenant_max_bytes: i64,
}

/// A claimed job, ready to send.
#[derive(Debug, Clone)]
pub struct Job {
    pub seq: i64,
    pub message_id: String,
    pub to_jid: String,
    pub payload: String,
    pub attempts: i64,
    /// When the send was accepted (Unix ms): the start of `warest_send_latency_seconds`.
    pub created_at: i64,
}

/// The status record of one sent (or queued) message.
#[derive(Debug, Clone)]
pub struct MessageRecord {
    pub message_id: String,
    pub session_id: String,
    pub to_jid: String,
    pub kind: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub sent_at: Option<i64>,
    pub delivered_at: Option<i64>,
    pub read_at: Option<i64>,
    pub played_at: Option<i64>,
}

/// The refusal, if the jobs just inserted (`stored` of them, `stored_bytes` long) pass a
/// limit. Counted after the inserts, under the accept's locks, so the limits hold under
/// races. Admins' sessions count no bytes (the NOT EXISTS), like every tenant quota.
async fn over_limits(
    db: &Db,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    session_id: &str,
    registry: &str,
    limits: AcceptLimits,
    stored: i64,
    stored_bytes: i64,
) -> StoreResult<Option<Accepted>> {
    let depth: i64 = sqlx::query(
        db.sql("SELECT COUNT(*) AS n FROM outbound_messages WHERE session_id = $1 AND status IN ('queued', 'sending')"),
    )
    .bind(session_id)
    .fetch_one(&mut **tx)
    .await?
    .try_get("n")?;
    if depth > limits.max_size {
        return Ok(Some(Accepted::Full { depth: depth - stored }));
    }
    if limits.tenant_max_bytes == 0 {
        return Ok(None);
    }
    let used: i64 = sqlx::query(db.sql(
        "SELECT CAST(COALESCE(SUM(payload_bytes), 0) AS BIGINT) AS n FROM outbound_messages
          WHERE registry = $1 AND status IN ('queued', 'sending')
            AND NOT EXISTS (SELECT 1 FROM users WHERE id = $2 AND is_admin <> 0)",
    ))
    .bind(registry)
    .bind(registry)
    .fetch_one(&mut **tx)
    .await?
    .try_get("n")?;
    Ok((used > limits.tenant_max_bytes).then_some(Accepted::TenantBytes { used: used - stored_bytes }))
}

/// A claimed job's row; by position, as MariaDB names no columns of a prepared RETURNING.
fn job(r: &AnyRow) -> StoreResult<Job> {
    Ok(Job {
        seq: r.try_get(0)?,
        message_id: r.text_at(1)?,
        to_jid: r.text_at(2)?,
        payload: r.text_at(3)?,
        attempts: r.try_get(4)?,
        created_at: r.try_get(5)?,
    })
}

fn record(row: &AnyRow) -> StoreResult<MessageRecord> {
    Ok(MessageRecord {
        message_id: row.text("message_id")?,
        session_id: row.text("session_id")?,
        to_jid: row.text("to_jid")?,
        kind: row.text("kind")?,
        status: row.text("status")?,
        attempts: row.try_get("attempts")?,
        last_error: row.text_opt("last_error")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        sent_at: row.try_get("sent_at")?,
        delivered_at: row.try_get("delivered_at")?,
        read_at: row.try_get("read_at")?,
        played_at: row.try_get("played_at")?,
    })
}

const RECORD_COLUMNS: &str = "message_id, session_id, to_jid, kind, status, attempts, last_error, created_at, \
     updated_at, sent_at, delivered_at, read_at, played_at";

impl Db {
    /// Jobs waiting or in flight, all sessions (the partial index `outbound_messages_waiting`
    /// keeps this off the finished rows).
    pub async fn outbound_backlog(&self) -> StoreResult<crate::store::Backlog> {
        let row = sqlx::query(self.sql(
            "SELECT COUNT(*) AS depth, MIN(created_at) AS oldest FROM outbound_messages
             WHERE status IN ('queued', 'sending')",
        ))
        .fetch_one(self.pool())
        .await?;
        crate::store::Backlog::from_row(&row)
    }

    /// Stores the jobs of one request for `session`, unless its idempotency key was seen
    /// (then the first answer comes back) or the queue would exceed `max_size`.
    pub async fn outbound_accept(
        &self,
        session_id: &str,
        registry: &str,
        jobs: &[NewJob<'_>],
        idem: Option<IdemKey<'_>>,
        max_size: i64,
    ) -> StoreResult<Accepted> {
        let one = [AcceptRequest { jobs, idem }];
        let limits = AcceptLimits { max_size, tenant_max_bytes: 0 };
        let mut all = self.outbound_accept_all(session_id, registry, &one, limits).await?;
        Ok(all.pop().unwrap_or(Accepted::Full { depth: 0 }))
    }

    /// Several requests for one session in one transaction: all are stored or none (a
    /// multi-file upload). A request whose key was seen gets its first answer and stores
    /// nothing; one whose key came with another request, or a queue that would exceed
    /// `limits.max_size`, stores nothing for any of them (every answer is then that
    /// refusal); so does a tenant whose waiting bytes would pass `limits.tenant_max_bytes`.
    pub async fn outbound_accept_all(
        &self,
        session_id: &str,
        registry: &str,
        requests: &[AcceptRequest<'_, '_>],
        limits: AcceptLimits,
    ) -> StoreResult<Vec<Accepted>> {
        let now = now_ms();
        let mut tx = self.pool().begin().await?;
        self.lock_for_accept(&mut tx, session_id, registry, limits).await?;
        let mut answers = Vec::with_capacity(requests.len());
        let (mut stored, mut stored_bytes) = (0i64, 0i64);
        for req in requests {
            if let Some(k) = &req.idem {
                // Claims the key, or takes over one older than the TTL; 0 rows: a live key.
                if !self.claim_idempotency_key(&mut tx, registry, k, now).await? {
                    let row = sqlx::query(self.sql(
                        "SELECT request_hash, response FROM idempotency_keys WHERE registry = $1 AND idem_key = $2",
                    ))
                    .bind(registry)
                    .bind(k.key)
                    .fetch_one(&mut *tx)
                    .await?;
                    let hash = row.text("request_hash")?;
                    let response = row.text("response")?;
                    let same_request = hash == k.request_hash;
                    if !same_request {
                        tx.rollback().await?;
                        let refusal = || Accepted::Replay { response: response.clone(), same_request: false };
                        return Ok(requests.iter().map(|_| refusal()).collect());
                    }
                    answers.push(Accepted::Replay { response, same_request });
                    continue;
                }
            }
            for job in req.jobs {
                sqlx::query(self.sql(
                    "INSERT INTO outbound_messages
                       (message_id, session_id, registry, to_jid, kind, payload, status, attempts, next_attempt_at,
                        idempotency_key, created_at, updated_at, payload_bytes)
                     VALUES ($1, $2, $3, $4, $5, $6, 'queued', 0, $7, $8, $9, $10, $11)",
                ))
                .bind(job.message_id)
                .bind(session_id)
                .bind(registry)
                .bind(job.to_jid)
                .bind(job.kind)
                .bind(job.payload)
                .bind(now)
                .bind(req.idem.as_ref().map(|k| k.key))
                .bind(now)
                .bind(now)
                .bind(job.payload.len() as i64)
                .execute(&mut *tx)
                .await
                .map_err(|e| crate::store::conflict_or(e, "message id"))?;
            }
            stored += req.jobs.len() as i64;
            stored_bytes += req.jobs.iter().map(|j| j.payload.len() as i64).sum::<i64>();
            answers.push(Accepted::Queued);
        }
        if stored > 0
            && let Some(refusal) =
                over_limits(self, &mut tx, session_id, registry, limits, stored, stored_bytes).await?
        {
            tx.rollback().await?;
            return Ok(requests.iter().map(|_| refusal.clone()).collect());
        }
        tx.commit().await?;
        Ok(answers)
    }

    /// Postgres: one accept per session at a time, and per tenant when its bytes are
    /// limited. Under READ COMMITTED two transactions each count their own inserts and not
    /// the other's, and both would pass a limit. SQLite has one writer, so its counts
    /// already see everything before them. The tenant's lock is always taken after the
    /// session's, so two accepts never wait on each other in a cycle.
    async fn lock_for_accept(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        session_id: &str,
        registry: &str,
        limits: AcceptLimits,
    ) -> StoreResult<()> {
        if self.kind() == DbKind::Mysql {
            return self.lock_rows_for_accept(tx, session_id, registry, limits).await;
        }
        if self.kind() != DbKind::Postgres {
            return Ok(());
        }
        let lock = |key: &str, space: i64| {
            sqlx::query(self.sql("SELECT pg_advisory_xact_lock(hashtextextended($1, $2))::text AS locked"))
                .bind(key.to_string())
                .bind(space)
        };
        lock(session_id, 7308).fetch_one(&mut **tx).await?;
        if limits.tenant_max_bytes > 0 {
            lock(registry, 7309).fetch_one(&mut **tx).await?;
        }
        Ok(())
    }

    /// MySQL has no transaction-scoped advisory lock (GET_LOCK outlives the transaction
    /// on a pooled connection), so the accept locks rows instead, held to commit: the
    /// session's queue-state row (created if missing) and the tenant's user row.
    async fn lock_rows_for_accept(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        session_id: &str,
        registry: &str,
        limits: AcceptLimits,
    ) -> StoreResult<()> {
        // One statement that creates the row or locks it exclusively: `INSERT IGNORE` would
        // take a shared lock on an existing row, and two accepts each holding one and then
        // asking `FOR UPDATE` deadlock.
        sqlx::query(
            "INSERT INTO outbound_queue_state (session_id, paused, updated_at) VALUES (?, 0, ?)
             ON DUPLICATE KEY UPDATE session_id = session_id",
        )
        .bind(session_id)
        .bind(now_ms())
        .execute(&mut **tx)
        .await?;
        if limits.tenant_max_bytes > 0 {
            sqlx::query("SELECT id FROM users WHERE id = ? FOR UPDATE")
                .bind(registry)
                .fetch_optional(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// Claims `key` for this request, or takes over one older than the TTL; false: a live
    /// key holds it.
    async fn claim_idempotency_key(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        registry: &str,
        k: &IdemKey<'_>,
        now: i64,
    ) -> StoreResult<bool> {
        if self.kind() == DbKind::Mysql {
            // No conditional upsert on MySQL, and an upsert's row count there cannot tell an
            // insert from a duplicate (see store/dialect.rs): insert, else take over a stale key.
            let inserted = sqlx::query(
                "INSERT IGNORE INTO idempotency_keys (registry, idem_key, request_hash, response, created_at)
                 VALUES (?, ?, ?, ?, ?)",
            )
            .bind(registry)
            .bind(k.key)
            .bind(k.request_hash)
            .bind(k.response)
            .bind(now)
            .execute(&mut **tx)
            .await?
            .rows_affected();
            if inserted == 1 {
                return Ok(true);
            }
            let taken = sqlx::query(
                "UPDATE idempotency_keys SET request_hash = ?, response = ?, created_at = ?
                 WHERE registry = ? AND idem_key = ? AND created_at < ?",
            )
            .bind(k.request_hash)
            .bind(k.response)
            .bind(now)
            .bind(registry)
            .bind(k.key)
            .bind(now - IDEMPOTENCY_TTL_MS)
            .execute(&mut **tx)
            .await?
            .rows_affected();
            return Ok(taken == 1);
        }
        let claimed = sqlx::query(
            "INSERT INTO idempotency_keys (registry, idem_key, request_hash, response, created_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (registry, idem_key) DO UPDATE
               SET request_hash = excluded.request_hash, response = excluded.response, created_at = excluded.created_at
               WHERE idempotency_keys.created_at < $6",
        )
        .bind(registry)
        .bind(k.key)
        .bind(k.request_hash)
        .bind(k.response)
        .bind(now)
        .bind(now - IDEMPOTENCY_TTL_MS)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        Ok(claimed == 1)
    }

    /// A live (younger than the TTL) idempotency key's request hash and stored answer.
    pub async fn idempotency_lookup(&self, registry: &str, key: &str) -> StoreResult<Option<(String, String)>> {
        let row = sqlx::query(
            self.sql("SELECT request_hash, response FROM idempotency_keys WHERE registry = $1 AND idem_key = $2 AND created_at >= $3"),
        )
        .bind(registry)
        .bind(key)
        .bind(now_ms() - IDEMPOTENCY_TTL_MS)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| Ok((r.text("request_hash")?, r.text("response")?))).transpose()
    }

    /// Claims the session's oldest due job: it becomes `sending` with one more attempt.
    pub async fn outbound_claim(&self, session_id: &str) -> StoreResult<Option<Job>> {
        let now = now_ms();
        if self.kind() == DbKind::Mysql {
            return self.outbound_claim_locked(session_id, now).await;
        }
        let row = sqlx::query(
            "UPDATE outbound_messages SET status = 'sending', attempts = attempts + 1, updated_at = $1
             WHERE seq = (SELECT seq FROM outbound_messages
                          WHERE session_id = $2 AND status = 'queued' AND next_attempt_at <= $3
                            -- Checked in the claim itself: a pause that returned before this
                            -- statement began holds every job, even one the worker was about to take.
                            AND NOT EXISTS (SELECT 1 FROM outbound_queue_state q
                                            WHERE q.session_id = $4 AND q.paused = 1)
                          ORDER BY seq LIMIT 1)
               AND status = 'queued'
             RETURNING seq, message_id, to_jid, payload, attempts, created_at",
        )
        .bind(now)
        .bind(session_id)
        .bind(now)
        .bind(session_id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(job).transpose()
    }

    /// `outbound_claim` on MySQL, which has no `UPDATE … RETURNING`: the due row is
    /// locked (skipping one another claimer holds), updated and read in one transaction.
    async fn outbound_claim_locked(&self, session_id: &str, now: i64) -> StoreResult<Option<Job>> {
        let mut tx = self.pool().begin().await?;
        let seq: Option<i64> = sqlx::query(
            "SELECT seq FROM outbound_messages
              WHERE session_id = ? AND status = 'queued' AND next_attempt_at <= ?
                AND NOT EXISTS (SELECT 1 FROM outbound_queue_state q WHERE q.session_id = ? AND q.paused = 1)
              ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED",
        )
        .bind(session_id)
        .bind(now)
        .bind(session_id)
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| r.try_get("seq"))
        .transpose()?;
        let Some(seq) = seq else { return Ok(None) };
        sqlx::query(
            "UPDATE outbound_messages SET status = 'sending', attempts = attempts + 1, updated_at = ? WHERE seq = ?",
        )
        .bind(now)
        .bind(seq)
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(
            "SELECT seq, message_id, to_jid, payload, attempts, created_at FROM outbound_messages WHERE seq = ?",
        )
        .bind(seq)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        job(&row).map(Some)
    }

    /// When the session's next waiting job is due (None: nothing waits).
    pub async fn outbound_next_due(&self, session_id: &str) -> StoreResult<Option<i64>> {
        let row = sqlx::query(self.sql(
            "SELECT MIN(next_attempt_at) AS due FROM outbound_messages WHERE session_id = $1 AND status = 'queued'",
        ))
        .bind(session_id)
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get("due")?)
    }

    /// The server took the message. A receipt that raced ahead keeps its later status.
    pub async fn outbound_sent(&self, seq: i64) -> StoreResult<()> {
        let now = now_ms();
        sqlx::query(self.sql(
            "UPDATE outbound_messages SET status = CASE WHEN status = 'sending' THEN 'sent' ELSE status END,
               sent_at = COALESCE(sent_at, $1), last_error = NULL, updated_at = $2
             WHERE seq = $3",
        ))
        .bind(now)
        .bind(now)
        .bind(seq)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// A transient failure: back to the queue, due at `due`.
    pub async fn outbound_retry_at(&self, seq: i64, due: i64, error: &str) -> StoreResult<()> {
        sqlx::query(self.sql(
            "UPDATE outbound_messages SET status = 'queued', next_attempt_at = $1, last_error = $2, updated_at = $3
             WHERE seq = $4 AND status = 'sending'",
        ))
        .bind(due)
        .bind(error)
        .bind(now_ms())
        .bind(seq)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn outbound_failed(&self, seq: i64, error: &str) -> StoreResult<()> {
        sqlx::query(self.sql(
            "UPDATE outbound_messages SET status = 'failed', last_error = $1, updated_at = $2
             WHERE seq = $3 AND status IN ('queued', 'sending')",
        ))
        .bind(error)
        .bind(now_ms())
        .bind(seq)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// At start: jobs that were being sent when the process died go back to the queue.
    /// Their message id is kept, so the resend is the same message to the recipient.
    pub async fn outbound_recover(&self) -> StoreResult<u64> {
        let done = sqlx::query(
            self.sql("UPDATE outbound_messages SET status = 'queued', updated_at = $1 WHERE status = 'sending'"),
        )
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }

    /// Sessions with work waiting, for the workers to start at boot.
    pub async fn outbound_pending_sessions(&self) -> StoreResult<Vec<String>> {
        let rows = sqlx::query(
            self.sql("SELECT DISTINCT session_id FROM outbound_messages WHERE status IN ('queued', 'sending')"),
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| r.text("session_id").map_err(StoreError::from)).collect()
    }

    /// A message's record, as its sender's tenant sees it.
    pub async fn outbound_message(
        &self,
        scope: Scope<'_>,
        message_id: &str,
        session_id: Option<&str>,
    ) -> StoreResult<MessageRecord> {
        let mut sql = format!("SELECT {RECORD_COLUMNS} FROM outbound_messages WHERE message_id = $1");
        let mut n = 2;
        if session_id.is_some() {
            sql.push_str(&format!(" AND session_id = ${n}"));
            n += 1;
        }
        if let Scope::Registry(_) = scope {
            sql.push_str(&format!(" AND registry = ${n}"));
        }
        sql.push_str(" ORDER BY seq LIMIT 1");
        let sql = self.sql_string(sql);
        let mut q = sqlx::query(&sql).bind(message_id);
        if let Some(s) = session_id {
            q = q.bind(s);
        }
        if let Scope::Registry(r) = scope {
            q = q.bind(r);
        }
        let row = q.fetch_optional(self.pool()).await?.ok_or(StoreError::NotFound)?;
        record(&row)
    }
}

impl Db {
    /// Moves a sent message forward to `status` (delivered, read or played) at `at`.
    /// Returns the recipient when the record changed; None for unknown ids (messages not
    /// sent through the queue) or a status it already passed.
    pub async fn outbound_advance(
        &self,
        session_id: &str,
        message_id: &str,
        status: &str,
        at: i64,
    ) -> StoreResult<Option<String>> {
        let (column, before) = match status {
            DELIVERED => ("delivered_at", "('queued', 'sending', 'sent')"),
            READ => ("read_at", "('queued', 'sending', 'sent', 'delivered')"),
            PLAYED => ("played_at", "('queued', 'sending', 'sent', 'delivered', 'read')"),
            _ => return Ok(None),
        };
        // A receipt proves delivery and sending too: fill the earlier stamps it implies.
        let mut stamps: Vec<&str> = vec!["sent_at", "delivered_at"];
        if !stamps.contains(&column) {
            stamps.push(column);
        }
        // `$2`, `$3`, … in order: MySQL binds by position.
        let set: Vec<String> =
            stamps.iter().enumerate().map(|(i, c)| format!("{c} = COALESCE({c}, ${})", i + 2)).collect();
        let n = stamps.len() + 2;
        let set = set.join(", ");
        let head = format!(
            "UPDATE outbound_messages SET status = $1, {set}, updated_at = ${n}
             WHERE session_id = ${} AND message_id = ${} AND status IN {before}",
            n + 1,
            n + 2
        );
        let bind = |q| bind_advance(q, status, stamps.len(), at, session_id, message_id);
        if self.kind() == DbKind::Mysql {
            // No UPDATE … RETURNING: update, then read the recipient, in one transaction.
            let sql = self.sql_string(head);
            let mut tx = self.pool().begin().await?;
            if bind(sqlx::query(&sql)).execute(&mut *tx).await?.rows_affected() == 0 {
                return Ok(None);
            }
            let row = sqlx::query("SELECT to_jid FROM outbound_messages WHERE session_id = ? AND message_id = ?")
                .bind(session_id)
                .bind(message_id)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(Some(row.text("to_jid")?));
        }
        let sql = format!("{head} RETURNING to_jid");
        let row = bind(sqlx::query(&sql)).fetch_optional(self.pool()).await?;
        Ok(row.map(|r| r.text("to_jid")).transpose()?)
    }
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// `outbound_advance`'s binds, in the order its statement names them.
fn bind_advance<'q>(
    q: AnyQuery<'q>,
    status: &str,
    stamps: usize,
    at: i64,
    session: &str,
    message: &str,
) -> AnyQuery<'q> {
    let q = (0..stamps).fold(q.bind(status.to_string()), |q, _| q.bind(at));
    q.bind(now_ms()).bind(session.to_string()).bind(message.to_string())
}

/// One session's queue figures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueStats {
    pub session_id: String,
    pub queued: i64,
    pub in_flight: i64,
    /// Waiting for a retry after a transient failure.
    pub retrying: i64,
    pub failed: i64,
    pub paused: bool,
}

impl Db {
    /// Queue figures per session the scope can see (sessions with any job or a pause).
    pub async fn outbound_stats(&self, scope: Scope<'_>) -> StoreResult<Vec<QueueStats>> {
        let filter = if matches!(scope, Scope::Registry(_)) { " WHERE registry = $1" } else { "" };
        let sql = self.sql_string(format!(
            "SELECT session_id,
               COUNT(CASE WHEN status = 'queued' THEN 1 END) AS queued,
               COUNT(CASE WHEN status = 'sending' THEN 1 END) AS in_flight,
               COUNT(CASE WHEN status = 'queued' AND attempts > 0 THEN 1 END) AS retrying,
               COUNT(CASE WHEN status = 'failed' THEN 1 END) AS failed
             FROM outbound_messages{filter} GROUP BY session_id ORDER BY session_id"
        ));
        let mut q = sqlx::query(&sql);
        if let Scope::Registry(r) = scope {
            q = q.bind(r);
        }
        let mut out: Vec<QueueStats> = Vec::new();
        for r in q.fetch_all(self.pool()).await? {
            out.push(QueueStats {
                session_id: r.text("session_id")?,
                queued: r.try_get("queued")?,
                in_flight: r.try_get("in_flight")?,
                retrying: r.try_get("retrying")?,
                failed: r.try_get("failed")?,
                paused: false,
            });
        }
        let paused_sql = match scope {
            Scope::Registry(_) => {
                "SELECT q.session_id FROM outbound_queue_state q JOIN sessions s ON s.id = q.session_id
                 WHERE q.paused = 1 AND s.registry = $1"
            }
            Scope::All => "SELECT session_id FROM outbound_queue_state WHERE paused = 1",
        };
        let mut q = sqlx::query(self.sql(paused_sql));
        if let Scope::Registry(r) = scope {
            q = q.bind(r);
        }
        for r in q.fetch_all(self.pool()).await? {
            let id = r.text("session_id")?;
            match out.iter_mut().find(|s| s.session_id == id) {
                Some(s) => s.paused = true,
                None => out.push(QueueStats { session_id: id, paused: true, ..Default::default() }),
            }
        }
        Ok(out)
    }

    pub async fn outbound_set_paused(&self, session_id: &str, paused: bool) -> StoreResult<()> {
        sqlx::query(self.sql(
            "INSERT INTO outbound_queue_state (session_id, paused, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (session_id) DO UPDATE SET paused = excluded.paused, updated_at = excluded.updated_at",
        ))
        .bind(session_id)
        .bind(i64::from(paused))
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn outbound_paused_sessions(&self) -> StoreResult<Vec<String>> {
        let rows = sqlx::query(self.sql("SELECT session_id FROM outbound_queue_state WHERE paused = 1"))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| r.text("session_id").map_err(StoreError::from)).collect()
    }

    /// Drops the session's waiting jobs (in-flight ones finish); they stay as `failed`
    /// records saying so. Returns how many.
    pub async fn outbound_clear(&self, session_id: &str) -> StoreResult<u64> {
        let done = sqlx::query(self.sql(
            "UPDATE outbound_messages SET status = 'failed', last_error = 'cleared from the queue', updated_at = $1
             WHERE session_id = $2 AND status = 'queued'",
        ))
        .bind(now_ms())
        .bind(session_id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }
}

#[cfg(test)]
mod tests;
