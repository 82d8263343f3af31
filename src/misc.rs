//! Pure helpers behind `/api/v1/misc/*`: UUID and ULID generation and inspection,
//! lenient base64 decoding, QR codes as SVG. No I/O, so each is tested with fixed vectors.

use base64::Engine;
use rand::RngCore;
use sha2::Digest;
use uuid::{Builder, Uuid};

/// Crockford's base32 alphabet, as ULIDs use it.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Ulid,
    V1,
    V3(Uuid, String),
    V4,
    V5(Uuid, String),
    V7,
    Nil,
}

/// What `/misc/uuid/generate` was asked for, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct IdSpec {
    kind: Kind,
    mask: Option<String>,
}

fn namespace(raw: &str) -> Option<Uuid> {
    match raw.to_ascii_lowercase().as_str() {
        "dns" => Some(Uuid::NAMESPACE_DNS),
        "url" => Some(Uuid::NAMESPACE_URL),
        "oid" => Some(Uuid::NAMESPACE_OID),
        "x500" => Some(Uuid::NAMESPACE_X500),
        other => Uuid::parse_str(other).ok(),
    }
}

impl IdSpec {
    /// Errors are `(field, problem)`.
    pub fn parse(
        kind: Option<&str>,
        version: Option<&str>,
        ns: Option<&str>,
        name: Option<&str>,
        mask: Option<&str>,
    ) -> Result<IdSpec, (&'static str, String)> {
        let named = |v: &str| -> Result<(Uuid, String), (&'static str, String)> {
            let ns = ns.ok_or(("namespace", format!("is required for {v}")))?;
            let ns = namespace(ns).ok_or(("namespace", "must be a UUID or dns, url, oid, x500".into()))?;
            let name = name.ok_or(("name", format!("is required for {v}")))?;
            if name.len() > 4096 {
                return Err(("name", "must be at most 4096 bytes".into()));
            }
            Ok((ns, name.to_string()))
        };
        let kind = match kind.unwrap_or("uuid") {
            "ulid" => {
                if version.is_some() {
                    return Err(("version", "does not apply to ulid".into()));
                }
                Kind::Ulid
            }
            "uuid" => match version.unwrap_or("v4") {
                "v1" => Kind::V1,
                "v3" => named("v3").map(|(n, s)| Kind::V3(n, s))?,
                "v4" => Kind::V4,
                "v5" => named("v5").map(|(n, s)| Kind::V5(n, s))?,
                "v7" => Kind::V7,
                "nil" => Kind::Nil,
                other => return Err(("version", format!("{other:?} must be v1, v3, v4, v5, v7 or nil"))),
            },
            other => return Err(("type", format!("{other:?} must be uuid or ulid"))),
        };
        if let Some(m) = mask {
            let slots = m.chars().filter(|c| *c == 'x' || *c == 'X').count();
            if slots == 0 || slots > 32 || m.len() > 128 {
                return Err(("format", "must hold 1-32 'x' placeholders (at most 128 characters)".into()));
            }
        }
        Ok(IdSpec { kind, mask: mask.map(str::to_string) })
    }

    pub fn generate(&self) -> String {
        let id = match &self.kind {
            Kind::Ulid => ulid(chrono::Utc::now().timestamp_millis() as u64, rand::random()),
            Kind::V1 => v1().hyphenated().to_string(),
            Kind::V3(ns, name) => v3(ns, name).hyphenated().to_string(),
            Kind::V4 => Uuid::new_v4().hyphenated().to_string(),
            Kind::V5(ns, name) => v5(ns, name).hyphenated().to_string(),
            Kind::V7 => Uuid::now_v7().hyphenated().to_string(),
            Kind::Nil => Uuid::nil().hyphenated().to_string(),
        };
        match &self.mask {
            Some(m) => apply_mask(m, &id),
            None => id,
        }
    }
}

/// Each `x` of the mask takes the next character of the id (hyphens skipped).
fn apply_mask(mask: &str, id: &str) -> String {
    let mut chars = id.chars().filter(|c| *c != '-');
    mask.chars().map(|c| if c == 'x' || c == 'X' { chars.next().unwrap_or('0') } else { c }).collect()
}

pub fn v3(ns: &Uuid, name: &str) -> Uuid {
    let mut h = md5::Md5::new();
    h.update(ns.as_bytes());
    h.update(name.as_bytes());
    Builder::from_md5_bytes(h.finalize().into()).into_uuid()
}

pub fn v5(ns: &Uuid, name: &str) -> Uuid {
    let mut h = sha1::Sha1::new();
    h.update(ns.as_bytes());
    h.update(name.as_bytes());
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    Builder::from_sha1_bytes(b).into_uuid()
}

/// A time-based UUID with a random node id (multicast bit set, as RFC 4122 says for
/// nodes that are not a MAC address) and a random clock sequence.
fn v1() -> Uuid {
    // 100 ns ticks since 1582-10-15.
    const GREGORIAN_OFFSET: u64 = 0x01B2_1DD2_1381_4000;
    let now = chrono::Utc::now();
    let ticks = GREGORIAN_OFFSET + now.timestamp() as u64 * 10_000_000 + u64::from(now.timestamp_subsec_nanos()) / 100;
    let mut node = [0u8; 6];
    rand::thread_rng().fill_bytes(&mut node);
    node[0] |= 0x01;
    Builder::from_gregorian_timestamp(ticks, rand::random::<u16>() & 0x3FFF, &node).into_uuid()
}

