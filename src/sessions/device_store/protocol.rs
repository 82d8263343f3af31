//! [`ProtocolStore`] for [`SqlDeviceStore`]: per-device sender-key status, LID↔PN
//! mappings, base keys, device lists, group metadata; the tc token and sent-message
//! methods delegate to `tc_tokens.rs`.
//!
//! The pending-inbound buffer of the inbound durability hook (see `inbound::durable`)
//! delegates to `pending_inbound.rs`.

use whatsapp_rust::async_trait;
use whatsapp_rust::wacore::store::traits::{
    DeviceListRecord, LidPnMappingEntry, PendingInboundKey, PendingInboundRow, ProtocolStore, TcTokenEntry,
};

use super::{IN_CHUNK, SqlDeviceStore, WaResult, col, db_err, placeholders, ser_err, text_col};

const LID_COLUMNS: &str = "lid, phone_number, created_at, updated_at, learning_source";

fn lid_from_row(row: &sqlx::any::AnyRow) -> WaResult<LidPnMappingEntry> {
    Ok(LidPnMappingEntry {
        lid: text_col(row, "lid")?,
        phone_number: text_col(row, "phone_number")?,
        created_at: col(row, "created_at")?,
        updated_at: col(row, "updated_at")?,
        learning_source: text_col(row, "learning_source")?,
    })
}

