//! Browser sessions behind the `WAREST_DOCS_SESSION` cookie, keyed by the token's hash.

use sqlx::Row;

use super::users::User;
use super::{Db, RowText, StoreResult, now_ms};

impl Db {
    pub async fn create_docs_session(&self, token_hash: &str, user_id: &str, expires_at: i64) -> StoreResult<()> {
        // Expired rows are swept here rather than by a timer: logins are rare and this
        // keeps the table bounded without another background task.
        let now = now_ms();
        sqlx::query(self.sql("DELETE FROM docs_sessions WHERE expires_at <= $1"))
            .bind(now)
            .execute(self.pool())
            .await?;
        sqlx::query(
            self.sql("INSERT INTO docs_sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)"),
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(now)
        .bind(expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The unexpired session's enabled user and expiry, or `None`.
    pub async fn find_docs_session(&self, token_hash: &str) -> StoreResult<Option<(User, i64)>> {
        let row = sqlx::query(self.sql(
            "SELECT u.id, u.username, u.is_admin, u.created_at, u.updated_at, s.expires_at
             FROM docs_sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled = 0",
        ))
        .bind(token_hash)
        .bind(now_ms())
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let user = User {
            id: row.text("id")?,
            username: row.text("username")?,
            is_admin: row.try_get::<i64, _>("is_admin")? != 0,
            disabled: false,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        };
        Ok(Some((user, row.try_get("expires_at")?)))
    }

    pub async fn delete_docs_session(&self, token_hash: &str) -> StoreResult<()> {
        sqlx::query(self.sql("DELETE FROM docs_sessions WHERE token_hash = $1"))
            .bind(token_hash)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
