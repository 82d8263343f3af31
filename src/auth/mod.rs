//! Users, API keys and the docs login: generating and hashing secrets, seeding the admin,
//! and resolving a presented key or cookie to the [`Principal`] it speaks for.
//!
//! Keys are 256-bit random tokens, so a plain SHA-256 is a safe and fast lookup hash;
//! passwords are low-entropy and get argon2. Does not own rate limits or HTTP responses.

pub mod handover;
mod login_gate;
mod seed;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub use login_gate::{LoginError, LoginGate};
pub use seed::{SeedOutcome, seed_admin};

use crate::store::api_keys::{ApiKey, KeySource, NewApiKey};
use crate::store::users::User;
use crate::store::{Db, StoreResult};

/// Who a request acts for. `registry` is the tenant id that scopes every resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub registry: String,
    pub username: String,
    pub is_admin: bool,
    /// The key used, or `None` for a docs-cookie session.
    pub key_id: Option<String>,
}

impl Principal {
    pub fn from_user(user: &User, key_id: Option<String>) -> Self {
        Principal { registry: user.id.clone(), username: user.username.clone(), is_admin: user.is_admin, key_id }
    }
}

/// Prefix that makes WAREST keys recognisable to secret scanners and humans.
pub const KEY_PREFIX: &str = "wrst_";

fn random_b64(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// A fresh id with a type prefix, e.g. `usr_0193…`; time-ordered (UUIDv7) so lists sort.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

pub fn generate_api_key() -> String {
    format!("{KEY_PREFIX}{}", random_b64(32))
}

/// A random bearer token for the docs cookie.
pub fn generate_session_token() -> String {
    random_b64(32)
}

pub fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The part of a key that is safe to show in lists, so users can tell keys apart.
pub fn display_prefix(key: &str) -> String {
    key.chars().take(KEY_PREFIX.len() + 6).collect()
}

pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default params cannot fail on a valid salt")
        .to_string()
}

pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
        .unwrap_or(false)
}

/// Usernames: 2–64 of `[A-Za-z0-9._-]`, starting with a letter or digit.
pub fn validate_username(name: &str) -> Result<(), String> {
    let ok_len = (2..=64).contains(&name.len());
    let ok_chars = name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    let ok_start = name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    if ok_len && ok_chars && ok_start {
        Ok(())
    } else {
        Err("must be 2-64 characters of letters, digits, '.', '_' or '-', starting with a letter or digit".into())
    }
}

pub const MIN_PASSWORD_LEN: usize = 8;
pub const MAX_PASSWORD_LEN: usize = 256;

/// Creates a key for a user and returns it with the plaintext, which is never stored.
pub async fn issue_key(db: &Db, user_id: &str, name: &str, source: KeySource) -> StoreResult<(ApiKey, String)> {
    let plaintext = generate_api_key();
    let key = db
        .insert_api_key(NewApiKey {
            id: &new_id("key"),
            user_id,
            name,
            prefix: &display_prefix(&plaintext),
            key_hash: &sha256_hex(&plaintext),
            source,
        })
        .await?;
    Ok((key, plaintext))
}

/// Resolves a presented API key to its principal; `None` when unknown, revoked or disabled.
pub async fn authenticate_key(db: &Db, presented: &str) -> StoreResult<Option<Principal>> {
    if presented.is_empty() || presented.len() > 512 {
        return Ok(None);
    }
    let found = db.authenticate_key_hash(&sha256_hex(presented)).await?;
    Ok(found.map(|(key, user)| Principal::from_user(&user, Some(key.id))))
}

/// Whether `who` still speaks for the same user with the same rights: its key unrevoked
/// (when it has one) and its user enabled. Long-lived requests (the event stream) ask again
/// as they go, since the middleware only checked when they began.
pub async fn still_valid(db: &Db, who: &Principal) -> StoreResult<bool> {
    let user = match &who.key_id {
        Some(key_id) => db.live_key_owner(key_id).await?,
        None => match db.get_user(&who.registry).await {
            Ok(u) => Some(u).filter(|u| !u.disabled),
            Err(crate::store::StoreError::NotFound) => None,
            Err(e) => return Err(e),
        },
    };
    Ok(user.is_some_and(|u| u.id == who.registry && u.is_admin == who.is_admin))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_random_and_hash_stably() {
        let a = generate_api_key();
        let b = generate_api_key();
        assert!(a.starts_with(KEY_PREFIX) && a.len() == KEY_PREFIX.len() + 43);
        assert_ne!(a, b);
        assert_eq!(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(display_prefix(&a).len(), KEY_PREFIX.len() + 6);
    }

    #[test]
    fn passwords_verify_only_against_their_hash() {
        let h = hash_password("correct horse");
        assert!(h.starts_with("$argon2"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong horse", &h));
        assert!(!verify_password("correct horse", "not-a-hash"));
    }

    #[test]
    fn usernames_are_validated() {
        assert!(validate_username("alice.ops-1").is_ok());
        for bad in ["a", "-alice", "al ice", "al/ice", &"x".repeat(65)] {
            assert!(validate_username(bad).is_err(), "{bad} accepted");
        }
    }
}
