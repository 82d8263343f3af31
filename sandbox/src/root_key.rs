//! The sandbox's root key: the one constant a WhatsApp Web client replaces to trust it.
//!
//! WhatsApp's Noise certificate chain ends in a fixed root public key that every client
//! ships (`WA_CERT_PUB_KEY` in whatsapp-rust, `WA_CERT_DETAILS.PUBLIC_KEY` in Baileys).
//! The sandbox signs its chain (`server/noise.rs`) with a key of its own instead. With a
//! data directory the key is kept there (`root-key.secret`, readable by the owner only;
//! `root-key.pub` holds the public half as hex, for clients and scripts to read), so it
//! stays the same across restarts and a configured client keeps working; without one,
//! each start makes a new key. This module only loads, makes and saves the key.

use std::path::Path;

use anyhow::{Context, Result, bail};
use wacore::libsignal::protocol::{KeyPair, PrivateKey};

pub(crate) const SECRET_FILE: &str = "root-key.secret";
pub(crate) const PUBLIC_FILE: &str = "root-key.pub";

/// A new random root key.
pub(crate) fn generate() -> KeyPair {
    KeyPair::generate(&mut rand::rng())
}

/// The key kept in `dir`, made and written there on first use.
pub(crate) fn load_or_create(dir: &Path) -> Result<KeyPair> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let secret = dir.join(SECRET_FILE);
    let pair = if secret.exists() {
        let text = std::fs::read_to_string(&secret).with_context(|| format!("cannot read {}", secret.display()))?;
        let bytes = hex_decode(text.trim()).with_context(|| format!("{} is not 64 hex digits", secret.display()))?;
        let private = PrivateKey::deserialize(&bytes).map_err(|e| anyhow::anyhow!("root key: {e}"))?;
        let public = private.public_key().map_err(|e| anyhow::anyhow!("root key: {e}"))?;
        KeyPair::new(public, private)
    } else {
        let pair = generate();
        write_private(&secret, &hex(&pair.private_key.serialize()[..]))?;
        pair
    };
    // Rewritten each start, so a deleted or edited public file cannot mislead a client.
    std::fs::write(dir.join(PUBLIC_FILE), format!("{}\n", hex(pair.public_key.public_key_bytes())))?;
    Ok(pair)
}

pub(crate) fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(format!("{text}\n").as_bytes())?;
    f.sync_all()?;
    Ok(())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex_decode(s: &str) -> Result<[u8; 32]> {
    if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("want 64 hex digits");
    }
    let mut out = [0u8; 32];
    for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
        out[i] = u8::from_str_radix(std::str::from_utf8(chunk)?, 16)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_key_comes_back_the_same() {
        let dir =
            std::env::temp_dir().join(format!("sandbox-root-key-{}-{}", std::process::id(), rand::random::<u32>()));
        let first = load_or_create(&dir).unwrap();
        let second = load_or_create(&dir).unwrap();
        assert_eq!(first.public_key.public_key_bytes(), second.public_key.public_key_bytes());
        let public = std::fs::read_to_string(dir.join(PUBLIC_FILE)).unwrap();
        assert_eq!(public.trim(), hex(first.public_key.public_key_bytes()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.join(SECRET_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "the secret is private");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
