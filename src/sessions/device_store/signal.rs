//! [`SignalStore`] for [`SqlDeviceStore`]: identities, Signal sessions, prekeys, signed
//! prekeys and sender keys. The batch writes are the pre-wire flush (a ratchet advance
//! must be durable before the message leaves), so each runs in one transaction.

use std::sync::Arc;

use whatsapp_rust::async_trait;
use whatsapp_rust::bytes::Bytes;
use whatsapp_rust::wacore::store::error::StoreError as WaStoreError;
use whatsapp_rust::wacore::store::traits::SignalStore;

use super::{IN_CHUNK, SqlDeviceStore, WaResult, col, db_err, placeholders, to_u32};

impl SqlDeviceStore {
    async fn get_blob(&self, table: &str, key_col: &str, key: &str) -> WaResult<Option<Vec<u8>>> {
        let row = sqlx::query(
            &self.db.sql_string(format!("SELECT record FROM {table} WHERE session_id = $1 AND {key_col} = $2")),
        )
        .bind(&self.session)
        .bind(key)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        row.map(|r| col(&r, "record")).transpose()
    }

    async fn delete_by(&self, table: &str, key_col: &str, key: &str) -> WaResult<()> {
        sqlx::query(&self.db.sql_string(format!("DELETE FROM {table} WHERE session_id = $1 AND {key_col} = $2")))
            .bind(&self.session)
            .bind(key)
            .execute(&*self.writer()?)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// Upserts `(address, record)` rows of an address-keyed table in one transaction.
    async fn put_records(&self, table: &str, rows: &[(Arc<str>, Bytes)]) -> WaResult<()> {
        let sql = self.db.sql_string(format!(
            "INSERT INTO {table} (session_id, address, record) VALUES ($1, $2, $3)
             ON CONFLICT (session_id, address) DO UPDATE SET record = excluded.record"
        ));
        if rows.is_empty() {
            return Ok(());
        }
        let gate = self.writer()?;
        let mut tx = gate.begin().await.map_err(db_err)?;
        for (address, record) in rows {
            sqlx::query(&sql)
                .bind(&self.session)
                .bind(&**address)
                .bind(&record[..])
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn put_prekeys(&self, keys: &[(u32, &[u8])], uploaded: bool) -> WaResult<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let gate = self.writer()?;
        let mut tx = gate.begin().await.map_err(db_err)?;
        for (id, record) in keys {
            sqlx::query(self.db.sql(
                "INSERT INTO wa_prekeys (session_id, id, record, uploaded) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (session_id, id) DO UPDATE SET record = excluded.record, uploaded = excluded.uploaded",
            ))
            .bind(&self.session)
            .bind(i64::from(*id))
            .bind(*record)
            .bind(i64::from(uploaded))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }
}

#[async_trait]
impl SignalStore for SqlDeviceStore {
    async fn put_identity(&self, address: &str, key: [u8; 32]) -> WaResult<()> {
        self.put_identities_batch(&[(Arc::from(address), key)]).await
    }

    async fn put_identities_batch(&self, identities: &[(Arc<str>, [u8; 32])]) -> WaResult<()> {
        if identities.is_empty() {
            return Ok(());
        }
        let gate = self.writer()?;
        let mut tx = gate.begin().await.map_err(db_err)?;
        for (address, key) in identities {
            sqlx::query(self.db.sql(
                "INSERT INTO wa_identities (session_id, address, identity_key) VALUES ($1, $2, $3)
                 ON CONFLICT (session_id, address) DO UPDATE SET identity_key = excluded.identity_key",
            ))
            .bind(&self.session)
            .bind(&**address)
            .bind(&key[..])
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn load_identity(&self, address: &str) -> WaResult<Option<[u8; 32]>> {
        let row =
            sqlx::query(self.db.sql("SELECT identity_key FROM wa_identities WHERE session_id = $1 AND address = $2"))
                .bind(&self.session)
                .bind(address)
                .fetch_optional(self.pool())
                .await
                .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        let key: Vec<u8> = col(&row, "identity_key")?;
        let key: [u8; 32] = key
            .try_into()
            .map_err(|k: Vec<u8>| WaStoreError::Validation(format!("identity key of {} bytes", k.len())))?;
        Ok(Some(key))
    }

    async fn delete_identity(&self, address: &str) -> WaResult<()> {
        self.delete_by("wa_identities", "address", address).await
    }

    async fn get_session(&self, address: &str) -> WaResult<Option<Bytes>> {
        Ok(self.get_blob("wa_signal_sessions", "address", address).await?.map(Bytes::from))
    }

    async fn put_session(&self, address: &str, session: &[u8]) -> WaResult<()> {
        self.put_records("wa_signal_sessions", &[(Arc::from(address), Bytes::copy_from_slice(session))]).await
    }

    async fn put_sessions_batch(&self, sessions: &[(Arc<str>, Bytes)]) -> WaResult<()> {
        self.put_records("wa_signal_sessions", sessions).await
    }

    async fn delete_session(&self, address: &str) -> WaResult<()> {
        self.delete_by("wa_signal_sessions", "address", address).await
    }

    async fn has_session(&self, address: &str) -> WaResult<bool> {
        let row = sqlx::query(
            self.db.sql("SELECT COUNT(*) AS n FROM wa_signal_sessions WHERE session_id = $1 AND address = $2"),
        )
        .bind(&self.session)
        .bind(address)
        .fetch_one(self.pool())
        .await
        .map_err(db_err)?;
        Ok(col::<i64>(&row, "n")? > 0)
    }

    /// Exact prefix match on `user@` / `user:`; never LIKE, whose wildcards a user part
    /// must not be able to trigger.
    async fn has_signal_state_for_user(&self, user: &str) -> WaResult<bool> {
        // Prefix lengths in characters, as substr counts them on every database (MySQL's
        // length() counts bytes).
        let (at, colon) = (format!("{user}@"), format!("{user}:"));
        let (at_len, colon_len) = (at.chars().count() as i32, colon.chars().count() as i32);
        let row = sqlx::query(self.db.sql(
            "SELECT (SELECT COUNT(*) FROM wa_signal_sessions WHERE session_id = $1
                       AND (substr(address, 1, $2) = $3 OR substr(address, 1, $4) = $5))
                  + (SELECT COUNT(*) FROM wa_identities WHERE session_id = $6
                       AND (substr(address, 1, $7) = $8 OR substr(address, 1, $9) = $10)) AS n",
        ))
        .bind(&self.session)
        .bind(at_len)
        .bind(&at)
        .bind(colon_len)
        .bind(&colon)
        .bind(&self.session)
        .bind(at_len)
        .bind(&at)
        .bind(colon_len)
        .bind(&colon)
        .fetch_one(self.pool())
        .await
        .map_err(db_err)?;
        Ok(col::<i64>(&row, "n")? > 0)
    }

    async fn store_prekey(&self, id: u32, record: &[u8], uploaded: bool) -> WaResult<()> {
        self.put_prekeys(&[(id, record)], uploaded).await
    }

    async fn store_prekeys_batch(&self, keys: &[(u32, Bytes)], uploaded: bool) -> WaResult<()> {
        let keys: Vec<(u32, &[u8])> = keys.iter().map(|(id, r)| (*id, r.as_ref())).collect();
        self.put_prekeys(&keys, uploaded).await
    }

    async fn load_prekey(&self, id: u32) -> WaResult<Option<Bytes>> {
        let row = sqlx::query(self.db.sql("SELECT record FROM wa_prekeys WHERE session_id = $1 AND id = $2"))
            .bind(&self.session)
            .bind(i64::from(id))
            .fetch_optional(self.pool())
            .await
            .map_err(db_err)?;
        row.map(|r| col::<Vec<u8>>(&r, "record").map(Bytes::from)).transpose()
    }

    /// One query per chunk instead of one per id; results keep the order of `ids`, like
    /// the default.
    async fn load_prekeys_batch(&self, ids: &[u32]) -> WaResult<Vec<(u32, Bytes)>> {
        let mut found = std::collections::HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(IN_CHUNK) {
            let sql = self.db.sql_string(format!(
                "SELECT id, record FROM wa_prekeys WHERE session_id = $1 AND id IN ({})",
                placeholders(2, chunk.len())
            ));
            let mut query = sqlx::query(&sql).bind(&self.session);
            for id in chunk {
                query = query.bind(i64::from(*id));
            }
            for row in query.fetch_all(self.pool()).await.map_err(db_err)? {
                let id = to_u32(col(&row, "id")?, "prekey id")?;
                found.insert(id, Bytes::from(col::<Vec<u8>>(&row, "record")?));
            }
        }
        Ok(ids.iter().filter_map(|id| found.get(id).map(|r| (*id, r.clone()))).collect())
    }

    /// UPDATE only: a key consumed between the upload snapshot and this call stays gone.
    async fn mark_prekeys_uploaded(&self, ids: &[u32]) -> WaResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let gate = self.writer()?;
        let mut tx = gate.begin().await.map_err(db_err)?;
        for chunk in ids.chunks(IN_CHUNK) {
            let sql = self.db.sql_string(format!(
                "UPDATE wa_prekeys SET uploaded = 1 WHERE session_id = $1 AND id IN ({})",
                placeholders(2, chunk.len())
            ));
            let mut query = sqlx::query(&sql).bind(&self.session);
            for id in chunk {
                query = query.bind(i64::from(*id));
            }
            query.execute(&mut *tx).await.map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn remove_prekey(&self, id: u32) -> WaResult<()> {
        sqlx::query(self.db.sql("DELETE FROM wa_prekeys WHERE session_id = $1 AND id = $2"))
            .bind(&self.session)
            .bind(i64::from(id))
            .execute(&*self.writer()?)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn get_max_prekey_id(&self) -> WaResult<u32> {
        let row = sqlx::query(self.db.sql("SELECT COALESCE(MAX(id), 0) AS n FROM wa_prekeys WHERE session_id = $1"))
            .bind(&self.session)
            .fetch_one(self.pool())
            .await
            .map_err(db_err)?;
        to_u32(col(&row, "n")?, "prekey id")
    }

    async fn store_signed_prekey(&self, id: u32, record: &[u8]) -> WaResult<()> {
        sqlx::query(self.db.sql(
            "INSERT INTO wa_signed_prekeys (session_id, id, record) VALUES ($1, $2, $3)
             ON CONFLICT (session_id, id) DO UPDATE SET record = excluded.record",
        ))
        .bind(&self.session)
        .bind(i64::from(id))
        .bind(record)
        .execute(&*self.writer()?)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn load_signed_prekey(&self, id: u32) -> WaResult<Option<Vec<u8>>> {
        let row = sqlx::query(self.db.sql("SELECT record FROM wa_signed_prekeys WHERE session_id = $1 AND id = $2"))
            .bind(&self.session)
            .bind(i64::from(id))
            .fetch_optional(self.pool())
            .await
            .map_err(db_err)?;
        row.map(|r| col(&r, "record")).transpose()
    }

    async fn load_all_signed_prekeys(&self) -> WaResult<Vec<(u32, Vec<u8>)>> {
        let rows =
            sqlx::query(self.db.sql("SELECT id, record FROM wa_signed_prekeys WHERE session_id = $1 ORDER BY id"))
                .bind(&self.session)
                .fetch_all(self.pool())
                .await
                .map_err(db_err)?;
        rows.iter().map(|r| Ok((to_u32(col(r, "id")?, "signed prekey id")?, col(r, "record")?))).collect()
    }

    async fn remove_signed_prekey(&self, id: u32) -> WaResult<()> {
        sqlx::query(self.db.sql("DELETE FROM wa_signed_prekeys WHERE session_id = $1 AND id = $2"))
            .bind(&self.session)
            .bind(i64::from(id))
            .execute(&*self.writer()?)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn put_sender_key(&self, address: &str, record: &[u8]) -> WaResult<()> {
        self.put_records("wa_sender_keys", &[(Arc::from(address), Bytes::copy_from_slice(record))]).await
    }

    async fn put_sender_keys_batch(&self, sender_keys: &[(Arc<str>, Bytes)]) -> WaResult<()> {
        self.put_records("wa_sender_keys", sender_keys).await
    }

    async fn get_sender_key(&self, address: &str) -> WaResult<Option<Vec<u8>>> {
        self.get_blob("wa_sender_keys", "address", address).await
    }

    async fn delete_sender_key(&self, address: &str) -> WaResult<()> {
        self.delete_by("wa_sender_keys", "address", address).await
    }
}