impl SqlDeviceStore {
    async fn put_lid_rows(&self, entries: &[LidPnMappingEntry]) -> WaResult<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let gate = self.writer()?;
        let mut tx = gate.begin().await.map_err(db_err)?;
        for e in entries {
            // seq: the phone's most recent LID is the one mapped last, as in InMemoryBackend.
            sqlx::query(&self.db.sql_string(format!(
                "INSERT INTO wa_lid_mappings (session_id, {LID_COLUMNS}, seq)
                 VALUES ($1, $2, $3, $4, $5, $6, (SELECT COALESCE(MAX(seq), 0) + 1 FROM wa_lid_mappings WHERE session_id = $7))
                 ON CONFLICT (session_id, lid) DO UPDATE SET phone_number = excluded.phone_number,
                     created_at = excluded.created_at, updated_at = excluded.updated_at,
                     learning_source = excluded.learning_source, seq = excluded.seq"
            )))
            .bind(&self.session)
            .bind(&e.lid)
            .bind(&e.phone_number)
            .bind(e.created_at)
            .bind(e.updated_at)
            .bind(&e.learning_source)
            .bind(&self.session)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn put_device_lists(&self, records: &[DeviceListRecord]) -> WaResult<()> {
        if records.is_empty() {
            return Ok(());
        }
        let gate = self.writer()?;
        let mut tx = gate.begin().await.map_err(db_err)?;
        for record in records {
            let json = serde_json::to_string(record).map_err(ser_err)?;
            sqlx::query(self.db.sql(
                "INSERT INTO wa_device_lists (session_id, user_id, record) VALUES ($1, $2, $3)
                 ON CONFLICT (session_id, user_id) DO UPDATE SET record = excluded.record",
            ))
            .bind(&self.session)
            .bind(&record.user)
            .bind(json)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn delete_where(&self, sql: &'static str, a: &str, b: Option<&str>) -> WaResult<()> {
        let mut query = sqlx::query(self.db.sql(sql)).bind(&self.session).bind(a);
        if let Some(b) = b {
            query = query.bind(b);
        }
        query.execute(&*self.writer()?).await.map_err(db_err)?;
        Ok(())
    }
}

#[async_trait]
impl ProtocolStore for SqlDeviceStore {
    async fn get_sender_key_devices(&self, group_jid: &str) -> WaResult<Vec<(String, bool)>> {
        let rows = sqlx::query(self.db.sql(
            "SELECT device_jid, has_key FROM wa_sender_key_devices WHERE session_id = $1 AND group_jid = $2
             ORDER BY device_jid",
        ))
        .bind(&self.session)
        .bind(group_jid)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        rows.iter().map(|r| Ok((text_col(r, "device_jid")?, col::<i64>(r, "has_key")? != 0))).collect()
    }

    async fn set_sender_key_status(&self, group_jid: &str, entries: &[(&str, bool)]) -> WaResult<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let gate = self.writer()?;
        let mut tx = gate.begin().await.map_err(db_err)?;
        for (device_jid, has_key) in entries {
            sqlx::query(self.db.sql(
                "INSERT INTO wa_sender_key_devices (session_id, group_jid, device_jid, has_key) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (session_id, group_jid, device_jid) DO UPDATE SET has_key = excluded.has_key",
            ))
            .bind(&self.session)
            .bind(group_jid)
            .bind(*device_jid)
            .bind(i64::from(*has_key))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn clear_sender_key_devices(&self, group_jid: &str) -> WaResult<()> {
        self.delete_where("DELETE FROM wa_sender_key_devices WHERE session_id = $1 AND group_jid = $2", group_jid, None)
            .await
    }

    async fn delete_sender_key_device_rows(&self, device_jids: &[&str]) -> WaResult<()> {
        if device_jids.is_empty() {
            return Ok(());
        }
        let gate = self.writer()?;
        let mut tx = gate.begin().await.map_err(db_err)?;
        for chunk in device_jids.chunks(IN_CHUNK) {
            let sql = self.db.sql_string(format!(
                "DELETE FROM wa_sender_key_devices WHERE session_id = $1 AND device_jid IN ({})",
                placeholders(2, chunk.len())
            ));
            let mut query = sqlx::query(&sql).bind(&self.session);
            for jid in chunk {
                query = query.bind(*jid);
            }
            query.execute(&mut *tx).await.map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn clear_all_sender_key_devices(&self) -> WaResult<()> {
        sqlx::query(self.db.sql("DELETE FROM wa_sender_key_devices WHERE session_id = $1"))
            .bind(&self.session)
            .execute(&*self.writer()?)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn get_lid_mapping(&self, lid: &str) -> WaResult<Option<LidPnMappingEntry>> {
        let row = sqlx::query(
            &self
                .db
                .sql_string(format!("SELECT {LID_COLUMNS} FROM wa_lid_mappings WHERE session_id = $1 AND lid = $2")),
        )
        .bind(&self.session)
        .bind(lid)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        row.as_ref().map(lid_from_row).transpose()
    }

    async fn get_pn_mapping(&self, phone: &str) -> WaResult<Option<LidPnMappingEntry>> {
        let row = sqlx::query(&self.db.sql_string(format!(
            "SELECT {LID_COLUMNS} FROM wa_lid_mappings WHERE session_id = $1 AND phone_number = $2
             ORDER BY seq DESC LIMIT 1"
        )))
        .bind(&self.session)
        .bind(phone)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        row.as_ref().map(lid_from_row).transpose()
    }

    async fn put_lid_mapping(&self, entry: &LidPnMappingEntry) -> WaResult<()> {
        self.put_lid_rows(std::slice::from_ref(entry)).await
    }

    async fn put_lid_mappings(&self, entries: &[LidPnMappingEntry]) -> WaResult<()> {
        self.put_lid_rows(entries).await
    }

    async fn get_all_lid_mappings(&self) -> WaResult<Vec<LidPnMappingEntry>> {
        let rows = sqlx::query(
            &self
                .db
                .sql_string(format!("SELECT {LID_COLUMNS} FROM wa_lid_mappings WHERE session_id = $1 ORDER BY lid")),
        )
        .bind(&self.session)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        rows.iter().map(lid_from_row).collect()
    }

    async fn save_base_key(&self, address: &str, message_id: &str, base_key: &[u8]) -> WaResult<()> {
        sqlx::query(self.db.sql(
            "INSERT INTO wa_base_keys (session_id, address, message_id, base_key) VALUES ($1, $2, $3, $4)
             ON CONFLICT (session_id, address, message_id) DO UPDATE SET base_key = excluded.base_key",
        ))
        .bind(&self.session)
        .bind(address)
        .bind(message_id)
        .bind(base_key)
        .execute(&*self.writer()?)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn has_same_base_key(&self, address: &str, message_id: &str, current_base_key: &[u8]) -> WaResult<bool> {
        let row = sqlx::query(
            self.db.sql("SELECT base_key FROM wa_base_keys WHERE session_id = $1 AND address = $2 AND message_id = $3"),
        )
        .bind(&self.session)
        .bind(address)
        .bind(message_id)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        let stored: Option<Vec<u8>> = row.map(|r| col(&r, "base_key")).transpose()?;
        Ok(stored.is_some_and(|s| s == current_base_key))
    }

    async fn delete_base_key(&self, address: &str, message_id: &str) -> WaResult<()> {
        self.delete_where(
            "DELETE FROM wa_base_keys WHERE session_id = $1 AND address = $2 AND message_id = $3",
            address,
            Some(message_id),
        )
        .await
    }

    async fn update_device_list(&self, record: DeviceListRecord) -> WaResult<()> {
        self.put_device_lists(std::slice::from_ref(&record)).await
    }

    async fn update_device_lists(&self, records: Vec<DeviceListRecord>) -> WaResult<()> {
        self.put_device_lists(&records).await
    }

    async fn get_devices(&self, user: &str) -> WaResult<Option<DeviceListRecord>> {
        let row = sqlx::query(self.db.sql("SELECT record FROM wa_device_lists WHERE session_id = $1 AND user_id = $2"))
            .bind(&self.session)
            .bind(user)
            .fetch_optional(self.pool())
            .await
            .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        serde_json::from_str(&text_col(&row, "record")?).map(Some).map_err(ser_err)
    }

    async fn delete_devices(&self, user: &str) -> WaResult<()> {
        self.delete_where("DELETE FROM wa_device_lists WHERE session_id = $1 AND user_id = $2", user, None).await
    }

    async fn get_group_metadata(&self, group_jid: &str) -> WaResult<Option<Vec<u8>>> {
        let row =
            sqlx::query(self.db.sql("SELECT data FROM wa_group_metadata WHERE session_id = $1 AND group_jid = $2"))
                .bind(&self.session)
                .bind(group_jid)
                .fetch_optional(self.pool())
                .await
                .map_err(db_err)?;
        row.map(|r| col(&r, "data")).transpose()
    }

    async fn put_group_metadata(&self, group_jid: &str, blob: &[u8]) -> WaResult<()> {
        sqlx::query(self.db.sql(
            "INSERT INTO wa_group_metadata (session_id, group_jid, data) VALUES ($1, $2, $3)
             ON CONFLICT (session_id, group_jid) DO UPDATE SET data = excluded.data",
        ))
        .bind(&self.session)
        .bind(group_jid)
        .bind(blob)
        .execute(&*self.writer()?)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn delete_group_metadata(&self, group_jid: &str) -> WaResult<()> {
        self.delete_where("DELETE FROM wa_group_metadata WHERE session_id = $1 AND group_jid = $2", group_jid, None)
            .await
    }

    async fn get_tc_token(&self, jid: &str) -> WaResult<Option<TcTokenEntry>> {
        self.tc_get(jid).await
    }

    async fn put_tc_token(&self, jid: &str, entry: &TcTokenEntry) -> WaResult<()> {
        self.tc_put(jid, entry).await
    }

    async fn delete_tc_token(&self, jid: &str) -> WaResult<()> {
        self.delete_where("DELETE FROM wa_tc_tokens WHERE session_id = $1 AND jid = $2", jid, None).await
    }

    async fn get_all_tc_token_jids(&self) -> WaResult<Vec<String>> {
        self.tc_all_jids().await
    }

    async fn delete_expired_tc_tokens(&self, token_cutoff: i64, sender_cutoff: i64) -> WaResult<u32> {
        self.tc_delete_expired(token_cutoff, sender_cutoff).await
    }

    async fn touch_tc_token_sender_timestamp(&self, jid: &str, sender_timestamp: i64) -> WaResult<()> {
        self.tc_touch_sender(jid, sender_timestamp).await
    }

    async fn store_received_tc_token(&self, jid: &str, token: &[u8], token_timestamp: i64) -> WaResult<()> {
        self.tc_store_received(jid, token, token_timestamp).await
    }

    async fn store_sent_message(&self, chat_jid: &str, message_id: &str, payload: &[u8]) -> WaResult<()> {
        self.sent_store(chat_jid, message_id, payload).await
    }

    async fn take_sent_message(&self, chat_jid: &str, message_id: &str) -> WaResult<Option<Vec<u8>>> {
        self.sent_take(chat_jid, message_id).await
    }

    async fn delete_expired_sent_messages(&self, cutoff_timestamp: i64) -> WaResult<u32> {
        self.sent_delete_expired(cutoff_timestamp).await
    }

    async fn store_pending_inbound(&self, chat: &str, sender: &str, id: &str, message: &[u8]) -> WaResult<()> {
        self.pending_store(&[PendingInboundRow { chat, sender, id, message }]).await
    }

    async fn get_pending_inbound(&self, chat: &str, sender: &str, id: &str) -> WaResult<Option<Vec<u8>>> {
        self.pending_get(chat, sender, id).await
    }

    async fn delete_pending_inbound(&self, chat: &str, sender: &str, id: &str) -> WaResult<()> {
        self.pending_delete(&[PendingInboundKey { chat, sender, id }]).await
    }

    async fn delete_expired_pending_inbound(&self, cutoff_timestamp: i64) -> WaResult<u32> {
        self.pending_delete_expired(cutoff_timestamp).await
    }

    async fn store_pending_inbound_batch(&self, rows: &[PendingInboundRow<'_>]) -> WaResult<()> {
        self.pending_store(rows).await
    }

    async fn delete_pending_inbound_batch(&self, keys: &[PendingInboundKey<'_>]) -> WaResult<()> {
        self.pending_delete(keys).await
    }
}
