//! Files the gateway makes for a caller (a decrypted blob, a processed image) and hands
//! out as a signed, expiring link instead of inline. They are ordinary `media` rows served
//! by `GET /api/v1/media/{id}`, owned by a pseudo-session whose name no real session can
//! have, so they are reachable only through the signed link. Once every link to a file has
//! expired the file is useless; each new file prunes a bounded batch of those.

use std::path::Path;

use sqlx::Row;

use super::{MediaConfig, stored_path};
use crate::store::{Db, StoreError, now_ms};

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
}

/// A stored file and its link.
#[derive(Debug, Clone)]
pub struct Generated {
    pub id: String,
    pub url: String,
    /// Unix seconds after which the link is refused.
    pub expires_at: i64,
}

/// Stores `bytes` as a new generated file and returns its signed link.
pub async fn store(
    db: &Db,
    data_dir: &Path,
    cfg: &MediaConfig,
    bytes: &[u8],
    mimetype: &str,
) -> Result<Generated, GeneratedError> {
    prune(db, cfg).await;
    let id = uuid::Uuid::new_v4().simple().to_string();
    let path = stored_path(data_dir, OWNER, &id);
    write(&path, bytes).await?;
    let now = now_ms();
    let inserted = sqlx::query(
        "INSERT INTO media (id, session_id, message_id, mimetype, size, path, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(OWNER)
    .bind("")
    .bind(mimetype)
    .bind(bytes.len() as i64)
    .bind(path.to_string_lossy().to_string())
    .bind(now)
    .execute(db.pool())
    .await;
    if let Err(e) = inserted {
        let _ = tokio::fs::remove_file(&path).await;
        return Err(StoreError::from(e).into());
    }
    let now_s = now / 1000;
    Ok(Generated { url: cfg.link(&id, now_s), expires_at: now_s + cfg.url_ttl.as_secs() as i64, id })
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
    let rows = sqlx::query("SELECT id, path FROM media WHERE session_id = $1 AND created_at < $2 LIMIT $3")
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
        let (Ok(id), Ok(path)) = (r.try_get::<String, _>("id"), r.try_get::<String, _>("path")) else { continue };
        match tokio::fs::remove_file(&path).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(error = %e, media = %id, "could not remove expired generated media");
                continue;
            }
        }
        if let Err(e) = sqlx::query("DELETE FROM media WHERE id = $1").bind(&id).execute(db.pool()).await {
            tracing::warn!(error = %e, media = %id, "could not forget expired generated media");
        }
    }
}
