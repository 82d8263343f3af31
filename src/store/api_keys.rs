//! API keys, stored as SHA-256 hashes. Reads and revocation are scoped to the owning user,
//! so one tenant can never address another tenant's key.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::users::User;
use super::{Db, RowText, StoreError, StoreResult, conflict_or, now_ms};

/// What the store knows of a key hash (hashes are unique: one row at most).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    Unknown,
    Live,
    Revoked,
}

/// Where a key came from: the admin env var, generated at first start, or the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    Env,
    Generated,
    Api,
}

impl KeySource {
    pub fn as_str(self) -> &'static str {
        match self {
            KeySource::Env => "env",
            KeySource::Generated => "generated",
            KeySource::Api => "api",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub prefix: String,
    pub source: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

pub struct NewApiKey<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub name: &'a str,
    pub prefix: &'a str,
    pub key_hash: &'a str,
    pub source: KeySource,
}

const COLUMNS: &str = "id, user_id, name, prefix, source, created_at, last_used_at, revoked_at";

fn from_row(row: &AnyRow) -> StoreResult<ApiKey> {
    Ok(ApiKey {
        id: row.text("id")?,
        user_id: row.text("user_id")?,
        name: row.text("name")?,
        prefix: row.text("prefix")?,
        source: row.text("source")?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

impl Db {
    pub async fn insert_api_key(&self, new: NewApiKey<'_>) -> StoreResult<ApiKey> {
        sqlx::query(self.sql(
            "INSERT INTO api_keys (id, user_id, name, prefix, key_hash, source, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        ))
        .bind(new.id)
        .bind(new.user_id)
        .bind(new.name)
        .bind(new.prefix)
        .bind(new.key_hash)
        .bind(new.source.as_str())
        .bind(now_ms())
        .execute(self.pool())
        .await
        .map_err(|e| conflict_or(e, "api key"))?;
        self.get_api_key(new.user_id, new.id).await
    }

    /// The live (unrevoked) key with this hash and its enabled owner; `None` otherwise.
    pub async fn authenticate_key_hash(&self, key_hash: &str) -> StoreResult<Option<(ApiKey, User)>> {
        let row = sqlx::query(self.sql(
            "SELECT k.id, k.user_id, k.name, k.prefix, k.source, k.created_at, k.last_used_at, k.revoked_at,
                    u.username, u.is_admin, u.disabled, u.created_at AS u_created_at, u.updated_at AS u_updated_at
             FROM api_keys k JOIN users u ON u.id = k.user_id
             WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND u.disabled = 0",
        ))
        .bind(key_hash)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let key = from_row(&row)?;
        let user = User {
            id: key.user_id.clone(),
            username: row.text("username")?,
            is_admin: row.try_get::<i64, _>("is_admin")? != 0,
            disabled: false,
            created_at: row.try_get("u_created_at")?,
            updated_at: row.try_get("u_updated_at")?,
        };
        Ok(Some((key, user)))
    }

    /// The owner of key `id` while the key is live and the owner enabled; `None` otherwise.
    pub async fn live_key_owner(&self, id: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query(self.sql(
            "SELECT u.id, u.username, u.is_admin, u.disabled, u.created_at, u.updated_at
             FROM api_keys k JOIN users u ON u.id = k.user_id
             WHERE k.id = $1 AND k.revoked_at IS NULL AND u.disabled = 0",
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(super::users::from_row).transpose()
    }

    pub async fn touch_api_key(&self, id: &str, at: i64) -> StoreResult<()> {
        sqlx::query(self.sql("UPDATE api_keys SET last_used_at = $1 WHERE id = $2"))
            .bind(at)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn get_api_key(&self, user_id: &str, id: &str) -> StoreResult<ApiKey> {
        let row =
            sqlx::query(&self.sql_string(format!("SELECT {COLUMNS} FROM api_keys WHERE user_id = $1 AND id = $2")))
                .bind(user_id)
                .bind(id)
                .fetch_optional(self.pool())
                .await?
                .ok_or(StoreError::NotFound)?;
        from_row(&row)
    }

    pub async fn list_api_keys(&self, user_id: &str) -> StoreResult<Vec<ApiKey>> {
        let rows = sqlx::query(
            &self.sql_string(format!("SELECT {COLUMNS} FROM api_keys WHERE user_id = $1 ORDER BY created_at, id")),
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }

    pub async fn count_live_api_keys(&self, user_id: &str) -> StoreResult<i64> {
        let row = sqlx::query(self.sql("SELECT COUNT(*) AS n FROM api_keys WHERE user_id = $1 AND revoked_at IS NULL"))
            .bind(user_id)
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get("n")?)
    }

    /// Revokes a key of this user. Revoking twice is fine; another user's key is `NotFound`.
    pub async fn revoke_api_key(&self, user_id: &str, id: &str) -> StoreResult<ApiKey> {
        sqlx::query(
            self.sql("UPDATE api_keys SET revoked_at = $1 WHERE user_id = $2 AND id = $3 AND revoked_at IS NULL"),
        )
        .bind(now_ms())
        .bind(user_id)
        .bind(id)
        .execute(self.pool())
        .await?;
        self.get_api_key(user_id, id).await
    }

    /// Revokes every live key of one source except the one with `keep_hash` (used when the
    /// admin key in the environment changes: the old env key must stop working).
    pub async fn revoke_keys_of_source_except(
        &self,
        user_id: &str,
        source: KeySource,
        keep_hash: &str,
    ) -> StoreResult<u64> {
        let done = sqlx::query(self.sql(
            "UPDATE api_keys SET revoked_at = $1
             WHERE user_id = $2 AND source = $3 AND key_hash <> $4 AND revoked_at IS NULL",
        ))
        .bind(now_ms())
        .bind(user_id)
        .bind(source.as_str())
        .bind(keep_hash)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }

    /// Whether a key with this hash was ever issued, and if so whether it is revoked.
    pub async fn key_hash_state(&self, key_hash: &str) -> StoreResult<KeyState> {
        let row = sqlx::query(self.sql("SELECT revoked_at FROM api_keys WHERE key_hash = $1"))
            .bind(key_hash)
            .fetch_optional(self.pool())
            .await?;
        Ok(match row {
            None => KeyState::Unknown,
            Some(r) if r.try_get::<Option<i64>, _>("revoked_at")?.is_some() => KeyState::Revoked,
            Some(_) => KeyState::Live,
        })
    }
}
