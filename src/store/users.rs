//! Users (tenants). A user's `id` is its registry id (`usr_…`).

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, RowText, StoreError, StoreResult, conflict_or, now_ms};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub username: String,
    pub is_admin: bool,
    pub disabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

pub struct NewUser<'a> {
    pub id: &'a str,
    pub username: &'a str,
    pub password_hash: Option<&'a str>,
    pub is_admin: bool,
}

const COLUMNS: &str = "id, username, is_admin, disabled, created_at, updated_at";

pub(super) fn from_row(row: &AnyRow) -> StoreResult<User> {
    Ok(User {
        id: row.text("id")?,
        username: row.text("username")?,
        is_admin: row.try_get::<i64, _>("is_admin")? != 0,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

impl Db {
    pub async fn create_user(&self, new: NewUser<'_>) -> StoreResult<User> {
        let now = now_ms();
        sqlx::query(self.sql(
            "INSERT INTO users (id, username, password_hash, is_admin, disabled, created_at, updated_at)
             VALUES ($1, $2, $3, $4, 0, $5, $6)",
        ))
        .bind(new.id)
        .bind(new.username)
        .bind(new.password_hash)
        .bind(i64::from(new.is_admin))
        .bind(now)
        .bind(now)
        .execute(self.pool())
        .await
        .map_err(|e| conflict_or(e, "username"))?;
        self.get_user(new.id).await
    }

    pub async fn get_user(&self, id: &str) -> StoreResult<User> {
        let row = sqlx::query(&self.sql_string(format!("SELECT {COLUMNS} FROM users WHERE id = $1")))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        from_row(&row)
    }

    pub async fn find_user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query(&self.sql_string(format!("SELECT {COLUMNS} FROM users WHERE username = $1")))
            .bind(username)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// The stored argon2 hash, for login; `None` when the user has no password.
    pub async fn user_password_hash(&self, id: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query(self.sql("SELECT password_hash FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(row.text_opt("password_hash")?)
    }

    pub async fn set_user_password_hash(&self, id: &str, hash: Option<&str>) -> StoreResult<()> {
        let done = sqlx::query(self.sql("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3"))
            .bind(hash)
            .bind(now_ms())
            .bind(id)
            .execute(self.pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Users ordered by creation, one page at a time.
    pub async fn list_users(&self, limit: i64, offset: i64) -> StoreResult<(Vec<User>, i64)> {
        let rows = sqlx::query(
            &self.sql_string(format!("SELECT {COLUMNS} FROM users ORDER BY created_at, id LIMIT $1 OFFSET $2")),
        )
        .bind(limit)
        .bind(offset)
        .fetch_all(self.pool())
        .await?;
        let total: i64 =
            sqlx::query(self.sql("SELECT COUNT(*) AS n FROM users")).fetch_one(self.pool()).await?.try_get("n")?;
        Ok((rows.iter().map(from_row).collect::<StoreResult<_>>()?, total))
    }

    pub async fn set_user_disabled(&self, id: &str, disabled: bool) -> StoreResult<User> {
        let done = sqlx::query(self.sql("UPDATE users SET disabled = $1, updated_at = $2 WHERE id = $3"))
            .bind(i64::from(disabled))
            .bind(now_ms())
            .bind(id)
            .execute(self.pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.get_user(id).await
    }

    /// Deletes the user and, through the foreign keys, its keys and docs sessions.
    pub async fn delete_user(&self, id: &str) -> StoreResult<()> {
        let mut tx = self.pool().begin().await?;
        // Explicit deletes as well as the cascade: the cascade needs SQLite's foreign_keys
        // pragma, and this must hold even on a connection where it is off.
        for table in ["api_keys", "docs_sessions"] {
            sqlx::query(&self.sql_string(format!("DELETE FROM {table} WHERE user_id = $1")))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        let done = sqlx::query(self.sql("DELETE FROM users WHERE id = $1")).bind(id).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }
}
