//! The cap on open streams per API key (`WAREST_SSE_MAX_PER_KEY`): each stream holds a
//! [`Slot`] that frees its place when the stream is dropped, however it ends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub struct Slots {
    open: Mutex<HashMap<String, usize>>,
}

/// One open stream's place under its key's cap.
pub struct Slot {
    slots: Arc<Slots>,
    bucket: String,
}

impl Slots {
    /// A place for one more stream of `bucket`, unless `max` are open.
    pub fn take(self: &Arc<Self>, bucket: &str, max: usize) -> Option<Slot> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(bucket.to_string()).or_default();
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(Slot { slots: self.clone(), bucket: bucket.to_string() })
    }

    /// Streams open now, over all keys.
    pub fn total(&self) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).values().sum()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.bucket) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.bucket);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_max_places_and_a_dropped_slot_frees_one() {
        let slots = Arc::new(Slots::default());
        let a = slots.take("k1", 2).unwrap();
        let _b = slots.take("k1", 2).unwrap();
        assert!(slots.take("k1", 2).is_none());
        let _other = slots.take("k2", 2).unwrap();
        assert_eq!(slots.total(), 3);
        drop(a);
        assert!(slots.take("k1", 2).is_some());
        assert_eq!(slots.total(), 2);
    }
}
