//! Media handed in by callers: a remote URL (fetched with a size and time limit behind an
//! SSRF guard), base64 or a `data:` URL (size-capped), and content sniffing so a file is
//! sent with the type its bytes say, not the one its name claims.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use base64::Engine;

#[derive(Debug, Clone, PartialEq)]
pub struct MediaLimits {
    pub max_bytes: usize,
    /// Off by default: a URL must not reach loopback, private or link-local addresses.
    pub allow_private: bool,
    pub timeout: Duration,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MediaError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("is larger than the {0} byte limit")]
    TooLarge(usize),
    #[error("could not be fetched: {0}")]
    Fetch(String),
}

/// Loaded media: its bytes and a mimetype (sniffed, else the declared one).
#[derive(Debug, Clone)]
pub struct Loaded {
    pub bytes: Vec<u8>,
    pub mimetype: Option<String>,
}

/// What [`load`] reads, as a JSON Schema pattern for the OpenAPI document: an http(s) URL,
/// a `data:<type>;base64,` URL or bare (padded) base64, surrounding spaces allowed.
/// Base64 is canonical: padding's unused bits are zero, as the decoder demands.
pub const SOURCE_PATTERN: &str = concat!(
    r"^\s*(?:https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:[/?#]\S*)?|(?:data:[A-Za-z0-9.+/-]*;base64,)?",
    r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{4}|[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=))\s*$"
);

/// Loads `source`: an http(s) URL, a `data:` URL, or bare base64.
pub async fn load(source: &str, limits: &MediaLimits) -> Result<Loaded, MediaError> {
    let source = source.trim();
    if source.starts_with("http://") || source.starts_with("https://") {
        return fetch(source, limits).await;
    }
    let (declared, b64) = match source.strip_prefix("data:") {
        Some(rest) => {
            let (meta, data) = rest.split_once(',').ok_or_else(|| MediaError::Invalid("malformed data: URL".into()))?;
            let mime =
                meta.strip_suffix(";base64").ok_or_else(|| MediaError::Invalid("data: URL must be base64".into()))?;
            (Some(mime.to_string()).filter(|m| !m.is_empty()), data)
        }
        None => (None, source),
    };
    // 4 base64 characters carry 3 bytes: refuse before decoding anything oversized.
    if b64.len() / 4 * 3 > limits.max_bytes + 3 {
        return Err(MediaError::TooLarge(limits.max_bytes));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.as_bytes())
        .map_err(|_| MediaError::Invalid("is neither an http(s) URL nor valid base64".into()))?;
    if bytes.is_empty() {
        return Err(MediaError::Invalid("is empty".into()));
    }
    if bytes.len() > limits.max_bytes {
        return Err(MediaError::TooLarge(limits.max_bytes));
    }
    let mimetype = sniff(&bytes).map(str::to_string).or(declared);
    Ok(Loaded { bytes, mimetype })
}

async fn fetch(raw: &str, limits: &MediaLimits) -> Result<Loaded, MediaError> {
    let url = reqwest::Url::parse(raw).map_err(|e| MediaError::Invalid(format!("is not a valid URL ({e})")))?;
    let host = url.host_str().ok_or_else(|| MediaError::Invalid("URL has no host".into()))?.to_string();
    let port = url.port_or_known_default().unwrap_or(443);
    let lookup_host = host.trim_start_matches('[').trim_end_matches(']').to_string();
    let addrs: Vec<SocketAddr> =
        tokio::time::timeout(limits.timeout, tokio::net::lookup_host((lookup_host.as_str(), port)))
            .await
            .map_err(|_| MediaError::Fetch("DNS lookup timed out".into()))?
            .map_err(|e| MediaError::Fetch(format!("cannot resolve {host}: {e}")))?
            .collect();
    let first = *addrs.first().ok_or_else(|| MediaError::Fetch(format!("{host} has no address")))?;
    if !limits.allow_private
        && let Some(bad) = addrs.iter().find(|a| is_internal(a.ip()))
    {
        return Err(MediaError::Forbidden(format!(
            "URL resolves to the internal address {} (set WAREST_ALLOW_PRIVATE_MEDIA_URLS=true to allow)",
            bad.ip()
        )));
    }
    // Pinned to the checked address, so a second DNS answer cannot point elsewhere, and no
    // redirects: a redirect could lead to an address that was never checked. No proxy from
    // the environment either (HTTP(S)_PROXY, ALL_PROXY): a proxy resolves the name again
    // itself and reaches whatever it likes.
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(limits.timeout)
        .resolve(&lookup_host, first)
        .build()
        .map_err(|e| MediaError::Fetch(e.to_string()))?;
    let mut res = client.get(url).send().await.map_err(|e| MediaError::Fetch(e.without_url().to_string()))?;
    if !res.status().is_success() {
        return Err(MediaError::Fetch(format!("the server answered {} (redirects are not followed)", res.status())));
    }
    if res.content_length().is_some_and(|n| n > limits.max_bytes as u64) {
        return Err(MediaError::TooLarge(limits.max_bytes));
    }
    let declared = res
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty());
    let mut bytes = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(|e| MediaError::Fetch(e.without_url().to_string()))? {
        if bytes.len() + chunk.len() > limits.max_bytes {
            return Err(MediaError::TooLarge(limits.max_bytes));
        }
        bytes.extend_from_slice(&chunk);
    }
    if bytes.is_empty() {
        return Err(MediaError::Fetch("the server sent an empty body".into()));
    }
    let mimetype = sniff(&bytes).map(str::to_string).or(declared);
    Ok(Loaded { bytes, mimetype })
}

