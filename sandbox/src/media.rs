//! Media: the `media_conn` IQ and an in-memory media host.
//!
//! Clients upload encrypted blobs over HTTP and send only their path and keys in
//! the message. The sandbox answers `media_conn` with one fake host and gives
//! every sandbox client an `HttpClient` (`SandboxHttp`) that serves that host
//! from memory: uploads (`POST /mms/<type>/<token>`, resume probes answered
//! "not found") and downloads (`GET <direct_path>`). Nothing goes over a real
//! network; any other URL is refused. Blobs are stored as uploaded (still
//! encrypted) and live as long as the sandbox.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::{Result, bail};
use wacore::net::{HttpClient, HttpRequest, HttpResponse};
use wacore_binary::Node;
use wacore_binary::builder::NodeBuilder;
use whatsapp_rust::async_trait;

use crate::nodes::iq_result;

/// The only media host sandbox clients are told about.
pub const MEDIA_HOST: &str = "mmg.sandbox.invalid";

/// Uploaded blobs by direct path, shared by every client of one sandbox.
#[derive(Default)]
pub(crate) struct MediaStore(Mutex<HashMap<String, Vec<u8>>>);

impl MediaStore {
    fn put(&self, path: String, body: Vec<u8>) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).insert(path, body);
    }

    fn get(&self, path: &str) -> Option<Vec<u8>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).get(path).cloned()
    }
}

pub(crate) fn media_conn(id: &str) -> Node {
    iq_result(
        id,
        vec![
            NodeBuilder::new("media_conn")
                .attr("auth", "sandbox-auth")
                .attr("ttl", "3600")
                .attr("auth_ttl", "3600")
                .attr("max_buckets", "12")
                .children([NodeBuilder::new("host").attr("hostname", MEDIA_HOST).build()])
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
        let Some(rest) = request.url.strip_prefix("https://").and_then(|r| r.strip_prefix(MEDIA_HOST)) else {
            bail!("sandbox clients have no HTTP access ({})", request.url);
        };
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        match request.method.as_str() {
            "POST" if path.starts_with("/mms/") => {
                if query.split('&').any(|kv| kv == "resume=1") {
                    // Never seen before: upload it.
                    return Ok(status(404, Vec::new()));
                }
                let token = path.rsplit('/').next().unwrap_or_default();
                let direct_path = format!("/v/t62.sandbox/{token}");
                let body = request.body.map(|b| b.to_vec()).unwrap_or_default();
                self.store.put(direct_path.clone(), body);
                let json = format!(r#"{{"url":"https://{MEDIA_HOST}{direct_path}","direct_path":"{direct_path}"}}"#);
                Ok(status(200, json.into_bytes()))
            }
            "GET" => Ok(match self.store.get(path) {
                Some(body) => status(200, body),
                None => status(404, Vec::new()),
            }),
            _ => Ok(status(405, Vec::new())),
        }
    }
}
