//! Plain HTTP (and HTTPS, `tls.rs`) on the sandbox's listener: which protocol a new
//! connection speaks, and the media host's upload and download routes for clients in
//! other processes.
//!
//! A plain connection's first request line is peeked (not read), so a WebSocket upgrade
//! still sees the whole request. Every other connection is HTTP/1.1 with keep-alive,
//! routed *per request*: media routes are answered here, `/api/...` requests are
//! passed one at a time to the embedder's HTTP server (`SandboxOptions::other_http`)
//! over an in-process pipe, so a client that mixes both on one kept-alive connection
//! gets each to the right place. Bodies come with `Content-Length` or chunked, at most
//! `MAX_BLOB_BYTES`; heads at most 16 KiB; an idle connection is closed after a while.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::media::{MAX_BLOB_BYTES, MediaStore};

/// What a new plain connection is for.
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

/// One `/api/...` request handed to the embedder: the request arrives on `io` with
/// `Connection: close`, and the embedder's answer is read back from it.
pub struct HandedRequest {
    pub io: tokio::io::DuplexStream,
    pub peer: SocketAddr,
}

/// Longest request head (request line and headers) accepted.
const MAX_HEAD: usize = 16 * 1024;
/// How long a client may take to send its request line or head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a kept-alive connection may sit idle between requests.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the embedder may take to answer one `/api` request.
const API_TIMEOUT: Duration = Duration::from_secs(120);

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

/// What the first bytes of a connection say: TLS (`None`) or a plain request line.
pub(crate) async fn peek_kind(tcp: &TcpStream) -> Result<Option<Kind>> {
    let mut buf = [0u8; 256];
    let deadline = tokio::time::Instant::now() + HEAD_TIMEOUT;
    loop {
        let n = tokio::time::timeout_at(deadline, tcp.peek(&mut buf)).await.context("no request line in time")??;
        if n == 0 {
            bail!("closed before a request line");
        }
        if buf[0] == 0x16 {
            return Ok(None); // a TLS handshake record: HTTPS to the media host
        }
        if let Some(end) = buf[..n].windows(2).position(|w| w == b"\r\n") {
            return Ok(Some(classify(&buf[..end])));
        }
        if n == buf.len() {
            return Ok(Some(classify(&buf)));
        }
        // `peek` returns at once while the bytes it saw are unread; wait for more.
        if tokio::time::Instant::now() >= deadline {
            bail!("no request line in time");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

struct Request {
    method: String,
    target: String,
    /// Header lines as sent, minus the ones that frame the message.
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
    close: bool,
}

/// Serves HTTP requests on one connection until the client closes it or goes idle.
pub(crate) async fn serve<S>(
    store: &MediaStore,
    api: Option<&mpsc::Sender<HandedRequest>>,
    peer: SocketAddr,
    mut io: S,
) -> Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut buf = Vec::new();
    loop {
        let req = match tokio::time::timeout(IDLE_TIMEOUT, read_request(&mut io, &mut buf)).await {
            Err(_) => return Ok(()),
            Ok(Ok(None)) => return Ok(()),
            Ok(Ok(Some(req))) => req,
            Ok(Err(RequestError::Status(code))) => {
                respond(&mut io, code, b"", true).await?;
                return Ok(());
            }
            Ok(Err(RequestError::Io(e))) => return Err(e),
        };
        let line = format!("{} {}", req.method, req.target);
        match (classify(line.as_bytes()), api) {
            (Kind::Api, Some(api)) => {
                forward(api, peer, &req, &mut io).await?;
                // The embedder's answer ends its pipe (`Connection: close`): so does this one.
                return Ok(());
            }
            (Kind::Media, _)
                if req.method == "GET"
                    && let Some(len) = stream_len(&req.target) =>
            {
                stream(store, &mut io, len).await?;
                return Ok(());
            }
            (Kind::Media, _) => {
                let (path, query) = req.target.split_once('?').unwrap_or((req.target.as_str(), ""));
                let body = (req.method == "POST").then_some(req.body);
                let res = store.handle(&req.method, path, query, body);
                respond(&mut io, res.status_code, &res.body, req.close).await?;
            }
            _ => respond(&mut io, 404, b"", req.close).await?,
        }
        if req.close {
            return Ok(());
        }
    }
}

/// The length asked for by a `STREAM_PREFIX` target (its query ignored).
fn stream_len(target: &str) -> Option<u64> {
    let path = target.split('?').next()?;
    path.strip_prefix(crate::media::STREAM_PREFIX)?.parse().ok()
}

/// Test support: `len` bytes of filler, counted as they are written, then the
/// connection closes. A client that stops reading ends it early.
async fn stream<S: AsyncWrite + Unpin>(store: &MediaStore, io: &mut S, len: u64) -> Result<()> {
    use std::sync::atomic::Ordering;
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n"
    );
    io.write_all(head.as_bytes()).await?;
    let chunk = vec![0x5Au8; 64 * 1024];
    let mut left = len;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        if io.write_all(&chunk[..n]).await.is_err() {
            return Ok(()); // the client hung up: what a capped download does
        }
        store.streamed.fetch_add(n as u64, Ordering::Relaxed);
        left -= n as u64;
    }
    let _ = io.shutdown().await;
    Ok(())
}