/// Addresses a gateway-side fetch must not reach: loopback, private, link-local, CGNAT,
/// unspecified, multicast, broadcast, documentation and reserved ranges, site-local, and
/// the IPv6 prefixes that tunnel to IPv4 (NAT64, 6to4, Teredo).
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal_v4(v4);
            }
            let seg = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00 // unique local
                || (seg[0] & 0xffc0) == 0xfe80 // link-local
                || (seg[0] & 0xffc0) == 0xfec0 // site-local (deprecated, still routed internally)
                || (seg[0] == 0x2001 && seg[1] == 0x0db8) // documentation
                // Prefixes that carry an IPv4 address a gateway would reach for us: NAT64
                // (well-known and local-use), 6to4 and Teredo. Refused whole: the embedded
                // address is whatever the sender chose.
                || (seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0]) // 64:ff9b::/96
                || (seg[0] == 0x64 && seg[1] == 0xff9b && seg[2] == 1) // 64:ff9b:1::/48
                || seg[0] == 0x2002 // 6to4, 2002::/16
                || (seg[0] == 0x2001 && seg[1] == 0) // Teredo, 2001::/32
                || v6 == Ipv6Addr::from([0u16, 0, 0, 0, 0, 0xffff, 0, 0])
        }
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || o[0] == 0
        || (o[0] == 100 && (64..128).contains(&o[1])) // CGNAT
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments (DS-Lite, NAT64 discovery)
        || (o[0] == 198 && (o[1] == 18 || o[1] == 19)) // benchmarking
        || o[0] >= 240
}

/// The mimetype the first bytes identify, for the kinds WhatsApp distinguishes.
pub fn sniff(b: &[u8]) -> Option<&'static str> {
    let starts = |p: &[u8]| b.starts_with(p);
    Some(match () {
        _ if starts(&[0xFF, 0xD8, 0xFF]) => "image/jpeg",
        _ if starts(b"\x89PNG\r\n\x1a\n") => "image/png",
        _ if starts(b"GIF87a") || starts(b"GIF89a") => "image/gif",
        _ if b.len() >= 12 && &b[..4] == b"RIFF" && &b[8..12] == b"WEBP" => "image/webp",
        _ if starts(b"%PDF-") => "application/pdf",
        _ if starts(b"OggS") => "audio/ogg",
        _ if starts(b"ID3") => "audio/mpeg",
        _ if starts(b"fLaC") => "audio/flac",
        _ if starts(b"#!AMR") => "audio/amr",
        _ if b.len() >= 12 && &b[..4] == b"RIFF" && &b[8..12] == b"WAVE" => "audio/wav",
        // ADTS AAC and MPEG audio frames start with a sync word (a JPEG's FF D8 is not one).
        _ if b.len() >= 2 && b[0] == 0xFF && b[1] & 0xF6 == 0xF0 => "audio/aac",
        _ if b.len() >= 2 && b[0] == 0xFF && b[1] & 0xE0 == 0xE0 => "audio/mpeg",
        _ if b.len() >= 12 && &b[4..8] == b"ftyp" && &b[8..11] == b"M4A" => "audio/mp4",
        _ if b.len() >= 12 && &b[4..8] == b"ftyp" => "video/mp4",
        _ if starts(&[0x1A, 0x45, 0xDF, 0xA3]) => "video/webm",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_recognized() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn tunnelled_and_reserved_ranges_are_internal() {
        // Each can carry or route to an internal IPv4 address: NAT64 (64:ff9b::7f00:1 is
        // 127.0.0.1 through a NAT64 gateway), 6to4, Teredo; plus site-local and
        // 192.0.0.0/24 (IETF protocol assignments, e.g. DS-Lite's 192.0.0.1).
        for ip in [
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::a00:1",
            "2002:7f00:1::1",
            "2002:c0a8:101::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "fec0::1",
            "feff::1",
            "192.0.0.1",
            "192.0.0.170",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        // Neighbours that are public.
        for ip in ["2001:4860:4860::8888", "2003::1", "192.0.1.1", "64:ff9c::1"] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn sniffing_reads_magic_bytes() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"%PDF-1.7"), Some("application/pdf"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WAVEfmt "), Some("audio/wav"));
        assert_eq!(sniff(&[0xFF, 0xFB, 0x90, 0x00]), Some("audio/mpeg"));
        assert_eq!(sniff(&[0xFF, 0xF1, 0x50, 0x80]), Some("audio/aac"));
        assert_eq!(sniff(b"\0\0\0\x20ftypM4A \0\0"), Some("audio/mp4"));
        assert_eq!(sniff(b"hello"), None);
    }

    #[tokio::test]
    async fn base64_is_size_capped_and_private_urls_are_refused() {
        let limits = MediaLimits { max_bytes: 10, allow_private: false, timeout: Duration::from_secs(2) };
        let ok = load("data:text/plain;base64,aGVsbG8=", &limits).await.unwrap();
        assert_eq!((ok.bytes.as_slice(), ok.mimetype.as_deref()), (&b"hello"[..], Some("text/plain")));
        assert_eq!(load("aGVsbG8gd29ybGQgYmlnZ2Vy", &limits).await.unwrap_err(), MediaError::TooLarge(10));
        assert!(matches!(load("***", &limits).await, Err(MediaError::Invalid(_))));
        assert!(matches!(load("http://127.0.0.1:1/x.png", &limits).await, Err(MediaError::Forbidden(_))));
        assert!(matches!(load("http://[::1]:1/x.png", &limits).await, Err(MediaError::Forbidden(_))));
    }
}
