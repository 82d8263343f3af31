//! Media: the `media_conn` IQ and an in-memory media host.
//!
//! Clients upload encrypted blobs over HTTP and send only their path and keys in
//! the message. The sandbox answers `media_conn` with one host: its own address
//! (`127.0.0.1:<port>`), where it serves the media routes over HTTPS and plain HTTP
//! (`server/http.rs`, `server/tls.rs`) for clients in other processes; uploads answer
//! with `https://<that address>/<direct path>` as the URL. Every sandbox client of
//! its own gets an `HttpClient` (`SandboxHttp`) serving the same routes from memory
//! for that host and for the older fake name `mmg.sandbox.invalid`: uploads
//! (`POST /mms/<type>/<token>`, resume probes answered "not found") and downloads
//! (`GET <direct_path>`); any other URL is refused. Blobs are
//! stored as uploaded (still encrypted); they live as long as the sandbox, or on
//! disk when it persists (`persist.rs`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::{Result, bail};
use wacore::net::{HttpClient, HttpRequest, HttpResponse};
use wacore_binary::Node;
use wacore_binary::builder::NodeBuilder;
use whatsapp_rust::async_trait;

use crate::nodes::iq_result;

/// The only media host sandbox clients are told about.
pub const MEDIA_HOST: &str = "mmg.sandbox.invalid";

/// Largest blob the media host accepts, so a client cannot exhaust memory or disk.
pub(crate) const MAX_BLOB_BYTES: usize = 64 * 1024 * 1024;

/// Test support: `GET <STREAM_PREFIX><n>` over the media host's real HTTP side answers
/// `n` bytes of filler, written as they are read (nothing is held in memory), for tests
/// of a client facing a CDN that sends far more than the message declared.
pub const STREAM_PREFIX: &str = "/v/t62.sandbox-stream/";

/// Uploaded blobs by direct path, shared by every client of one sandbox. A persistent
/// sandbox also writes each blob under `<data dir>/media/` (atomically, as it
/// arrives) and reads it back there after a restart.
#[derive(Default)]
pub(crate) struct MediaStore {
    blobs: Mutex<HashMap<String, Vec<u8>>>,
    dir: Option<PathBuf>,
    /// `127.0.0.1:<port>` once the listener is bound: the host named to clients.
    host: std::sync::OnceLock<String>,
    /// Bytes written so far by `STREAM_PREFIX` answers.
    pub(crate) streamed: std::sync::atomic::AtomicU64,
}

impl MediaStore {
    pub(crate) fn persistent(dir: PathBuf) -> Self {
        Self { blobs: Mutex::default(), dir: Some(dir), host: Default::default(), streamed: Default::default() }
    }

    /// Names the listener's address as the media host.
    pub(crate) fn set_host(&self, host: String) {
        let _ = self.host.set(host);
    }

    /// The media host clients are told about.
    pub(crate) fn host(&self) -> &str {
        self.host.get().map(String::as_str).unwrap_or(MEDIA_HOST)
    }

    pub(crate) fn put(&self, path: String, body: Vec<u8>) {
        if let Some(dir) = &self.dir
            && let Err(e) = crate::persist::write_atomic(&dir.join(blob_file(&path)), &body)
        {
            log::warn!("sandbox: cannot persist media blob: {e:#}");
        }
        self.blobs.lock().unwrap_or_else(|p| p.into_inner()).insert(path, body);
    }

    pub(crate) fn get(&self, path: &str) -> Option<Vec<u8>> {
        if let Some(b) = self.blobs.lock().unwrap_or_else(|p| p.into_inner()).get(path) {
            return Some(b.clone());
        }
        let body = std::fs::read(self.dir.as_ref()?.join(blob_file(path))).ok()?;
        self.blobs.lock().unwrap_or_else(|p| p.into_inner()).insert(path.to_string(), body.clone());
        Some(body)
    }

    /// Serves one media request: `path` and `query` as in the URL, on any host.
    pub(crate) fn handle(&self, method: &str, path: &str, query: &str, body: Option<Vec<u8>>) -> HttpResponse {
        match method {
            "POST" if path.starts_with("/mms/") => {
                if query.split('&').any(|kv| kv == "resume=1") {
                    // Never seen before: upload it.
                    return status(404, Vec::new());
                }
                let token = path.rsplit('/').next().unwrap_or_default();
                if token.is_empty() || !token.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_=%".contains(&b)) {
                    return status(400, Vec::new());
                }
                let direct_path = format!("/v/t62.sandbox/{token}");
                self.put(direct_path.clone(), body.unwrap_or_default());
                let host = self.host();
                let json = format!(r#"{{"url":"https://{host}{direct_path}","direct_path":"{direct_path}"}}"#);
                status(200, json.into_bytes())
            }
            "GET" => match self.get(path) {
                Some(body) => status(200, body),
                None => status(404, Vec::new()),
            },
            _ => status(405, Vec::new()),
        }
    }
}

/// A blob's file name: a digest of its direct path, so no path can escape the directory.
fn blob_file(path: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(path.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}.bin")
}

pub(crate) fn media_conn(store: &MediaStore, id: &str) -> Node {
    iq_result(
        id,
        vec![
            NodeBuilder::new("media_conn")
                .attr("auth", "sandbox-auth")
                .attr("ttl", "3600")
                .attr("auth_ttl", "3600")
                .attr("max_buckets", "12")
                .children([NodeBuilder::new("host").attr("hostname", store.host()).build()])
                .build(),
        ],
    )
}

/// The HTTP client every sandbox client uses: the fake media host, nothing else.
#[derive(Clone)]
pub struct SandboxHttp {
    store: Arc<MediaStore>,
}

impl SandboxHttp {
    pub(crate) fn new(store: Arc<MediaStore>) -> Self {
        Self { store }
    }
}

fn status(code: u16, body: Vec<u8>) -> HttpResponse {
    HttpResponse { status_code: code, body }
}

#[async_trait]
impl HttpClient for SandboxHttp {
    async fn execute(&self, request: HttpRequest) -> Result<HttpResponse> {
        let rest = request.url.strip_prefix("https://");
        let Some(rest) = rest.and_then(|r| r.strip_prefix(MEDIA_HOST).or_else(|| r.strip_prefix(self.store.host())))
        else {
            bail!("sandbox clients have no HTTP access ({})", request.url);
        };
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let body = request.body.map(|b| b.to_vec());
        if body.as_ref().is_some_and(|b| b.len() > MAX_BLOB_BYTES) {
            return Ok(status(413, Vec::new()));
        }
        Ok(self.store.handle(request.method.as_str(), path, query, body))
    }
}
