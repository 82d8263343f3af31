//! Plain HTTP on the sandbox's listener: which protocol a new connection speaks,
//! and the media host's upload and download routes for clients in other processes.
//!
//! The request line is peeked (not read), so a WebSocket upgrade or a connection
//! handed to the embedder's own HTTP server (`SandboxOptions::other_http`) still
//! sees the whole request. Media requests are parsed here: one request per
//! connection, `Content-Length` bodies only, size-limited, answered with
//! `Connection: close`.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::media::{MAX_BLOB_BYTES, MediaStore};

/// What a new connection is for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The WhatsApp WebSocket (anything that is neither of the others, as before
    /// the media routes existed).
    Chat,
    /// `POST /mms/...` or `GET /v/...`: the media host.
    Media,
    /// `/api/...`: the embedder's control API, when it gave one.
    Api,
}

/// Longest request head (request line and headers) the media routes accept.
const MAX_HEAD: usize = 16 * 1024;
/// How long a client may take to send its request line or head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) fn classify(request_line: &[u8]) -> Kind {
    let line = String::from_utf8_lossy(request_line);
    let mut parts = line.split(' ');
    let (method, target) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    match (method, target) {
        ("POST", t) if t.starts_with("/mms/") => Kind::Media,
        ("GET", t) if t.starts_with("/v/") => Kind::Media,
        (_, t) if t.starts_with("/api/") => Kind::Api,
        _ => Kind::Chat,
    }
}

/// Peeks until the request line is complete (or 256 bytes are in) and classifies it.
pub(crate) async fn peek_kind(tcp: &TcpStream) -> Result<Kind> {
    let mut buf = [0u8; 256];
    let deadline = tokio::time::Instant::now() + HEAD_TIMEOUT;
    loop {
        let n = tokio::time::timeout_at(deadline, tcp.peek(&mut buf)).await.context("no request line in time")??;
        if n == 0 {
            bail!("closed before a request line");
        }
        if let Some(end) = buf[..n].windows(2).position(|w| w == b"\r\n") {
            return Ok(classify(&buf[..end]));
        }
        if n == buf.len() {
            return Ok(classify(&buf));
        }
        // `peek` returns at once while the bytes it saw are unread; wait for more.
        if tokio::time::Instant::now() >= deadline {
            bail!("no request line in time");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Serves one media request on `tcp`, then closes it.
pub(crate) async fn serve_media(store: &MediaStore, mut tcp: TcpStream) -> Result<()> {
    let (code, body) = match tokio::time::timeout(HEAD_TIMEOUT, read_request(&mut tcp)).await {
        Err(_) => (408, Vec::new()),
        Ok(Err(RequestError::Status(code))) => (code, Vec::new()),
        Ok(Err(RequestError::Io(e))) => return Err(e),
        Ok(Ok(req)) => {
            let (path, query) = req.target.split_once('?').unwrap_or((req.target.as_str(), ""));
            let res = store.handle(&req.method, path, query, req.body);
            (res.status_code, res.body)
        }
    };
    let reason = match code {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Payload Too Large",
        _ => "Error",
    };
    let head = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
        body.len()
    );
    tcp.write_all(head.as_bytes()).await?;
    tcp.write_all(&body).await?;
    tcp.shutdown().await?;
    Ok(())
}

struct Request {
    method: String,
    target: String,
    body: Option<Vec<u8>>,
}

enum RequestError {
    /// Answer with this status.
    Status(u16),
    Io(anyhow::Error),
}

impl From<std::io::Error> for RequestError {
    fn from(e: std::io::Error) -> Self {
        RequestError::Io(e.into())
    }
}

async fn read_request(tcp: &mut TcpStream) -> Result<Request, RequestError> {
    let mut buf = Vec::with_capacity(1024);
    let head_len = loop {
        let mut chunk = [0u8; 4096];
        let n = tcp.read(&mut chunk).await?;
        if n == 0 {
            return Err(RequestError::Io(anyhow::anyhow!("closed mid-request")));
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        if buf.len() > MAX_HEAD {
            return Err(RequestError::Status(400));
        }
    };
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Request::new(&mut headers);
    if !matches!(parsed.parse(&buf[..head_len]), Ok(httparse::Status::Complete(_))) {
        return Err(RequestError::Status(400));
    }
    let method = parsed.method.unwrap_or_default().to_string();
    let target = parsed.path.unwrap_or_default().to_string();
    let header = |name: &str| {
        parsed.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| String::from_utf8_lossy(h.value))
    };
    if header("transfer-encoding").is_some() {
        // WhatsApp's media hosts take explicit lengths only, and so do we.
        return Err(RequestError::Status(411));
    }
    let length = match header("content-length") {
        None => None,
        Some(v) => Some(v.trim().parse::<usize>().map_err(|_| RequestError::Status(400))?),
    };
    let body = match length {
        None if method == "POST" => return Err(RequestError::Status(411)),
        None => None,
        Some(n) if n > MAX_BLOB_BYTES => return Err(RequestError::Status(413)),
        Some(n) => {
            let mut body = buf.split_off(head_len);
            if body.len() > n {
                return Err(RequestError::Status(400));
            }
            let have = body.len();
            body.resize(n, 0);
            tcp.read_exact(&mut body[have..]).await?;
            Some(body)
        }
    };
    Ok(Request { method, target, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines_pick_the_protocol() {
        assert_eq!(classify(b"GET /ws/chat HTTP/1.1"), Kind::Chat);
        assert_eq!(classify(b"POST /mms/image/abc?auth=x HTTP/1.1"), Kind::Media);
        assert_eq!(classify(b"GET /v/t62.sandbox/abc HTTP/1.1"), Kind::Media);
        assert_eq!(classify(b"GET /api/v1/sandbox/contacts HTTP/1.1"), Kind::Api);
        // A download is a GET; a POST to a download path is not media.
        assert_eq!(classify(b"POST /v/t62.sandbox/abc HTTP/1.1"), Kind::Chat);
    }
}