async fn respond<S: AsyncWrite + Unpin>(io: &mut S, code: u16, body: &[u8], close: bool) -> Result<()> {
    let reason = match code {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        502 => "Bad Gateway",
        _ => "Error",
    };
    let kind = if body.first() == Some(&b'{') { "application/json" } else { "application/octet-stream" };
    let connection = if close { "close" } else { "keep-alive" };
    let head = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Length: {}\r\nContent-Type: {kind}\r\nConnection: {connection}\r\n\r\n",
        body.len()
    );
    io.write_all(head.as_bytes()).await?;
    io.write_all(body).await?;
    io.flush().await?;
    if close {
        let _ = io.shutdown().await;
    }
    Ok(())
}

/// Hands one request to the embedder and copies its whole answer back.
async fn forward<S: AsyncWrite + Unpin>(
    api: &mpsc::Sender<HandedRequest>,
    peer: SocketAddr,
    req: &Request,
    client: &mut S,
) -> Result<()> {
    let (mut ours, theirs) = tokio::io::duplex(64 * 1024);
    if api.send(HandedRequest { io: theirs, peer }).await.is_err() {
        return respond(client, 502, b"", true).await;
    }
    let mut head = format!("{} {} HTTP/1.1\r\n", req.method, req.target).into_bytes();
    for (name, value) in &req.headers {
        head.extend_from_slice(name.as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value);
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(format!("Content-Length: {}\r\nConnection: close\r\n\r\n", req.body.len()).as_bytes());
    let exchange = async {
        ours.write_all(&head).await?;
        ours.write_all(&req.body).await?;
        let mut answer = Vec::new();
        (&mut ours).take(MAX_BLOB_BYTES as u64 + MAX_HEAD as u64).read_to_end(&mut answer).await?;
        anyhow::Ok(answer)
    };
    match tokio::time::timeout(API_TIMEOUT, exchange).await {
        Ok(Ok(answer)) if !answer.is_empty() => {
            client.write_all(&answer).await?;
            client.flush().await?;
            let _ = client.shutdown().await;
            Ok(())
        }
        _ => respond(client, 502, b"", true).await,
    }
}

enum RequestError {
    /// Answer with this status and close.
    Status(u16),
    Io(anyhow::Error),
}

impl From<std::io::Error> for RequestError {
    fn from(e: std::io::Error) -> Self {
        RequestError::Io(e.into())
    }
}

/// Reads more bytes into `buf`; false at end of stream.
async fn fill<S: AsyncRead + Unpin>(io: &mut S, buf: &mut Vec<u8>) -> Result<bool, RequestError> {
    let mut chunk = [0u8; 16 * 1024];
    let n = io.read(&mut chunk).await?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n > 0)
}

