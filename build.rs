//! Rebuilds the crate when a migration is added or changed: `sqlx::migrate!` embeds the
//! files under `migrations/` at compile time, and cargo watches them only when told to.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
