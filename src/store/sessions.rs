//! The session registry. Reads and writes requested on behalf of a caller take a
//! [`Scope`]: a tenant sees only its own registry's sessions (anything else is
//! `NotFound`), an admin sees all. Status updates come from the session's own actor and
//! are unscoped.

use serde_json::Value;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, DbKind, RowText, StoreError, StoreResult, conflict_or, now_ms};

/// Whose sessions a query may touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    Registry(&'a str),
    All,
}

impl<'a> Scope<'a> {
    pub fn of(principal: &'a crate::auth::Principal) -> Self {
        if principal.is_admin { Scope::All } else { Scope::Registry(&principal.registry) }
    }

    /// The SQL condition and its bind value, starting at placeholder `$n`.
    fn filter(self, n: usize) -> (String, Option<&'a str>) {
        match self {
            Scope::Registry(r) => (format!(" AND registry = ${n}"), Some(r)),
            Scope::All => (String::new(), None),
        }
    }
}

/// Who the linked account is, once known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Me {
    pub jid: Option<String>,
    pub lid: Option<String>,
    pub push_name: Option<String>,
    pub platform: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SessionRow {
    pub id: String,
    pub registry: String,
    pub label: Option<String>,
    pub status: String,
    pub auto_start: bool,
    pub metadata: Value,
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<String>,
    pub flags: Value,
    pub last_error: Option<String>,
    pub me: Me,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_connected_at: Option<i64>,
    /// The session's own proxy URL, credentials included: never log or return it as is.
    pub proxy: Option<String>,
    /// The masked URL of the pool proxy it last used (sticky pools).
    pub proxy_assigned: Option<String>,
}

pub struct NewSession<'a> {
    pub id: &'a str,
    pub registry: &'a str,
    pub label: Option<&'a str>,
    pub status: &'a str,
    pub auto_start: bool,
    pub metadata: &'a Value,
}

/// Fields a caller may change; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct ConfigPatch {
    pub label: Option<Option<String>>,
    pub auto_start: Option<bool>,
    pub metadata: Option<Value>,
    pub webhook_url: Option<Option<String>>,
    pub webhook_secret: Option<Option<String>>,
    pub flags: Option<Value>,
    pub proxy: Option<Option<String>>,
}

const COLUMNS: &str = "id, registry, label, status, auto_start, metadata, webhook_url, webhook_secret, flags, \
     last_error, me_jid, me_lid, me_push_name, me_platform, created_at, updated_at, last_connected_at, proxy, proxy_assigned";

fn json_col(row: &AnyRow, col: &str) -> StoreResult<Value> {
    let text = row.text(col)?;
    // Only this module writes these columns, always as JSON; a bad value means corruption.
    serde_json::from_str(&text).map_err(|e| StoreError::Db(sqlx::Error::Decode(Box::new(e))))
}

fn from_row(row: &AnyRow) -> StoreResult<SessionRow> {
    Ok(SessionRow {
        id: row.text("id")?,
        registry: row.text("registry")?,
        label: row.text_opt("label")?,
        status: row.text("status")?,
        auto_start: row.try_get::<i64, _>("auto_start")? != 0,
        metadata: json_col(row, "metadata")?,
        webhook_url: row.text_opt("webhook_url")?,
        webhook_secret: row.text_opt("webhook_secret")?,
        flags: json_col(row, "flags")?,
        last_error: row.text_opt("last_error")?,
        me: Me {
            jid: row.text_opt("me_jid")?,
            lid: row.text_opt("me_lid")?,
            push_name: row.text_opt("me_push_name")?,
            platform: row.text_opt("me_platform")?,
        },
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        last_connected_at: row.try_get("last_connected_at")?,
        proxy: row.text_opt("proxy")?,
        proxy_assigned: row.text_opt("proxy_assigned")?,
    })
}

