//! First-start seeding of the admin user and its key, idempotent on every later start.

use crate::config::Config;
use crate::store::api_keys::{KeySource, KeyState, NewApiKey};
use crate::store::users::{NewUser, User};
use crate::store::{Db, StoreResult};

use super::{display_prefix, hash_password, issue_key, new_id, sha256_hex, verify_password};

/// What seeding did. `generated_key` is the plaintext of a key generated now; the caller
/// prints it once (it cannot be recovered later).
#[derive(Debug)]
pub struct SeedOutcome {
    pub admin: User,
    pub generated_key: Option<String>,
}

pub async fn seed_admin(db: &Db, config: &Config) -> StoreResult<SeedOutcome> {
    let admin = match db.find_user_by_username(&config.admin_username).await? {
        Some(user) => user,
        None => {
            let hash = config.admin_password.as_ref().map(|p| hash_password(p.expose()));
            db.create_user(NewUser {
                id: &new_id("usr"),
                username: &config.admin_username,
                password_hash: hash.as_deref(),
                is_admin: true,
            })
            .await?
        }
    };
    sync_password(db, &admin, config).await?;

    let mut generated_key = None;
    match &config.admin_api_key {
        Some(key) => {
            // The env key is authoritative: add it if new, and retire a previous env key so
            // rotating WAREST_ADMIN_APIKEY really locks the old one out, and any generated
            // key (it stood in for the env key until one was set).
            let hash = sha256_hex(key.expose());
            match db.key_hash_state(&hash).await? {
                KeyState::Live => {}
                // Revoked through the API: the revocation holds (a revoked key must not
                // come back by a restart), and the start goes on; the operator sets a new key.
                KeyState::Revoked => tracing::warn!(
                    "WAREST_ADMIN_APIKEY was revoked through the API and stays revoked; set a new key to use one"
                ),
                KeyState::Unknown => {
                    db.insert_api_key(NewApiKey {
                        id: &new_id("key"),
                        user_id: &admin.id,
                        name: "WAREST_ADMIN_APIKEY",
                        prefix: &display_prefix(key.expose()),
                        key_hash: &hash,
                        source: KeySource::Env,
                    })
                    .await?;
                }
            }
            db.revoke_keys_of_source_except(&admin.id, KeySource::Env, &hash).await?;
            db.revoke_keys_of_source_except(&admin.id, KeySource::Generated, &hash).await?;
        }
        None => {
            // Generate only when the admin has no usable key at all, so a restart never
            // mints (and prints) a second one.
            if db.count_live_api_keys(&admin.id).await? == 0 {
                let (_, plaintext) = issue_key(db, &admin.id, "generated admin key", KeySource::Generated).await?;
                generated_key = Some(plaintext);
            }
        }
    }
    Ok(SeedOutcome { admin, generated_key })
}

/// Keeps the admin's password equal to WAREST_AUTHADMIN_PASSWORD across restarts, and
/// clears it when the variable is removed (password login off).
async fn sync_password(db: &Db, admin: &User, config: &Config) -> StoreResult<()> {
    let stored = db.user_password_hash(&admin.id).await?;
    match (&config.admin_password, stored) {
        (Some(p), Some(h)) if verify_password(p.expose(), &h) => Ok(()),
        (Some(p), _) => db.set_user_password_hash(&admin.id, Some(&hash_password(p.expose()))).await,
        (None, Some(_)) => db.set_user_password_hash(&admin.id, None).await,
        (None, None) => Ok(()),
    }
}