/// A ULID: 48-bit millisecond timestamp and 80 random bits, Crockford base32.
pub fn ulid(millis: u64, random: u128) -> String {
    let value: u128 = (u128::from(millis & 0xFFFF_FFFF_FFFF) << 80) | (random & ((1u128 << 80) - 1));
    (0..26).rev().map(|i| CROCKFORD[((value >> (i * 5)) & 0x1F) as usize] as char).collect()
}

fn is_ulid(s: &str) -> bool {
    // The first character carries only 3 bits (128 bits in 26 characters).
    s.len() == 26 && s.as_bytes()[0] <= b'7' && s.bytes().all(|b| CROCKFORD.contains(&b.to_ascii_uppercase()))
}

/// `(isValid, type, version)` of a string, optionally only as `want` (`uuid`/`ulid`).
pub fn inspect(value: &str, want: Option<&str>) -> (bool, Option<&'static str>, Option<String>) {
    let v = value.trim();
    if want != Some("ulid")
        && let Ok(u) = Uuid::try_parse(v)
    {
        let version = if u.is_nil() { "nil".to_string() } else { format!("v{}", u.get_version_num()) };
        return (true, Some("uuid"), Some(version));
    }
    if want != Some("uuid") && is_ulid(v) {
        return (true, Some("ulid"), None);
    }
    (false, None, None)
}

/// Base64 in any common spelling: standard or URL-safe alphabet, padded or not,
/// with line breaks.
pub fn decode_base64(input: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let clean: String = input.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let trimmed = clean.trim_end_matches('=');
    STANDARD_NO_PAD.decode(trimmed).ok().or_else(|| URL_SAFE_NO_PAD.decode(trimmed).ok())
}

/// A QR code as a standalone SVG document (one path, 4-module quiet zone).
pub fn qr_svg(text: &str) -> Option<String> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M).ok()?;
    let n = code.width();
    let side = n + 8;
    let mut path = String::new();
    for (i, c) in code.to_colors().iter().enumerate() {
        if *c == qrcode::Color::Dark {
            path.push_str(&format!("M{} {}h1v1h-1z", i % n + 4, i / n + 4));
        }
    }
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {side} {side}\" shape-rendering=\"crispEdges\">\
         <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><path fill=\"#000\" d=\"{path}\"/></svg>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v3_and_v5_match_rfc_vectors() {
        // RFC 4122 / Python's uuid module: uuid3(NAMESPACE_DNS, "python.org") etc.
        assert_eq!(v3(&Uuid::NAMESPACE_DNS, "python.org").to_string(), "6fa459ea-ee8a-3ca4-894e-db77e160355e");
        assert_eq!(v5(&Uuid::NAMESPACE_DNS, "python.org").to_string(), "886313e1-3b8a-5372-9b90-0c9aee199e5d");
    }

    #[test]
    fn ulid_encodes_time_first_and_validates() {
        assert_eq!(ulid(0, 0), "00000000000000000000000000");
        let a = ulid(1_700_000_000_000, u128::MAX);
        assert_eq!(a.len(), 26);
        assert!(a.starts_with("01HF"), "{a}");
        assert!(ulid(1, 0) < ulid(2, 0));
        assert_eq!(inspect(&a, None), (true, Some("ulid"), None));
        assert!(!inspect("80000000000000000000000000", None).0, "overflows 128 bits");
    }

    #[test]
    fn inspect_reports_uuid_versions() {
        assert_eq!(inspect("f47ac10b-58cc-4372-a567-0e02b2c3d479", None), (true, Some("uuid"), Some("v4".into())));
        assert_eq!(inspect("00000000-0000-0000-0000-000000000000", None).2.as_deref(), Some("nil"));
        assert!(!inspect("f47ac10b-58cc-4372-a567-0e02b2c3d479", Some("ulid")).0);
        assert_eq!(inspect("nope", None), (false, None, None));
        let v1 = v1();
        assert_eq!(v1.get_version_num(), 1);
    }

    #[test]
    fn masks_and_spec_errors() {
        assert_eq!(apply_mask("xxxx-xx", "f47ac10b-58cc"), "f47a-c1");
        assert_eq!(IdSpec::parse(None, Some("v3"), None, None, None).unwrap_err().0, "namespace");
        assert_eq!(IdSpec::parse(None, Some("v5"), Some("dns"), None, None).unwrap_err().0, "name");
        assert_eq!(IdSpec::parse(Some("x"), None, None, None, None).unwrap_err().0, "type");
        assert_eq!(IdSpec::parse(None, None, None, None, Some("----")).unwrap_err().0, "format");
        let s = IdSpec::parse(None, Some("v5"), Some("dns"), Some("python.org"), None).unwrap();
        assert_eq!(s.generate(), "886313e1-3b8a-5372-9b90-0c9aee199e5d");
    }

    #[test]
    fn base64_is_decoded_leniently() {
        assert_eq!(decode_base64("SGVsbG8=").unwrap(), b"Hello");
        assert_eq!(decode_base64("SGVsbG8").unwrap(), b"Hello");
        assert_eq!(decode_base64("-_8").unwrap(), vec![0xfb, 0xff]);
        assert!(decode_base64("not base64!").is_none());
    }

    #[test]
    fn svg_qr_is_a_document() {
        let svg = qr_svg("hello").unwrap();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>") && svg.contains("h1v1"));
    }
}
