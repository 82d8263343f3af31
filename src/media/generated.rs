//! Files the gateway makes for a caller (a decrypted blob, a processed image) and hands
//! out as a signed, expiring link instead of inline. They are ordinary `media` rows served
//! by `GET /api/v1/media/{id}`, owned by a pseudo-session whose name no real session can
//! have, so they are reachable only through the signed link. Once every link to a file has
//! expired the file is useless; each new file prunes a bounded batch of those.
//!
//! Each file carries the tenant that asked for it: the unexpired files of one tenant hold
//! at most `WAREST_TENANT_GENERATED_MAX_MB` (admins exempt), so one tenant cannot fill the
//! disk that every session's store shares.

use std::path::Path;

use sqlx::Row;

use super::{MediaConfig, stored_path};
use crate::auth::Principal;
use crate::store::{Db, DbKind, RowText, StoreError, now_ms};

/// The `session_id` of generated files: `~` is not allowed in session ids.
pub const OWNER: &str = "~generated";
/// Expired files removed per new file: enough to keep up, small enough to stay cheap.
const PRUNE_BATCH: i64 = 32;

#[derive(Debug, thiserror::Error)]
pub enum GeneratedError {
    #[error("cannot write generated media: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The tenant's unexpired files hold `used` bytes and this one would pass `max`; the
    /// oldest link expires in `retry_after_secs`.
    #[error("the tenant's generated files hold {used} bytes; its limit is {max}")]
    Quota { used: u64, max: u64, retry_after_secs: u64 },
}

impl From<sqlx::Error> for GeneratedError {
    fn from(e: sqlx::Error) -> Self {
        GeneratedError::Store(e.into())
    }
}

/// A stored file and its link.
#[derive(Debug, Clone)]
pub struct Generated {
    pub id: String,
    pub url: String,
    /// Unix seconds after which the link is refused.
    pub expires_at: i64,
}

/// Stores `bytes` as a new generated file of `owner` and returns its signed link.
pub async fn store(
    db: &Db,
    data_dir: &Path,
    cfg: &MediaConfig,
    owner: &Principal,
    bytes: &[u8],
    mimetype: &str,
) -> Result<Generated, GeneratedError> {
    prune(db, cfg).await;
    let quota = Quota::of(cfg, owner);
    if let Some(q) = &quota {
        // A cheap refusal before the file is written; the transaction below decides.
        q.check(db, db.pool(), bytes.len() as u64, 0).await?;
    }
    let id = uuid::Uuid::new_v4().simple().to_string();
    let path = stored_path(data_dir, OWNER, &id);
    write(&path, bytes).await?;
    let now = now_ms();
    if let Err(e) = record(db, quota.as_ref(), &id, &path, bytes.len() as u64, mimetype, now).await {
        let _ = tokio::fs::remove_file(&path).await;
        return Err(e);
    }
    let now_s = now / 1000;
    Ok(Generated { url: cfg.link(&id, now_s), expires_at: now_s + cfg.url_ttl.as_secs() as i64, id })
}

