//! One proxy address: parsed from a URL (`socks5://user:pass@host:port`, `http://…`) or
//! from WAHA's `{server, username, password}`, validated once, and shown only masked.
//! The password is a [`Secret`]: `Debug` and [`ProxySpec::masked`] never print it; only
//! [`ProxySpec::url_with_credentials`] does, for storing and for reqwest.

use std::fmt;

use crate::config::Secret;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    Socks5,
    /// HTTP CONNECT for the WebSocket; plain forward proxying for `http://` media.
    Http,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Socks5 => "socks5",
            Scheme::Http => "http",
        }
    }
}

#[derive(Clone)]
pub struct ProxySpec {
    pub scheme: Scheme,
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<Secret>,
}

/// Why a proxy setting was refused; the text names no secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SpecError(pub String);

fn bad(msg: impl Into<String>) -> SpecError {
    SpecError(msg.into())
}

/// Credentials and host names are short; a client must not make us store megabytes.
const MAX_PART: usize = 255;

impl ProxySpec {
    /// `scheme://[user[:pass]@]host:port[/]`. Schemes: `socks5`, `socks5h` (the same here:
    /// names are always resolved by the proxy), `http`. User and password may be
    /// percent-encoded.
    pub fn parse_url(raw: &str) -> Result<ProxySpec, SpecError> {
        let raw = raw.trim();
        if raw.len() > 2048 {
            return Err(bad("must be at most 2048 characters"));
        }
        let (scheme, rest) = raw.split_once("://").ok_or_else(|| bad("must be a URL like socks5://host:port"))?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "socks5" | "socks5h" => Scheme::Socks5,
            "http" => Scheme::Http,
            other => return Err(bad(format!("unsupported scheme {other:?}; use socks5:// or http://"))),
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#']) {
            return Err(bad("must have no path, query or fragment"));
        }
        let (creds, hostport) = match rest.rsplit_once('@') {
            Some((c, h)) => (Some(c), h),
            None => (None, rest),
        };
        let (username, password) = match creds {
            None => (None, None),
            Some(c) => {
                let (u, p) = c.split_once(':').map_or((c, None), |(u, p)| (u, Some(p)));
                (Some(decode(u)?), p.map(decode).transpose()?)
            }
        };
        let (host, port) = split_host_port(hostport)?;
        Self::build(scheme, host, port, username, password)
    }

    /// WAHA's shape: `server` is `host:port` or a URL (its scheme picks the protocol;
    /// plain `host:port` is HTTP, as in WAHA); explicit `username`/`password` win over
    /// credentials inside `server`.
    pub fn parse_parts(server: &str, username: Option<&str>, password: Option<&str>) -> Result<ProxySpec, SpecError> {
        let server = server.trim();
        let mut spec = if server.contains("://") {
            Self::parse_url(server)?
        } else {
            let (host, port) = split_host_port(server)?;
            Self::build(Scheme::Http, host, port, None, None)?
        };
        if let Some(u) = username.filter(|u| !u.is_empty()) {
            spec.username = Some(checked_part("username", u)?);
        }
        if let Some(p) = password.filter(|p| !p.is_empty()) {
            spec.password = Some(Secret::new(checked_part("password", p)?));
        }
        if spec.password.is_some() && spec.username.is_none() {
            return Err(bad("a password needs a username"));
        }
        Ok(spec)
    }

    fn build(
        scheme: Scheme,
        host: String,
        port: u16,
        username: Option<String>,
        password: Option<String>,
    ) -> Result<ProxySpec, SpecError> {
        let username = username.filter(|u| !u.is_empty()).map(|u| checked_part("username", &u)).transpose()?;
        let password = password.filter(|p| !p.is_empty()).map(|p| checked_part("password", &p)).transpose()?;
        if password.is_some() && username.is_none() {
            return Err(bad("a password needs a username"));
        }
        Ok(ProxySpec { scheme, host, port, username, password: password.map(Secret::new) })
    }

    /// `host:port`, brackets kept around IPv6 literals.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// For logs, errors and API answers: `socks5://user:***@host:port`.
    pub fn masked(&self) -> String {
        let creds = match (&self.username, &self.password) {
            (Some(u), Some(_)) => format!("{}:***@", encode(u)),
            (Some(u), None) => format!("{}@", encode(u)),
            _ => String::new(),
        };
        format!("{}://{creds}{}", self.scheme.as_str(), self.address())
    }

    /// The full URL, password included: only for the database and for reqwest.
    pub fn url_with_credentials(&self) -> String {
        let creds = match (&self.username, &self.password) {
            (Some(u), Some(p)) => format!("{}:{}@", encode(u), encode(p.expose())),
            (Some(u), None) => format!("{}@", encode(u)),
            _ => String::new(),
        };
        // `socks5h`: reqwest then lets the proxy resolve names, as the WebSocket dial does.
        let scheme = match self.scheme {
            Scheme::Socks5 => "socks5h",
            Scheme::Http => "http",
        };
        format!("{scheme}://{creds}{}", self.address())
    }

    /// Identity for pools and caches (includes the credentials, never shown).
    pub fn key(&self) -> String {
        self.url_with_credentials()
    }
}