impl Db {
    pub async fn create_session(&self, new: NewSession<'_>) -> StoreResult<SessionRow> {
        let now = now_ms();
        sqlx::query(self.sql(
            "INSERT INTO sessions (id, registry, label, status, auto_start, metadata, flags, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, '{}', $7, $8)",
        ))
        .bind(new.id)
        .bind(new.registry)
        .bind(new.label)
        .bind(new.status)
        .bind(i64::from(new.auto_start))
        .bind(new.metadata.to_string())
        .bind(now)
        .bind(now)
        .execute(self.pool())
        .await
        .map_err(|e| conflict_or(e, "session"))?;
        self.session(new.id).await
    }

    /// A session as seen by `scope`; another registry's session is `NotFound`.
    pub async fn get_session(&self, scope: Scope<'_>, id: &str) -> StoreResult<SessionRow> {
        let (cond, bind) = scope.filter(2);
        let sql = self.sql_string(format!("SELECT {COLUMNS} FROM sessions WHERE id = $1{cond}"));
        let mut query = sqlx::query(&sql).bind(id);
        if let Some(r) = bind {
            query = query.bind(r);
        }
        let row = query.fetch_optional(self.pool()).await?.ok_or(StoreError::NotFound)?;
        from_row(&row)
    }

    /// Unscoped read, for the session's own actor and the boot sequence.
    pub async fn session(&self, id: &str) -> StoreResult<SessionRow> {
        self.get_session(Scope::All, id).await
    }

    /// Sessions `registry` owns.
    pub async fn count_sessions_of(&self, registry: &str) -> StoreResult<i64> {
        let n: i64 = sqlx::query(self.sql("SELECT COUNT(*) AS n FROM sessions WHERE registry = $1"))
            .bind(registry)
            .fetch_one(self.pool())
            .await?
            .try_get("n")?;
        Ok(n)
    }

    pub async fn session_exists(&self, id: &str) -> StoreResult<bool> {
        let n: i64 = sqlx::query(self.sql("SELECT COUNT(*) AS n FROM sessions WHERE id = $1"))
            .bind(id)
            .fetch_one(self.pool())
            .await?
            .try_get("n")?;
        Ok(n > 0)
    }

    /// How many sessions the gateway holds, all registries.
    pub async fn count_sessions(&self) -> StoreResult<i64> {
        let row = sqlx::query(self.sql("SELECT COUNT(*) AS n FROM sessions")).fetch_one(self.pool()).await?;
        Ok(row.try_get("n")?)
    }

