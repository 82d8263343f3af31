//! The durable outbox: every event is a row in `webhook_events` (the exact body that will
//! be signed) plus one `webhook_deliveries` row per target, written in the caller's
//! transaction — so an event exists before anyone is told, and it is stored together with
//! whatever the caller stored (the message store) or not at all.
//!
//! Targets are resolved when the event is written: the session's own `webhook_url`
//! (falling back to `WEBHOOK_DEFAULT_URL`) and its extra targets, each with its event
//! filter and custom headers.

use serde_json::{Map, Value, json};
use sqlx::{Any, Row, Transaction};

use crate::config::WebhookConfig;
use crate::store::{Db, RowText, StoreError, StoreResult, now_ms};

/// An event to record. `data` is the catalog payload; `sessionId` and `eventId` are added.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub session_id: &'a str,
    pub registry: &'a str,
    pub event: &'a str,
    pub data: Value,
    pub ts: i64,
}

/// A stored event, as the stream and replay see it.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub seq: i64,
    pub id: String,
    pub session_id: String,
    pub registry: String,
    pub username: String,
    pub event: String,
    pub body: String,
    pub created_at: i64,
}

/// A delivery target resolved for one event.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// `session` (the session's webhook_url), `default` (WEBHOOK_DEFAULT_URL) or `extra`.
    pub kind: &'static str,
    pub target_id: Option<String>,
    pub url: String,
    pub headers: Value,
    /// Waits for the event's deliveries to the targets before it (`fanout: sequential`).
    pub sequential: bool,
}

fn parse_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// Whether a target's filter (a JSON array of event names; empty = all) takes `event`.
pub fn filter_accepts(filter: &Value, event: &str) -> bool {
    match filter.as_array() {
        Some(list) if !list.is_empty() => list.iter().any(|e| e.as_str() == Some(event) || e.as_str() == Some("*")),
        _ => true,
    }
}

pub fn new_event_id() -> String {
    format!("evt_{}", uuid::Uuid::now_v7().simple())
}

/// Resolves the targets of `session_id` for `event`, inside `tx`.
pub async fn resolve_targets(
    db: &Db,
    tx: &mut Transaction<'static, Any>,
    cfg: &WebhookConfig,
    session_id: &str,
    session_url: Option<String>,
    event: &str,
) -> StoreResult<Vec<Target>> {
    let rows = sqlx::query(
        db.sql("SELECT id, kind, url, events, headers, sequential FROM webhook_targets WHERE session_id = $1 ORDER BY created_at, id"),
    )
    .bind(session_id)
    .fetch_all(&mut **tx)
    .await?;
    let mut out = Vec::new();
    let mut primary = (Value::Array(vec![]), Value::Object(Map::new()));
    for r in &rows {
        let kind = r.text("kind")?;
        let events = parse_json(&r.text("events")?);
        let headers = parse_json(&r.text("headers")?);
        if kind == "primary" {
            primary = (events, headers);
            continue;
        }
        let url = r.text_opt("url")?;
        if let Some(url) = url
            && filter_accepts(&events, event)
        {
            let sequential = r.try_get::<i64, _>("sequential")? != 0;
            out.push(Target { kind: "extra", target_id: Some(r.text("id")?), url, headers, sequential });
        }
    }
    let main = match session_url {
        Some(url) => Some(("session", url)),
        None => cfg.default_url.clone().map(|u| ("default", u)),
    };
    if let Some((kind, url)) = main
        && filter_accepts(&primary.0, event)
    {
        out.insert(0, Target { kind, target_id: None, url, headers: primary.1, sequential: false });
    }
    Ok(out)
}

/// Writes `ev` and its deliveries in `tx`; returns the stored event (not yet committed).
pub async fn insert(
    db: &Db,
    tx: &mut Transaction<'static, Any>,
    cfg: &WebhookConfig,
    ev: NewEvent<'_>,
) -> StoreResult<StoredEvent> {
    let session = sqlx::query(db.sql("SELECT label, webhook_url FROM sessions WHERE id = $1"))
        .bind(ev.session_id)
        .fetch_optional(&mut **tx)
        .await?;
    let (label, session_url): (Option<String>, Option<String>) = match &session {
        Some(r) => (r.text_opt("label")?, r.text_opt("webhook_url")?),
        None => (None, None),
    };
    let username: String = sqlx::query(db.sql("SELECT username FROM users WHERE id = $1"))
        .bind(ev.registry)
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| r.text("username"))
        .transpose()?
        .unwrap_or_default();
    let id = new_event_id();
    let mut data = ev.data;
    if let Value::Object(map) = &mut data {
        map.entry("sessionId").or_insert_with(|| json!(ev.session_id));
        map.entry("eventId").or_insert_with(|| json!(id));
        // The original WAREST's implementation sent the session id as `id` too, and its
        // users' receivers read it there.
        map.entry("id").or_insert_with(|| json!(ev.session_id));
    }
    let body = json!({
        "event": ev.event,
        "data": data,
        "ts": ev.ts,
        "session": { "id": ev.session_id, "label": label, "registry": ev.registry, "username": username },
    })
    .to_string();
    let now = now_ms();
    let seq: i64 = sqlx::query(db.sql(
        "INSERT INTO webhook_events (id, session_id, registry, username, event, body, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq",
    ))
    .bind(&id)
    .bind(ev.session_id)
    .bind(ev.registry)
    .bind(&username)
    .bind(ev.event)
    .bind(&body)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?
    // By position: MariaDB names no columns of a prepared RETURNING.
    .try_get(0)?;
    for t in resolve_targets(db, tx, cfg, ev.session_id, session_url, ev.event).await? {
        insert_delivery(db, tx, seq, ev.session_id, &t, now).await?;
    }
    Ok(StoredEvent {
        seq,
        id,
        session_id: ev.session_id.to_string(),
        registry: ev.registry.to_string(),
        username,
        event: ev.event.to_string(),
        body,
        created_at: now,
    })
}

pub async fn insert_delivery(
    db: &Db,
    tx: &mut Transaction<'static, Any>,
    seq: i64,
    session_id: &str,
    t: &Target,
    now: i64,
) -> StoreResult<()> {
    sqlx::query(db.sql(
        "INSERT INTO webhook_deliveries (event_seq, session_id, target_kind, target_id, url, headers, state,
                                         attempts, next_at, created_at, updated_at, after_previous)
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $8, $9, $10)",
    ))
    .bind(seq)
    .bind(session_id)
    .bind(t.kind)
    .bind(t.target_id.as_deref())
    .bind(&t.url)
    .bind(t.headers.to_string())
    .bind(now)
    .bind(now)
    .bind(now)
    .bind(i64::from(t.sequential))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(crate) fn event_from_row(r: &sqlx::any::AnyRow) -> StoreResult<StoredEvent> {
    Ok(StoredEvent {
        seq: r.try_get("seq")?,
        id: r.text("id")?,
        session_id: r.text("session_id")?,
        registry: r.text("registry")?,
        username: r.text("username")?,
        event: r.text("event")?,
        body: r.text("body")?,
        created_at: r.try_get("created_at")?,
    })
}

pub const EVENT_COLUMNS: &str = "seq, id, session_id, registry, username, event, body, created_at";

impl Db {
    pub async fn webhook_event(&self, seq: i64) -> StoreResult<StoredEvent> {
        let row = sqlx::query(&self.sql_string(format!("SELECT {EVENT_COLUMNS} FROM webhook_events WHERE seq = $1")))
            .bind(seq)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        event_from_row(&row)
    }
}
