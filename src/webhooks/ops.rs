//! Operations on stored webhook data: dead letters (list, get, replay, delete), the
//! attempt log, replay of stored event ranges, and the stream backlog. Every read takes
//! the caller's registry (`None` = admin, all registries).

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use utoipa::ToSchema;

use super::outbox::{EVENT_COLUMNS, StoredEvent, event_from_row, insert_delivery, resolve_targets};
use crate::config::WebhookConfig;
use crate::store::{Db, RowText, StoreError, StoreResult, now_ms};

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
    pub id: String,
    pub event_id: String,
    pub event_seq: i64,
    pub session_id: String,
    pub event: String,
    pub url: String,
    pub attempts: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    pub id: i64,
    pub delivery_id: i64,
    pub event_id: String,
    pub event: String,
    pub session_id: String,
    pub url: String,
    pub attempt: i64,
    pub status: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub created_at: i64,
    /// What the action runner did with the answer: one entry per action (`path`, `type`,
    /// `ok`, `result` or `error`); null when the answer carried no actions or the run is
    /// still going.
    #[schema(value_type = Option<Vec<Object>>)]
    pub actions: Option<serde_json::Value>,
}

/// Filters shared by the list endpoints.
#[derive(Debug, Default, Clone)]
pub struct Filter<'a> {
    pub registry: Option<&'a str>,
    pub session_id: Option<&'a str>,
    pub event: Option<&'a str>,
    pub url: Option<&'a str>,
    pub from: Option<i64>,
    pub to: Option<i64>,
}

/// Builds `AND …` conditions with `$n` placeholders from `start`, and their binds.
fn conditions(f: &Filter<'_>, time_col: &str, with_url: bool, start: usize) -> (String, Vec<Bind>) {
    let mut sql = String::new();
    let mut binds = Vec::new();
    let mut n = start;
    let mut add = |cond: String, b: Bind| {
        sql.push_str(&format!(" AND {cond}"));
        binds.push(b);
    };
    if let Some(r) = f.registry {
        add(format!("registry = ${n}"), Bind::S(r.into()));
        n += 1;
    }
    if let Some(s) = f.session_id {
        add(format!("session_id = ${n}"), Bind::S(s.into()));
        n += 1;
    }
    if let Some(e) = f.event {
        add(format!("event = ${n}"), Bind::S(e.into()));
        n += 1;
    }
    if with_url && let Some(u) = f.url {
        add(format!("url = ${n}"), Bind::S(u.into()));
        n += 1;
    }
    if let Some(t) = f.from {
        add(format!("{time_col} >= ${n}"), Bind::I(t));
        n += 1;
    }
    if let Some(t) = f.to {
        add(format!("{time_col} <= ${n}"), Bind::I(t));
    }
    (sql, binds)
}

#[derive(Debug, Clone)]
enum Bind {
    S(String),
    I(i64),
}

fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    binds: &'q [Bind],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for b in binds {
        q = match b {
            Bind::S(s) => q.bind(s.as_str()),
            Bind::I(i) => q.bind(*i),
        };
    }
    q
}

fn dead_from_row(r: &AnyRow) -> StoreResult<DeadLetter> {
    Ok(DeadLetter {
        id: r.text("id")?,
        event_id: r.text("event_id")?,
        event_seq: r.try_get("event_seq")?,
        session_id: r.text("session_id")?,
        event: r.text("event")?,
        url: r.text("url")?,
        attempts: r.try_get("attempts")?,
        last_status: r.try_get("last_status")?,
        last_error: r.text_opt("last_error")?,
        created_at: r.try_get("created_at")?,
    })
}

const DLQ_COLUMNS: &str =
    "id, event_id, event_seq, session_id, registry, event, url, attempts, last_status, last_error, created_at";

