//! Each tenant's share of the runner (`WAREST_TENANT_SHARE_PERCENT`): of the runs executing
//! at once and of the runs waiting, one tenant may hold at most that share, so a tenant
//! whose receivers answer with long delays cannot keep every other tenant's actions waiting.
//! A run takes its tenant's permit before the runner's, so waiting over its share never
//! holds one of the runner's permits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;

use crate::webhooks::slots::share_of;

pub struct TenantShares {
    running: usize,
    pending: usize,
    inner: Mutex<HashMap<String, Entry>>,
}

struct Entry {
    pending: usize,
    running: Arc<Semaphore>,
}

/// A run counted against its tenant until dropped.
pub struct Held {
    shares: Arc<TenantShares>,
    registry: String,
    pub running: Arc<Semaphore>,
}

impl TenantShares {
    /// `concurrency` runs at once and `max_pending` waiting or running, in all.
    pub fn new(concurrency: usize, max_pending: usize, percent: u32) -> Self {
        TenantShares {
            running: share_of(concurrency, percent),
            pending: share_of(max_pending, percent),
            inner: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts one more run for `registry`; `None` when the tenant has its share pending.
    pub fn enter(self: &Arc<Self>, registry: &str) -> Option<Held> {
        let mut map = self.lock();
        let e = map
            .entry(registry.to_string())
            .or_insert_with(|| Entry { pending: 0, running: Arc::new(Semaphore::new(self.running)) });
        if e.pending >= self.pending {
            return None;
        }
        e.pending += 1;
        let running = e.running.clone();
        Some(Held { shares: self.clone(), registry: registry.to_string(), running })
    }

    pub fn pending_share(&self) -> usize {
        self.pending
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut map = self.shares.lock();
        if let Some(e) = map.get_mut(&self.registry) {
            e.pending -= 1;
            if e.pending == 0 {
                map.remove(&self.registry);
            }
        }
    }
}