/// The next request on the connection (`None`: closed cleanly between requests).
/// Bytes after it (a pipelined request) stay in `buf`.
async fn read_request<S: AsyncRead + Unpin>(io: &mut S, buf: &mut Vec<u8>) -> Result<Option<Request>, RequestError> {
    let head_len = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        if buf.len() > MAX_HEAD {
            return Err(RequestError::Status(400));
        }
        let more = match tokio::time::timeout(HEAD_TIMEOUT, fill(io, buf)).await {
            Err(_) if buf.is_empty() => return Ok(None),
            Err(_) => return Err(RequestError::Status(408)),
            Ok(r) => r?,
        };
        if !more {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Err(RequestError::Io(anyhow::anyhow!("closed mid-request")))
            };
        }
    };
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Request::new(&mut headers);
    if !matches!(parsed.parse(&buf[..head_len]), Ok(httparse::Status::Complete(_))) {
        return Err(RequestError::Status(400));
    }
    let method = parsed.method.unwrap_or_default().to_string();
    let target = parsed.path.unwrap_or_default().to_string();
    let version_11 = parsed.version == Some(1);
    let header = |name: &str| {
        parsed.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| String::from_utf8_lossy(h.value))
    };
    let chunked = header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let length = match header("content-length") {
        Some(v) if !chunked => Some(v.trim().parse::<usize>().map_err(|_| RequestError::Status(400))?),
        _ => None,
    };
    let close = header("connection").map(|v| v.to_ascii_lowercase());
    let close = match close.as_deref() {
        Some(v) if v.contains("close") => true,
        Some(v) if v.contains("keep-alive") => false,
        _ => !version_11,
    };
    const FRAMING: [&str; 4] = ["content-length", "transfer-encoding", "connection", "keep-alive"];
    let kept: Vec<(String, Vec<u8>)> = parsed
        .headers
        .iter()
        .filter(|h| !FRAMING.iter().any(|f| h.name.eq_ignore_ascii_case(f)))
        .map(|h| (h.name.to_string(), h.value.to_vec()))
        .collect();
    buf.drain(..head_len);

    let body = if chunked {
        read_chunked(io, buf).await?
    } else {
        let n = length.unwrap_or(0);
        if n > MAX_BLOB_BYTES {
            return Err(RequestError::Status(413));
        }
        while buf.len() < n {
            if !fill(io, buf).await? {
                return Err(RequestError::Io(anyhow::anyhow!("closed mid-body")));
            }
        }
        buf.drain(..n).collect()
    };
    Ok(Some(Request { method, target, headers: kept, body, close }))
}

/// A `Transfer-Encoding: chunked` body (what uploads without a known length send).
async fn read_chunked<S: AsyncRead + Unpin>(io: &mut S, buf: &mut Vec<u8>) -> Result<Vec<u8>, RequestError> {
    let mut body = Vec::new();
    loop {
        let line_end = loop {
            if let Some(end) = buf.windows(2).position(|w| w == b"\r\n") {
                break end;
            }
            if buf.len() > MAX_HEAD || !fill(io, buf).await? {
                return Err(RequestError::Status(400));
            }
        };
        let line = String::from_utf8_lossy(&buf[..line_end]).to_string();
        let size = usize::from_str_radix(line.split(';').next().unwrap_or_default().trim(), 16)
            .map_err(|_| RequestError::Status(400))?;
        buf.drain(..line_end + 2);
        if size == 0 {
            // Trailers (none expected) up to the empty line.
            loop {
                if let Some(end) = buf.windows(2).position(|w| w == b"\r\n") {
                    buf.drain(..end + 2);
                    if end == 0 {
                        return Ok(body);
                    }
                    continue;
                }
                if buf.len() > MAX_HEAD || !fill(io, buf).await? {
                    return Err(RequestError::Status(400));
                }
            }
        }
        if body.len() + size > MAX_BLOB_BYTES {
            return Err(RequestError::Status(413));
        }
        while buf.len() < size + 2 {
            if !fill(io, buf).await? {
                return Err(RequestError::Status(400));
            }
        }
        body.extend_from_slice(&buf[..size]);
        buf.drain(..size + 2);
    }
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

    #[tokio::test]
    async fn chunked_uploads_and_kept_alive_requests_are_each_answered() {
        let store = MediaStore::default();
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let task = tokio::spawn(async move { serve(&store, None, peer, server).await });
        client
            .write_all(
                b"POST /mms/image/tok123 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
                  3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n\
                  GET /v/t62.sandbox/tok123 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            )
            .await
            .unwrap();
        let mut answer = String::new();
        client.read_to_string(&mut answer).await.unwrap();
        task.await.unwrap().unwrap();
        let replies: Vec<&str> = answer.split("HTTP/1.1 ").filter(|s| !s.is_empty()).collect();
        assert_eq!(replies.len(), 2, "{answer}");
        assert!(replies[0].starts_with("200") && replies[0].contains("direct_path"), "{answer}");
        assert!(replies[1].starts_with("200") && replies[1].ends_with("\r\n\r\nabcde"), "{answer}");
    }
}
