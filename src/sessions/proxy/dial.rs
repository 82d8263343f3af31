//! Opening a TCP tunnel to `host:port` through a proxy: SOCKS5 (RFC 1928, with the
//! username/password method of RFC 1929 when credentials are set) or HTTP CONNECT (with
//! `Proxy-Authorization: Basic`). The target name is always sent to the proxy, never
//! resolved here, so DNS goes the proxy's way too. Errors say whether the proxy could not
//! be reached or refused, and never carry the password.

use std::time::Duration;

use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::spec::{ProxySpec, Scheme};

/// Connecting to the proxy and finishing its handshake; a stuck proxy must not hold the
/// client's reconnect loop.
pub const DIAL_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum DialError {
    /// No TCP connection to the proxy (refused, no route, timed out).
    #[error("proxy {proxy} unreachable: {why}")]
    Unreachable { proxy: String, why: String },
    /// The proxy answered but would not open the tunnel (auth failed, target refused).
    #[error("proxy {proxy} refused the connection: {why}")]
    Refused { proxy: String, why: String },
}

/// A TCP stream to `host:port`, tunnelled through `proxy`.
pub async fn dial(proxy: &ProxySpec, host: &str, port: u16) -> Result<TcpStream, DialError> {
    let shown = proxy.masked();
    let unreachable = |why: String| DialError::Unreachable { proxy: shown.clone(), why };
    let refused = |why: String| DialError::Refused { proxy: shown.clone(), why };
    let work = async {
        let mut stream =
            TcpStream::connect((proxy.host.as_str(), proxy.port)).await.map_err(|e| unreachable(e.to_string()))?;
        let _ = stream.set_nodelay(true);
        let res = match proxy.scheme {
            Scheme::Socks5 => socks5(&mut stream, proxy, host, port).await,
            Scheme::Http => connect(&mut stream, proxy, host, port).await,
        };
        match res {
            Ok(()) => Ok(stream),
            Err(Handshake::Io(e)) => Err(refused(format!("the handshake broke off ({e})"))),
            Err(Handshake::Said(why)) => Err(refused(why)),
        }
    };
    match tokio::time::timeout(DIAL_TIMEOUT, work).await {
        Ok(r) => r,
        Err(_) => Err(unreachable(format!("no answer within {}s", DIAL_TIMEOUT.as_secs()))),
    }
}

enum Handshake {
    Io(std::io::Error),
    /// What the proxy said, in words.
    Said(String),
}

impl From<std::io::Error> for Handshake {
    fn from(e: std::io::Error) -> Self {
        Handshake::Io(e)
    }
}

async fn socks5(s: &mut TcpStream, proxy: &ProxySpec, host: &str, port: u16) -> Result<(), Handshake> {
    let creds = proxy.username.as_deref().map(|u| (u, proxy.password.as_ref().map_or("", |p| p.expose())));
    // Offer only what we can do: no-auth, or username/password when we have them.
    let method: u8 = if creds.is_some() { 0x02 } else { 0x00 };
    s.write_all(&[0x05, 0x01, method]).await?;
    let mut reply = [0u8; 2];
    s.read_exact(&mut reply).await?;
    if reply[0] != 0x05 {
        return Err(Handshake::Said("not a SOCKS5 proxy".into()));
    }
    match (reply[1], creds) {
        (0x00, _) => {}
        (0x02, Some((user, pass))) => {
            if user.len() > 255 || pass.len() > 255 {
                return Err(Handshake::Said("credentials too long for SOCKS5".into()));
            }
            let mut auth = vec![0x01, user.len() as u8];
            auth.extend_from_slice(user.as_bytes());
            auth.push(pass.len() as u8);
            auth.extend_from_slice(pass.as_bytes());
            s.write_all(&auth).await?;
            let mut status = [0u8; 2];
            s.read_exact(&mut status).await?;
            if status[1] != 0x00 {
                return Err(Handshake::Said("authentication failed".into()));
            }
        }
        (0xff, None) => return Err(Handshake::Said("it requires authentication".into())),
        _ => return Err(Handshake::Said("no acceptable authentication method".into())),
    }
    if host.len() > 255 {
        return Err(Handshake::Said("target host name too long for SOCKS5".into()));
    }
    let mut req = vec![0x05, 0x01, 0x00];
    match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => {
            req.push(0x01);
            req.extend_from_slice(&ip.octets());
        }
        Ok(std::net::IpAddr::V6(ip)) => {
            req.push(0x04);
            req.extend_from_slice(&ip.octets());
        }
        Err(_) => {
            req.push(0x03);
            req.push(host.len() as u8);
            req.extend_from_slice(host.as_bytes());
        }
    }
    req.extend_from_slice(&port.to_be_bytes());
    s.write_all(&req).await?;
    let mut head = [0u8; 4];
    s.read_exact(&mut head).await?;
    if head[1] != 0x00 {
        return Err(Handshake::Said(socks_reply(head[1]).into()));
    }
    // Skip the bound address the proxy reports; we do not need it.
    let skip = match head[3] {
        0x01 => 4,
        0x04 => 16,
        0x03 => {
            let mut len = [0u8; 1];
            s.read_exact(&mut len).await?;
            usize::from(len[0])
        }
        _ => return Err(Handshake::Said("malformed SOCKS5 reply".into())),
    };
    let mut rest = vec![0u8; skip + 2];
    s.read_exact(&mut rest).await?;
    Ok(())
}

fn socks_reply(code: u8) -> &'static str {
    match code {
        0x01 => "general SOCKS server failure",
        0x02 => "connection not allowed by ruleset",
        0x03 => "network unreachable",
        0x04 => "host unreachable",
        0x05 => "connection refused by the target",
        0x06 => "TTL expired",
        0x07 => "command not supported",
        0x08 => "address type not supported",
        _ => "unknown SOCKS5 failure",
    }
}

async fn connect(s: &mut TcpStream, proxy: &ProxySpec, host: &str, port: u16) -> Result<(), Handshake> {
    let target = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
    let mut req = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some(user) = &proxy.username {
        let pass = proxy.password.as_ref().map_or("", |p| p.expose());
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        req.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await?;
    // Read the answer head byte-wise-buffered, but hand nothing past it to the caller:
    // the tunnel's first bytes (the WebSocket upgrade answer) come only after our request.
    let mut reader = BufReader::new(&mut *s);
    let mut status = String::new();
    reader.read_line(&mut status).await?;
    let code: u16 = status.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let mut total = status.len();
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line).await?;
        total += n;
        if n == 0 || line == "\r\n" || line == "\n" {
            break;
        }
        if total > 16 * 1024 {
            return Err(Handshake::Said("answer head too large".into()));
        }
    }
    if !reader.buffer().is_empty() {
        return Err(Handshake::Said("sent data before the tunnel opened".into()));
    }
    match code {
        200..=299 => Ok(()),
        407 => Err(Handshake::Said("authentication failed (407)".into())),
        0 => Err(Handshake::Said("not an HTTP proxy".into())),
        c => Err(Handshake::Said(format!("CONNECT answered {c}"))),
    }
}