impl Db {
    pub async fn list_dead_letters(
        &self,
        f: &Filter<'_>,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<DeadLetter>, i64)> {
        let (cond, binds) = conditions(f, "created_at", true, 1);
        let n = binds.len();
        let sql = self.sql_string(format!(
            "SELECT {DLQ_COLUMNS} FROM webhook_dead_letters WHERE 1 = 1{cond} ORDER BY created_at, id LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        ));
        let rows = bind_all(sqlx::query(&sql), &binds).bind(limit).bind(offset).fetch_all(self.pool()).await?;
        let count_sql = self.sql_string(format!("SELECT COUNT(*) AS n FROM webhook_dead_letters WHERE 1 = 1{cond}"));
        let total: i64 = bind_all(sqlx::query(&count_sql), &binds).fetch_one(self.pool()).await?.try_get("n")?;
        Ok((rows.iter().map(dead_from_row).collect::<StoreResult<_>>()?, total))
    }

    pub async fn dead_letter(&self, registry: Option<&str>, id: &str) -> StoreResult<DeadLetter> {
        let f = Filter { registry, ..Default::default() };
        let (cond, binds) = conditions(&f, "created_at", false, 2);
        let sql = self.sql_string(format!("SELECT {DLQ_COLUMNS} FROM webhook_dead_letters WHERE id = $1{cond}"));
        let row = bind_all(sqlx::query(&sql).bind(id), &binds)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        dead_from_row(&row)
    }

    pub async fn delete_dead_letter(&self, registry: Option<&str>, id: &str) -> StoreResult<()> {
        self.dead_letter(registry, id).await?;
        sqlx::query(self.sql("DELETE FROM webhook_dead_letters WHERE id = $1")).bind(id).execute(self.pool()).await?;
        Ok(())
    }

    pub async fn list_attempts(&self, f: &Filter<'_>, limit: i64, offset: i64) -> StoreResult<(Vec<Attempt>, i64)> {
        // Scoped by the tenant recorded with the attempt, not through `sessions`: a session
        // id can be deleted and created again by another tenant.
        let (cond, binds) = conditions(f, "created_at", true, 1);
        let n = binds.len();
        let sql = self.sql_string(format!(
            "SELECT id, delivery_id, event_id, event, session_id, url, attempt, status, error, duration_ms, created_at,
                    actions
             FROM webhook_attempts WHERE 1 = 1{cond} ORDER BY id DESC LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        ));
        let rows = bind_all(sqlx::query(&sql), &binds).bind(limit).bind(offset).fetch_all(self.pool()).await?;
        let total: i64 = bind_all(
            sqlx::query(&self.sql_string(format!("SELECT COUNT(*) AS n FROM webhook_attempts WHERE 1 = 1{cond}"))),
            &binds,
        )
        .fetch_one(self.pool())
        .await?
        .try_get("n")?;
        let items = rows
            .iter()
            .map(|r| {
                Ok(Attempt {
                    id: r.try_get("id")?,
                    delivery_id: r.try_get("delivery_id")?,
                    event_id: r.text("event_id")?,
                    event: r.text("event")?,
                    session_id: r.text("session_id")?,
                    url: r.text("url")?,
                    attempt: r.try_get("attempt")?,
                    status: r.try_get("status")?,
                    error: r.text_opt("error")?,
                    duration_ms: r.try_get("duration_ms")?,
                    created_at: r.try_get("created_at")?,
                    actions: r.text_opt("actions")?.and_then(|a| serde_json::from_str(&a).ok()),
                })
            })
            .collect::<StoreResult<_>>()?;
        Ok((items, total))
    }

    /// Stored events after `after_seq`, oldest first (stream backlog, replay).
    pub async fn events_after(&self, f: &Filter<'_>, after_seq: i64, limit: i64) -> StoreResult<Vec<StoredEvent>> {
        let (cond, binds) = conditions(f, "created_at", false, 2);
        let n = binds.len();
        let sql = self.sql_string(format!(
            "SELECT {EVENT_COLUMNS} FROM webhook_events WHERE seq > $1{cond} ORDER BY seq LIMIT ${}",
            n + 2
        ));
        let rows = bind_all(sqlx::query(&sql).bind(after_seq), &binds).bind(limit).fetch_all(self.pool()).await?;
        rows.iter().map(event_from_row).collect()
    }

    /// Queues stored events again to their session's current targets (same event id and
    /// body: receivers deduplicate on `X-WAREST-Event-Id`). Returns how many were queued.
    ///
    /// A replay re-sends the events, it does not re-run what receivers answered: actions
    /// are at most once per (event, target, action) (`actions::once`), since a replay is
    /// usually made to refill a receiver's data after an outage, and repeating sends,
    /// reactions or revokes on WhatsApp because of it would surprise contacts. To act again,
    /// call the REST routes.
    pub async fn requeue_events(&self, cfg: &WebhookConfig, events: &[StoredEvent]) -> StoreResult<u64> {
        let mut tx = super::begin_write(self).await?;
        let now = now_ms();
        let mut n = 0;
        for ev in events {
            let url: Option<String> = sqlx::query(self.sql("SELECT webhook_url FROM sessions WHERE id = $1"))
                .bind(&ev.session_id)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.text_opt("webhook_url"))
                .transpose()?
                .flatten();
            for t in resolve_targets(self, &mut tx, cfg, &ev.session_id, url, &ev.event).await? {
                insert_delivery(self, &mut tx, ev.seq, &ev.session_id, &t, now).await?;
                n += 1;
            }
        }
        tx.commit().await?;
        Ok(n)
    }
}
