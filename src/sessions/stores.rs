//! Where sessions keep their whatsapp-rust device state. Production uses the SQL device
//! store (one shared pool, one store per session); tests may use memory
//! (`testing::MemoryStores`, not in a production build).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use whatsapp_rust::wacore::store::traits::Backend;

use super::device_store::{SqlDeviceStore, WriteGate};

#[whatsapp_rust::async_trait]
pub trait DeviceStores: Send + Sync {
    /// The store of one session (created empty on first use).
    fn open(&self, session_id: &str) -> Arc<dyn Backend>;
    /// Deletes everything stored for the session.
    async fn wipe(&self, session_id: &str) -> anyhow::Result<()>;
}

/// The production store: every session's device state in the gateway's own database,
/// one pool shared by all sessions.
pub struct SqlStores {
    db: crate::store::Db,
    /// The write gate of each session's latest store: wiping closes it first, so a late
    /// write of the old client cannot bring rows back.
    open: Mutex<HashMap<String, WriteGate>>,
}

impl SqlStores {
    pub fn new(db: crate::store::Db) -> Self {
        SqlStores { db, open: Mutex::default() }
    }
}

#[whatsapp_rust::async_trait]
impl DeviceStores for SqlStores {
    fn open(&self, session_id: &str) -> Arc<dyn Backend> {
        let gate = WriteGate::default();
        let old = self.open.lock().unwrap_or_else(|e| e.into_inner()).insert(session_id.to_string(), gate.clone());
        if let Some(old) = old {
            // The actor opens a store only once the previous client has stopped; whatever
            // that client left running must not write next to the new one.
            tokio::spawn(async move { *old.write().await = true });
        }
        Arc::new(SqlDeviceStore::with_gate(self.db.clone(), session_id, gate))
    }

    async fn wipe(&self, session_id: &str) -> anyhow::Result<()> {
        let gate = self.open.lock().unwrap_or_else(|e| e.into_inner()).remove(session_id);
        if let Some(gate) = gate {
            *gate.write().await = true;
        }
        self.db.delete_session_device_rows(session_id).await?;
        Ok(())
    }
}
