//! [`DeviceStore`] for [`SqlDeviceStore`]: the session's own WhatsApp device (keys,
//! JIDs, counters), one JSON row per session.

use whatsapp_rust::async_trait;
use whatsapp_rust::wacore::stats::StorageResourceReport;
use whatsapp_rust::wacore::store::Device;
use whatsapp_rust::wacore::store::traits::DeviceStore;

use super::{SqlDeviceStore, WaResult, col, db_err, ser_err, text_col};

/// The device id `create` reports. whatsapp-rust's own stores keep many devices in one
/// database and number them; here the session id already scopes every row, so each
/// store holds exactly one device and the number carries no information.
pub const DEVICE_ID: i32 = 1;

impl SqlDeviceStore {
    async fn insert_device(&self, device: &Device, overwrite: bool) -> WaResult<()> {
        let json = serde_json::to_string(device).map_err(ser_err)?;
        let sql = if overwrite {
            self.db.sql(
                "INSERT INTO wa_devices (session_id, data) VALUES ($1, $2)
                 ON CONFLICT (session_id) DO UPDATE SET data = excluded.data",
            )
        } else {
            self.db.sql("INSERT INTO wa_devices (session_id, data) VALUES ($1, $2) ON CONFLICT (session_id) DO NOTHING")
        };
        sqlx::query(sql).bind(&self.session).bind(json).execute(&*self.writer()?).await.map_err(db_err)?;
        Ok(())
    }
}

#[async_trait]
impl DeviceStore for SqlDeviceStore {
    async fn save(&self, device: &Device) -> WaResult<()> {
        self.insert_device(device, true).await
    }

    async fn load(&self) -> WaResult<Option<Device>> {
        let row = sqlx::query(self.db.sql("SELECT data FROM wa_devices WHERE session_id = $1"))
            .bind(&self.session)
            .fetch_optional(self.pool())
            .await
            .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        serde_json::from_str(&text_col(&row, "data")?).map(Some).map_err(ser_err)
    }

    async fn exists(&self) -> WaResult<bool> {
        let row = sqlx::query(self.db.sql("SELECT COUNT(*) AS n FROM wa_devices WHERE session_id = $1"))
            .bind(&self.session)
            .fetch_one(self.pool())
            .await
            .map_err(db_err)?;
        Ok(col::<i64>(&row, "n")? > 0)
    }

    /// Like InMemoryBackend, materializes a fresh device (new keys) so `exists()` is true
    /// afterwards; an existing device is never replaced.
    async fn create(&self) -> WaResult<i32> {
        self.insert_device(&Device::new(), false).await?;
        Ok(DEVICE_ID)
    }

    /// Rows live in the shared database, not in memory attributable to this session.
    async fn resource_report(&self) -> StorageResourceReport {
        StorageResourceReport { memory_bytes: Some(0), ..StorageResourceReport::default() }
    }
}
