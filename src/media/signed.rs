//! Signed media links: `?exp=<unix seconds>&sig=<hex HMAC-SHA256(secret, "<id>.<exp>")>`.
//! Pure functions, so the format is pinned by tests; the route only asks `verify`.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Why a link was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkError {
    Expired,
    BadSignature,
}

fn mac(secret: &str, id: &str, exp: i64) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    m.update(id.as_bytes());
    m.update(b".");
    m.update(exp.to_string().as_bytes());
    m
}

/// The hex signature of media `id` expiring at `exp`.
pub fn sign(secret: &str, id: &str, exp: i64) -> String {
    hex::encode(mac(secret, id, exp).finalize().into_bytes())
}

/// Checks a link at time `now` (unix seconds). The signature is checked first and in
/// constant time, so a forged link learns nothing from which check failed.
pub fn verify(secret: &str, id: &str, exp: i64, sig: &str, now: i64) -> Result<(), LinkError> {
    let bytes = hex::decode(sig).map_err(|_| LinkError::BadSignature)?;
    mac(secret, id, exp).verify_slice(&bytes).map_err(|_| LinkError::BadSignature)?;
    if now > exp { Err(LinkError::Expired) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_of_id_dot_exp() {
        // Golden vector: HMAC-SHA256(key="secret-key-0123456789", msg="abc.1700000000").
        let sig = sign("secret-key-0123456789", "abc", 1_700_000_000);
        let mut m = Hmac::<Sha256>::new_from_slice(b"secret-key-0123456789").unwrap();
        m.update(b"abc.1700000000");
        assert_eq!(sig, hex::encode(m.finalize().into_bytes()));
        assert_eq!(sig.len(), 64);
    }

    #[test]
    fn links_are_refused_when_expired_tampered_or_for_another_id() {
        let s = "secret-key-0123456789";
        let sig = sign(s, "m1", 100);
        assert_eq!(verify(s, "m1", 100, &sig, 100), Ok(()));
        assert_eq!(verify(s, "m1", 100, &sig, 101), Err(LinkError::Expired));
        assert_eq!(verify(s, "m2", 100, &sig, 50), Err(LinkError::BadSignature));
        assert_eq!(verify(s, "m1", 200, &sig, 50), Err(LinkError::BadSignature), "exp is signed");
        assert_eq!(verify("other-secret-000000", "m1", 100, &sig, 50), Err(LinkError::BadSignature));
        assert_eq!(verify(s, "m1", 100, "zz", 50), Err(LinkError::BadSignature));
    }
}
