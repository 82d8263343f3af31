//! [`AppSyncStore`] for [`SqlDeviceStore`]: app-state sync keys, collection versions
//! ([`HashState`], stored as JSON) and mutation MACs.

use std::collections::HashMap;

use whatsapp_rust::async_trait;
use whatsapp_rust::wacore::appstate::hash::HashState;
use whatsapp_rust::wacore::appstate::processor::AppStateMutationMAC;
use whatsapp_rust::wacore::store::traits::{AppStateSyncKey, AppSyncStore};

use super::{IN_CHUNK, SqlDeviceStore, WaResult, col, db_err, placeholders, ser_err, text_col};

#[async_trait]
impl AppSyncStore for SqlDeviceStore {
    async fn get_sync_key(&self, key_id: &[u8]) -> WaResult<Option<AppStateSyncKey>> {
        let row = sqlx::query(self.db.sql(
            "SELECT key_data, fingerprint, key_timestamp FROM wa_sync_keys WHERE session_id = $1 AND key_id = $2",
        ))
        .bind(&self.session)
        .bind(key_id)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(AppStateSyncKey {
            key_data: col(&row, "key_data")?,
            fingerprint: col(&row, "fingerprint")?,
            timestamp: col(&row, "key_timestamp")?,
        }))
    }

    /// `seq` is bumped on every write, insert or overwrite, so the latest key is the one
    /// set last, as in `InMemoryBackend`.
    async fn set_sync_key(&self, key_id: &[u8], key: AppStateSyncKey) -> WaResult<()> {
        sqlx::query(self.db.sql(
            "INSERT INTO wa_sync_keys (session_id, key_id, key_data, fingerprint, key_timestamp, seq)
             VALUES ($1, $2, $3, $4, $5, (SELECT COALESCE(MAX(seq), 0) + 1 FROM wa_sync_keys WHERE session_id = $6))
             ON CONFLICT (session_id, key_id) DO UPDATE SET key_data = excluded.key_data,
                 fingerprint = excluded.fingerprint, key_timestamp = excluded.key_timestamp, seq = excluded.seq",
        ))
        .bind(&self.session)
        .bind(key_id)
        .bind(key.key_data)
        .bind(key.fingerprint)
        .bind(key.timestamp)
        .bind(&self.session)
        .execute(&*self.writer()?)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn get_version(&self, name: &str) -> WaResult<HashState> {
        let row =
            sqlx::query(self.db.sql("SELECT state FROM wa_app_state_versions WHERE session_id = $1 AND name = $2"))
                .bind(&self.session)
                .bind(name)
                .fetch_optional(self.pool())
                .await
                .map_err(db_err)?;
        match row {
            Some(row) => serde_json::from_str(&text_col(&row, "state")?).map_err(ser_err),
            None => Ok(HashState::default()),
        }
    }

    async fn set_version(&self, name: &str, state: HashState) -> WaResult<()> {
        let json = serde_json::to_string(&state).map_err(ser_err)?;
        sqlx::query(self.db.sql(
            "INSERT INTO wa_app_state_versions (session_id, name, state) VALUES ($1, $2, $3)
             ON CONFLICT (session_id, name) DO UPDATE SET state = excluded.state",
        ))
        .bind(&self.session)
        .bind(name)
        .bind(json)
        .execute(&*self.writer()?)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn put_mutation_macs(&self, name: &str, version: u64, mutations: &[AppStateMutationMAC]) -> WaResult<()> {
        // Versions are server counters far below i64::MAX; saturate rather than fail.
        let version = i64::try_from(version).unwrap_or(i64::MAX);
        if mutations.is_empty() {
            return Ok(());
        }
        let gate = self.writer()?;
        let mut tx = gate.begin().await.map_err(db_err)?;
        for m in mutations {
            sqlx::query(
                self.db.sql("INSERT INTO wa_mutation_macs (session_id, name, index_mac, version, value_mac) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (session_id, name, index_mac) DO UPDATE SET version = excluded.version, value_mac = excluded.value_mac"),
            )
            .bind(&self.session)
            .bind(name)
            .bind(&m.index_mac[..])
            .bind(version)
            .bind(&m.value_mac[..])
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn get_mutation_mac(&self, name: &str, index_mac: &[u8]) -> WaResult<Option<Vec<u8>>> {
        let row = sqlx::query(
            self.db
                .sql("SELECT value_mac FROM wa_mutation_macs WHERE session_id = $1 AND name = $2 AND index_mac = $3"),
        )
        .bind(&self.session)
        .bind(name)
        .bind(index_mac)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        row.map(|r| col(&r, "value_mac")).transpose()
    }

    /// One `IN (...)` query per chunk instead of one round trip per mutation.
    async fn get_mutation_macs(&self, name: &str, index_macs: &[[u8; 32]]) -> WaResult<HashMap<[u8; 32], Vec<u8>>> {
        let mut out = HashMap::with_capacity(index_macs.len());
        for chunk in index_macs.chunks(IN_CHUNK) {
            let sql = self.db.sql_string(format!(
                "SELECT index_mac, value_mac FROM wa_mutation_macs WHERE session_id = $1 AND name = $2 AND index_mac IN ({})",
                placeholders(3, chunk.len())
            ));
            let mut query = sqlx::query(&sql).bind(&self.session).bind(name);
            for mac in chunk {
                query = query.bind(&mac[..]);
            }
            for row in query.fetch_all(self.pool()).await.map_err(db_err)? {
                let index: Vec<u8> = col(&row, "index_mac")?;
                // Only 32-byte keys can match a 32-byte query, so this never skips a hit.
                if let Ok(index) = <[u8; 32]>::try_from(index) {
                    out.insert(index, col(&row, "value_mac")?);
                }
            }
        }
        Ok(out)
    }

    async fn delete_mutation_macs(&self, name: &str, index_macs: &[Vec<u8>]) -> WaResult<()> {
        if index_macs.is_empty() {
            return Ok(());
        }
        let gate = self.writer()?;
        let mut tx = gate.begin().await.map_err(db_err)?;
        for index_mac in index_macs {
            sqlx::query(
                self.db.sql("DELETE FROM wa_mutation_macs WHERE session_id = $1 AND name = $2 AND index_mac = $3"),
            )
            .bind(&self.session)
            .bind(name)
            .bind(&index_mac[..])
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn clear_mutation_macs(&self, name: &str) -> WaResult<()> {
        sqlx::query(self.db.sql("DELETE FROM wa_mutation_macs WHERE session_id = $1 AND name = $2"))
            .bind(&self.session)
            .bind(name)
            .execute(&*self.writer()?)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// The key set last (highest `seq`). Every stored row is decodable (plain columns,
    /// no serialized blob), so the newest row is also the newest usable key.
    async fn get_latest_sync_key_id(&self) -> WaResult<Option<Vec<u8>>> {
        let row =
            sqlx::query(self.db.sql("SELECT key_id FROM wa_sync_keys WHERE session_id = $1 ORDER BY seq DESC LIMIT 1"))
                .bind(&self.session)
                .fetch_optional(self.pool())
                .await
                .map_err(db_err)?;
        row.map(|r| col(&r, "key_id")).transpose()
    }
}
