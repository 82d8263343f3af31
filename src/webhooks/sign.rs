//! Webhook signatures, as pure functions with golden vectors.
//!
//! WAREST's own scheme (ARCHITECTURE.md): `X-WAREST-Signature: HMAC-SHA256=<hex>`, the hex
//! HMAC of the raw body with the key `secret + username`. The opt-in Standard Webhooks
//! scheme signs `"{id}.{timestamp}.{body}"` and sends `v1,<base64>`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use sha2::{Sha256, Sha384, Sha512};

use crate::config::SignatureAlg;

fn hmac_bytes(alg: SignatureAlg, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    // new_from_slice accepts keys of any length for HMAC; it cannot fail.
    macro_rules! run {
        ($h:ty) => {{
            let mut mac = <Hmac<$h>>::new_from_slice(key).expect("HMAC takes any key length");
            for p in parts {
                mac.update(p);
            }
            mac.finalize().into_bytes().to_vec()
        }};
    }
    match alg {
        SignatureAlg::Sha256 => run!(Sha256),
        SignatureAlg::Sha384 => run!(Sha384),
        SignatureAlg::Sha512 => run!(Sha512),
    }
}

/// The hex HMAC of `body` keyed with `secret + username`.
pub fn warest_hex(alg: SignatureAlg, secret: &str, username: &str, body: &[u8]) -> String {
    let key = format!("{secret}{username}");
    hex::encode(hmac_bytes(alg, key.as_bytes(), &[body]))
}

/// The `X-WAREST-Signature` header value: `HMAC-SHA256=<hex>`.
pub fn warest_header(alg: SignatureAlg, secret: &str, username: &str, body: &[u8]) -> String {
    format!("{}={}", alg.label(), warest_hex(alg, secret, username, body))
}

/// The Standard Webhooks `webhook-signature` value. A `whsec_`-prefixed secret is base64
/// (as Standard Webhooks issues them); any other secret is used as raw bytes.
pub fn standard_header(secret: &str, msg_id: &str, timestamp_secs: i64, body: &[u8]) -> String {
    let key = match secret.strip_prefix("whsec_").map(|b| B64.decode(b)) {
        Some(Ok(bytes)) => bytes,
        _ => secret.as_bytes().to_vec(),
    };
    let ts = timestamp_secs.to_string();
    let mac = hmac_bytes(SignatureAlg::Sha256, &key, &[msg_id.as_bytes(), b".", ts.as_bytes(), b".", body]);
    format!("v1,{}", B64.encode(mac))
}

/// Constant-time check of a WAREST signature header, for receivers written in Rust
/// (tests, the benchmark) and the preflight.
pub fn verify_warest(header: &str, secret: &str, username: &str, body: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    let Some((label, hex_sig)) = header.split_once('=') else { return false };
    let alg = match label {
        "HMAC-SHA256" => SignatureAlg::Sha256,
        "HMAC-SHA384" => SignatureAlg::Sha384,
        "HMAC-SHA512" => SignatureAlg::Sha512,
        _ => return false,
    };
    let expected = warest_hex(alg, secret, username, body);
    expected.as_bytes().ct_eq(hex_sig.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?". The key is
    // split into secret "Je" + username "fe" to pin the concatenation order.
    const DATA: &[u8] = b"what do ya want for nothing?";

    #[test]
    fn warest_signature_matches_rfc4231_vectors() {
        assert_eq!(
            warest_header(SignatureAlg::Sha256, "Je", "fe", DATA),
            "HMAC-SHA256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            warest_hex(SignatureAlg::Sha384, "Je", "fe", DATA),
            "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649"
        );
        assert_eq!(
            warest_hex(SignatureAlg::Sha512, "Je", "fe", DATA),
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
        );
    }

    #[test]
    fn verify_accepts_own_signature_and_rejects_tampering() {
        let h = warest_header(SignatureAlg::Sha512, "s3cret", "alice", b"{\"a\":1}");
        assert!(verify_warest(&h, "s3cret", "alice", b"{\"a\":1}"));
        assert!(!verify_warest(&h, "s3cret", "alice", b"{\"a\":2}"));
        assert!(!verify_warest(&h, "s3cret", "bob", b"{\"a\":1}"));
        assert!(!verify_warest("garbage", "s3cret", "alice", b"{\"a\":1}"));
    }

    #[test]
    fn standard_webhooks_signature_matches_the_spec_example() {
        // The example from the Standard Webhooks specification.
        let sig = standard_header(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
