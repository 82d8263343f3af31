//! Per-session webhook targets beyond the session's own `webhook_url`: extra URLs (each
//! with an optional secret) and, for every target including the primary one, an event
//! filter and custom headers. Validation lives in the route; this is storage only.

use serde_json::Value;
use sqlx::Row;

use crate::store::{Db, RowText, StoreResult, now_ms};

#[derive(Debug, Clone, PartialEq)]
pub struct TargetRow {
    pub id: String,
    pub kind: String,
    pub url: Option<String>,
    pub has_secret: bool,
    pub events: Value,
    pub headers: Value,
    pub sequential: bool,
}

/// A target as configured by the caller; `secret: None` on an extra target means unsigned
/// by its own key (the session's, then the default secret, are used).
#[derive(Debug, Clone)]
pub struct TargetSpec {
    pub kind: &'static str,
    pub url: Option<String>,
    pub secret: Option<String>,
    pub events: Vec<String>,
    pub headers: serde_json::Map<String, Value>,
    /// Delivered only after the targets before it (`fanout: sequential`).
    pub sequential: bool,
}

impl Db {
    pub async fn webhook_targets(&self, session_id: &str) -> StoreResult<Vec<TargetRow>> {
        let rows = sqlx::query(self.sql(
            "SELECT id, kind, url, secret, events, headers, sequential FROM webhook_targets
              WHERE session_id = $1 ORDER BY created_at, id",
        ))
        .bind(session_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(TargetRow {
                    id: r.text("id")?,
                    kind: r.text("kind")?,
                    url: r.text_opt("url")?,
                    has_secret: r.text_opt("secret")?.is_some(),
                    events: serde_json::from_str(&r.text("events")?).unwrap_or(Value::Null),
                    headers: serde_json::from_str(&r.text("headers")?).unwrap_or(Value::Null),
                    sequential: r.try_get::<i64, _>("sequential")? != 0,
                })
            })
            .collect()
    }

    /// Replaces a session's whole target set in one transaction.
    pub async fn replace_webhook_targets(&self, session_id: &str, specs: &[TargetSpec]) -> StoreResult<()> {
        let now = now_ms();
        let mut tx = super::begin_write(self).await?;
        sqlx::query(self.sql("DELETE FROM webhook_targets WHERE session_id = $1"))
            .bind(session_id)
            .execute(&mut *tx)
            .await?;
        for (i, s) in specs.iter().enumerate() {
            sqlx::query(
                self.sql("INSERT INTO webhook_targets (id, session_id, kind, url, secret, events, headers, created_at, updated_at,
                                              sequential)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"),
            )
            .bind(format!("wht_{}", uuid::Uuid::now_v7().simple()))
            .bind(session_id)
            .bind(s.kind)
            .bind(s.url.as_deref())
            .bind(s.secret.as_deref())
            .bind(serde_json::to_string(&s.events).unwrap_or_else(|_| "[]".into()))
            .bind(Value::Object(s.headers.clone()).to_string())
            // Keeps the caller's order (created_at ties are broken by this offset).
            .bind(now + i as i64)
            .bind(now + i as i64)
            .bind(i64::from(s.sequential))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