    /// How many sessions are in each status (statuses without sessions are absent).
    pub async fn sessions_by_status(&self) -> StoreResult<Vec<(String, i64)>> {
        let rows = sqlx::query(self.sql("SELECT status, COUNT(*) AS n FROM sessions GROUP BY status"))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| Ok((r.text("status")?, r.try_get("n")?))).collect()
    }

    pub async fn list_sessions(&self, scope: Scope<'_>) -> StoreResult<Vec<SessionRow>> {
        let (cond, bind) = scope.filter(1);
        let sql = self.sql_string(format!("SELECT {COLUMNS} FROM sessions WHERE 1 = 1{cond} ORDER BY created_at, id"));
        let mut query = sqlx::query(&sql);
        if let Some(r) = bind {
            query = query.bind(r);
        }
        query.fetch_all(self.pool()).await?.iter().map(from_row).collect()
    }

    /// Sessions to bring back at start: auto-start on, not stopped on purpose, and not
    /// failed without credentials (logged out: restoring would only show a new QR).
    pub async fn sessions_to_restore(&self) -> StoreResult<Vec<SessionRow>> {
        let rows = sqlx::query(&self.sql_string(format!(
            "SELECT {COLUMNS} FROM sessions WHERE auto_start = 1 AND status <> 'STOPPED'
               AND (status <> 'FAILED' OR me_jid IS NOT NULL) ORDER BY created_at, id"
        )))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }

    pub async fn set_session_status(&self, id: &str, status: &str, last_error: Option<&str>) -> StoreResult<()> {
        sqlx::query(self.sql("UPDATE sessions SET status = $1, last_error = $2, updated_at = $3 WHERE id = $4"))
            .bind(status)
            .bind(last_error)
            .bind(now_ms())
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Records who the account is; `connected` also stamps `last_connected_at`.
    pub async fn set_session_me(&self, id: &str, me: &Me, connected: bool) -> StoreResult<()> {
        let now = now_ms();
        sqlx::query(self.sql(
            "UPDATE sessions SET me_jid = $1, me_lid = $2, me_push_name = $3, me_platform = $4, updated_at = $5,
                    last_connected_at = CASE WHEN $6 = 1 THEN $7 ELSE last_connected_at END
             WHERE id = $8",
        ))
        .bind(me.jid.as_deref())
        .bind(me.lid.as_deref())
        .bind(me.push_name.as_deref())
        .bind(me.platform.as_deref())
        .bind(now)
        .bind(i64::from(connected))
        .bind(now)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn update_session_config(
        &self,
        scope: Scope<'_>,
        id: &str,
        patch: ConfigPatch,
    ) -> StoreResult<SessionRow> {
        let cur = self.get_session(scope, id).await?;
        let label = patch.label.unwrap_or(cur.label);
        let auto_start = patch.auto_start.unwrap_or(cur.auto_start);
        let metadata = patch.metadata.unwrap_or(cur.metadata);
        let url = patch.webhook_url.unwrap_or(cur.webhook_url);
        let secret = patch.webhook_secret.unwrap_or(cur.webhook_secret);
        let flags = patch.flags.unwrap_or(cur.flags);
        // A new own proxy also forgets the pool's sticky choice.
        let (proxy, assigned) = match patch.proxy {
            Some(p) => (p, None),
            None => (cur.proxy, cur.proxy_assigned),
        };
        sqlx::query(self.sql(
            "UPDATE sessions SET label = $1, auto_start = $2, metadata = $3, webhook_url = $4, webhook_secret = $5,
                    flags = $6, updated_at = $7, proxy = $8, proxy_assigned = $9 WHERE id = $10",
        ))
        .bind(label)
        .bind(i64::from(auto_start))
        .bind(metadata.to_string())
        .bind(url)
        .bind(secret)
        .bind(flags.to_string())
        .bind(now_ms())
        .bind(proxy)
        .bind(assigned)
        .bind(id)
        .execute(self.pool())
        .await?;
        self.session(id).await
    }

    /// Records the pool proxy a session got (masked URL), for sticky pools.
    pub async fn set_session_proxy_assigned(&self, id: &str, proxy: Option<&str>) -> StoreResult<()> {
        sqlx::query(self.sql("UPDATE sessions SET proxy_assigned = $1 WHERE id = $2"))
            .bind(proxy)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Deletes the session row and every per-session row of the store, in one transaction.
    /// `outbound_*` and `webhook_targets` go by foreign-key cascade; the device store
    /// (`wa_*`) is wiped by the session's store before this.
    pub async fn delete_session_row(&self, scope: Scope<'_>, id: &str) -> StoreResult<()> {
        let (cond, bind) = scope.filter(2);
        let sql = self.sql_string(format!("DELETE FROM sessions WHERE id = $1{cond}"));
        let mut tx = match self.kind() {
            // Take the write lock up front: a deferred transaction could fail to upgrade.
            DbKind::Sqlite => self.pool().begin_with("BEGIN IMMEDIATE").await?,
            DbKind::Postgres | DbKind::Mysql => self.pool().begin().await?,
        };
        let mut query = sqlx::query(&sql).bind(id);
        if let Some(r) = bind {
            query = query.bind(r);
        }
        // The owner check first: nothing else is touched for a session the caller cannot see.
        if query.execute(&mut *tx).await?.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        for table in SESSION_TABLES {
            sqlx::query(&self.sql_string(format!("DELETE FROM {table} WHERE session_id = $1")))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Tables with a `session_id`, children before parents. Keep in step with the migrations.
/// Those with a cascading foreign key are listed too: SQLite cascades only with its
/// foreign_keys pragma on, and deletion must not depend on it.
const SESSION_TABLES: &[&str] = &[
    "outbound_messages",
    "outbound_queue_state",
    "webhook_targets",
    "messages",
    "chats",
    "contacts",
    "media",
    "action_runs",
    "inbound_seen",
    "webhook_attempts",
    "webhook_dead_letters",
    "webhook_deliveries",
    "webhook_events",
];
