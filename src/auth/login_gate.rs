//! Password sign-in: the bound on argon2 verifications running at once, and the same work
//! for every attempt whether or not the user exists.
//!
//! argon2 takes ~19 MiB and tens of milliseconds per verification by design, so without a
//! bound a burst of wrong passwords is a memory and CPU exhaustion attack. The bound is a
//! semaphore whose permit travels into the blocking task: a caller that disconnects drops
//! its request future but not the permit, so verifications still running count against it.
//! Attempts beyond the bound are refused, not queued: a queue would hold the same burst.
//! Counting attempts per client (before verifying) is the caller's job.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use tokio::sync::Semaphore;

use super::{Principal, hash_password, verify_password};
use crate::store::{Db, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// `WAREST_LOGIN_MAX_CONCURRENT` verifications are running.
    #[error("too many sign-ins are being checked at once; try again shortly")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct LoginGate {
    permits: Arc<Semaphore>,
    counters: Arc<Counters>,
}

#[derive(Default)]
struct Counters {
    in_flight: AtomicUsize,
    high_water: AtomicUsize,
    verifications: AtomicU64,
}

/// The hash unknown users are verified against: a random password, hashed once with the
/// same parameters as real ones, so the attempt costs the same.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&super::generate_session_token()))
}

impl LoginGate {
    pub fn new(max_concurrent: usize) -> Self {
        LoginGate { permits: Arc::new(Semaphore::new(max_concurrent)), counters: Arc::default() }
    }

    /// The principal `username` + `password` sign in as; `None` for a wrong password, an
    /// unknown, disabled or password-less user (each after one full verification).
    pub async fn check_password(
        &self,
        db: &Db,
        username: &str,
        password: &str,
    ) -> Result<Option<Principal>, LoginError> {
        // Refuse before any lookup: a full gate should not cost the database either.
        let permit = self.permits.clone().try_acquire_owned().map_err(|_| LoginError::Busy)?;
        let user = db.find_user_by_username(username).await?.filter(|u| !u.disabled);
        let hash = match &user {
            Some(u) => db.user_password_hash(&u.id).await?,
            None => None,
        };
        let real = hash.is_some();
        let (pw, counters) = (password.to_string(), self.counters.clone());
        let ok = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let now = counters.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            counters.high_water.fetch_max(now, Ordering::SeqCst);
            counters.verifications.fetch_add(1, Ordering::SeqCst);
            let ok = verify_password(&pw, hash.as_deref().unwrap_or_else(|| dummy_hash()));
            counters.in_flight.fetch_sub(1, Ordering::SeqCst);
            ok
        })
        .await
        .unwrap_or(false);
        Ok(user.filter(|_| ok && real).map(|u| Principal::from_user(&u, None)))
    }
}

/// What the tests read: how many verifications ran at most at once, and in all.
#[cfg(any(test, feature = "testing"))]
impl LoginGate {
    pub fn high_water(&self) -> usize {
        self.counters.high_water.load(Ordering::SeqCst)
    }

    pub fn verifications(&self) -> u64 {
        self.counters.verifications.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unknown_users_cost_one_verification_and_a_full_gate_refuses() {
        let t = crate::testing::TestDb::sqlite().await;
        let gate = LoginGate::new(1);
        assert!(gate.check_password(&t.db, "nobody", "whatever-password").await.unwrap().is_none());
        assert_eq!(gate.verifications(), 1);
        let _held = gate.permits.clone().try_acquire_owned().unwrap();
        assert!(matches!(gate.check_password(&t.db, "nobody", "x").await, Err(LoginError::Busy)));
        assert_eq!(gate.verifications(), 1, "a refused attempt reaches no argon2");
        t.cleanup().await;
    }
}