impl fmt::Debug for ProxySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProxySpec({})", self.masked())
    }
}

impl PartialEq for ProxySpec {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

fn checked_part(what: &str, v: &str) -> Result<String, SpecError> {
    if v.len() > MAX_PART || v.chars().any(char::is_control) {
        return Err(bad(format!("{what} must be at most {MAX_PART} printable characters")));
    }
    Ok(v.to_string())
}

fn split_host_port(hostport: &str) -> Result<(String, u16), SpecError> {
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let (h, p) = rest.split_once(']').ok_or_else(|| bad("unclosed [ in the IPv6 address"))?;
        (h, p.strip_prefix(':'))
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    let port = port.ok_or_else(|| bad("must name a port, e.g. host:1080"))?;
    let port: u16 = port.parse().ok().filter(|p| *p != 0).ok_or_else(|| bad("port must be 1-65535"))?;
    let valid_host = !host.is_empty()
        && host.len() <= MAX_PART
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':'));
    if !valid_host {
        return Err(bad("host must be a name or an IP address"));
    }
    Ok((host.to_ascii_lowercase(), port))
}

fn decode(part: &str) -> Result<String, SpecError> {
    let bytes: Vec<u8> = percent_decode(part)?;
    String::from_utf8(bytes).map_err(|_| bad("credentials must be UTF-8"))
}

/// Percent-decoding only (a `+` stays a `+`, unlike form encoding).
fn percent_decode(s: &str) -> Result<Vec<u8>, SpecError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3).ok_or_else(|| bad("bad percent-encoding in the credentials"))?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| bad("bad percent-encoding in the credentials"))?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(out)
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_and_mask_their_password() {
        let s = ProxySpec::parse_url("socks5://al%40ice:p%3Ass@Proxy.example:1080").unwrap();
        assert_eq!((s.scheme, s.host.as_str(), s.port), (Scheme::Socks5, "proxy.example", 1080));
        assert_eq!(s.username.as_deref(), Some("al@ice"));
        assert_eq!(s.password.as_ref().map(Secret::expose), Some("p:ss"));
        assert_eq!(s.masked(), "socks5://al%40ice:***@proxy.example:1080");
        assert!(!format!("{s:?}").contains("p:ss") && !format!("{s:?}").contains("p%3Ass"));
        assert_eq!(s.url_with_credentials(), "socks5h://al%40ice:p%3Ass@proxy.example:1080");
        let h = ProxySpec::parse_url("http://[::1]:3128/").unwrap();
        assert_eq!((h.scheme, h.address()), (Scheme::Http, "[::1]:3128".to_string()));
    }

    #[test]
    fn bad_urls_are_refused_with_a_reason() {
        for (raw, why) in [
            ("ftp://h:1", "unsupported scheme"),
            ("https://h:1", "unsupported scheme"),
            ("h:1080", "must be a URL"),
            ("socks5://h", "port"),
            ("socks5://h:0", "port"),
            ("socks5://h:99999", "port"),
            ("socks5://:1080", "host"),
            ("socks5://h:1/path", "no path"),
            ("socks5://:pw@h:1", "needs a username"),
        ] {
            let e = ProxySpec::parse_url(raw).unwrap_err();
            assert!(e.0.contains(why), "{raw}: {e}");
        }
    }

    #[test]
    fn the_waha_shape_defaults_to_http_and_takes_explicit_credentials() {
        let s = ProxySpec::parse_parts("10.0.0.1:3128", Some("u"), Some("pw")).unwrap();
        assert_eq!(s.masked(), "http://u:***@10.0.0.1:3128");
        let s = ProxySpec::parse_parts("socks5://10.0.0.1:1080", None, None).unwrap();
        assert_eq!(s.masked(), "socks5://10.0.0.1:1080");
        assert!(ProxySpec::parse_parts("10.0.0.1:3128", None, Some("pw")).is_err());
    }
}
