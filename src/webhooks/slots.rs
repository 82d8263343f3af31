//! The dispatcher's slots: at most `WAREST_WEBHOOK_CONCURRENCY` deliveries in flight on
//! this node, and at most a share of them (`WAREST_TENANT_SHARE_PERCENT`) for any one
//! tenant. A slot frees as soon as its delivery ends — no batch waits for its slowest
//! member — so a few hanging targets hold only their own slots, and one tenant's backlog
//! of hanging targets can never take the slots every other tenant's deliveries need.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

/// `percent` of `total`, rounded up, at least 1 (one tenant always gets something).
pub fn share_of(total: usize, percent: u32) -> usize {
    let total = total.max(1);
    (total * percent as usize).div_ceil(100).clamp(1, total)
}

pub struct Slots {
    total: Arc<Semaphore>,
    per_tenant: usize,
    busy: Mutex<HashMap<String, usize>>,
    /// Told whenever a slot frees, so the dispatcher claims again at once.
    pub freed: Notify,
}

/// One delivery's slot; freed when dropped.
pub struct Slot {
    slots: Arc<Slots>,
    registry: String,
    _permit: OwnedSemaphorePermit,
}

impl Slots {
    pub fn new(total: usize, share_percent: u32) -> Self {
        let total = total.max(1);
        let per_tenant = share_of(total, share_percent);
        Slots { total: Arc::new(Semaphore::new(total)), per_tenant, busy: Mutex::default(), freed: Notify::new() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        self.busy.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn free(&self) -> usize {
        self.total.available_permits()
    }

    /// Tenants holding their whole share: the next claim leaves their rows alone.
    pub fn saturated(&self) -> Vec<String> {
        self.lock().iter().filter(|(_, n)| **n >= self.per_tenant).map(|(r, _)| r.clone()).collect()
    }

    /// A slot for `registry`, or `None` when the node or the tenant has none free.
    pub fn take(self: &Arc<Self>, registry: &str) -> Option<Slot> {
        let mut busy = self.lock();
        if busy.get(registry).is_some_and(|n| *n >= self.per_tenant) {
            return None;
        }
        let permit = self.total.clone().try_acquire_owned().ok()?;
        *busy.entry(registry.to_string()).or_default() += 1;
        Some(Slot { slots: self.clone(), registry: registry.to_string(), _permit: permit })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut busy = self.slots.lock();
        if let Some(n) = busy.get_mut(&self.registry) {
            *n -= 1;
            if *n == 0 {
                busy.remove(&self.registry);
            }
        }
        drop(busy);
        self.slots.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_gets_its_share_and_others_the_rest() {
        let slots = Arc::new(Slots::new(4, 50));
        let a1 = slots.take("a").unwrap();
        let _a2 = slots.take("a").unwrap();
        assert!(slots.take("a").is_none(), "a holds its share");
        assert_eq!(slots.saturated(), vec!["a".to_string()]);
        let _b1 = slots.take("b").unwrap();
        let _b2 = slots.take("b").unwrap();
        assert!(slots.take("c").is_none(), "the node is full");
        drop(a1);
        assert!(slots.saturated().iter().all(|r| r != "a"));
        assert!(slots.take("c").is_some(), "a freed slot serves anyone");
    }

    #[test]
    fn the_share_rounds_up_and_never_reaches_zero() {
        assert_eq!(Slots::new(1, 10).per_tenant, 1);
        assert_eq!(Slots::new(32, 75).per_tenant, 24);
        assert_eq!(Slots::new(3, 50).per_tenant, 2);
        assert_eq!(Slots::new(8, 100).per_tenant, 8);
    }
}