/// The row of a written file, inside the tenant's quota: counted after the insert in the
/// same transaction, under a per-tenant lock on Postgres and MySQL (SQLite's one writer already
/// orders it), so concurrent requests cannot pass the limit together.
async fn record(
    db: &Db,
    quota: Option<&Quota<'_>>,
    id: &str,
    path: &Path,
    size: u64,
    mimetype: &str,
    now: i64,
) -> Result<(), GeneratedError> {
    let mut tx = db.pool().begin().await?;
    sqlx::query(db.sql(
        "INSERT INTO media (id, session_id, message_id, mimetype, size, path, created_at, registry)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    ))
    .bind(id)
    .bind(OWNER)
    .bind("")
    .bind(mimetype)
    .bind(size as i64)
    .bind(path.to_string_lossy().to_string())
    .bind(now)
    .bind(quota.map(|q| q.registry))
    .execute(&mut *tx)
    .await?;
    if let Some(q) = quota {
        match db.kind() {
            DbKind::Postgres => {
                sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7310))::text AS locked")
                    .bind(q.registry)
                    .fetch_one(&mut *tx)
                    .await?;
            }
            // No transaction-scoped advisory lock on MySQL: the tenant's user row, held
            // to commit, orders the counts instead (as the send queue's accept does).
            DbKind::Mysql => {
                sqlx::query("SELECT id FROM users WHERE id = ? FOR UPDATE")
                    .bind(q.registry)
                    .fetch_optional(&mut *tx)
                    .await?;
            }
            DbKind::Sqlite => {}
        }
        q.check(db, &mut *tx, 0, size).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// One tenant's byte limit of generated files.
struct Quota<'a> {
    registry: &'a str,
    max: u64,
    ttl_ms: i64,
}

impl<'a> Quota<'a> {
    /// None when no limit applies: none configured, or an admin.
    fn of(cfg: &MediaConfig, owner: &'a Principal) -> Option<Quota<'a>> {
        let max = cfg.tenant_generated_max_bytes;
        (max > 0 && !owner.is_admin).then(|| Quota {
            registry: &owner.registry,
            max,
            ttl_ms: cfg.url_ttl.as_millis() as i64,
        })
    }

    /// Refuses when the tenant's unexpired files plus `adding` pass the limit; `own` is
    /// the part of the sum that is the file being added (already inserted), for the message.
    async fn check<'e, E>(&self, db: &Db, exec: E, adding: u64, own: u64) -> Result<(), GeneratedError>
    where
        E: sqlx::Executor<'e, Database = sqlx::Any>,
    {
        let now = now_ms();
        let row = sqlx::query(
            db.sql("SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) AS used, CAST(COALESCE(MIN(created_at), 0) AS BIGINT) AS oldest
               FROM media WHERE registry = $1 AND session_id = $2 AND created_at >= $3"),
        )
        .bind(self.registry)
        .bind(OWNER)
        .bind(now - self.ttl_ms)
        .fetch_one(exec)
        .await?;
        let used = row.try_get::<i64, _>("used")?.max(0) as u64;
        if used + adding <= self.max {
            return Ok(());
        }
        // Rows committed while the query ran can be younger than `now`: the wait is never
        // longer than a link's lifetime.
        let oldest: i64 = row.try_get("oldest")?;
        let retry_after_secs = ((oldest + self.ttl_ms - now).clamp(1000, self.ttl_ms.max(1000)) as u64).div_ceil(1000);
        Err(GeneratedError::Quota { used: used - own, max: self.max, retry_after_secs })
    }
}

/// Written under a temp name and renamed, so the link never serves half a file.
async fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir).await?;
    }
    let tmp = path.with_extension("part");
    tokio::fs::write(&tmp, bytes).await?;
    tokio::fs::rename(&tmp, path).await
}

/// Removes generated files whose links have all expired. Failures are logged, not
/// returned: pruning is housekeeping and must not fail the request that triggered it.
async fn prune(db: &Db, cfg: &MediaConfig) {
    let before = now_ms() - (cfg.url_ttl.as_millis() as i64);
    let rows = sqlx::query(db.sql("SELECT id, path FROM media WHERE session_id = $1 AND created_at < $2 LIMIT $3"))
        .bind(OWNER)
        .bind(before)
        .bind(PRUNE_BATCH)
        .fetch_all(db.pool())
        .await;
    let rows = match rows {
        Ok(r) => r,
        Err(e) => return tracing::warn!(error = %e, "could not list expired generated media"),
    };
    for r in rows {
        let (Ok(id), Ok(path)) = (r.text("id"), r.text("path")) else { continue };
        match tokio::fs::remove_file(&path).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(error = %e, media = %id, "could not remove expired generated media");
                continue;
            }
        }
        if let Err(e) = sqlx::query(db.sql("DELETE FROM media WHERE id = $1")).bind(&id).execute(db.pool()).await {
            tracing::warn!(error = %e, media = %id, "could not forget expired generated media");
        }
    }
}
