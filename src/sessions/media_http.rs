//! whatsapp-rust's `HttpClient` on reqwest: what a session fetches and uploads media (and
//! the web version) with. The URLs it is handed can carry what a sender wrote into a
//! message (received media), so the client itself refuses what a media download must
//! never do: follow a redirect (to an address nobody checked), take a proxy from the
//! environment (which resolves names again), reach a loopback, private or otherwise
//! internal address on a direct route (`media::fetch::is_internal`, checked on the
//! addresses it connects to: names through its resolver, literals before the request),
//! or buffer a download whole (downloads are streamed to the caller's writer, which
//! applies the size cap while reading; other answers are capped here).
//!
//! Which hosts a received attachment may be fetched from is `media::received_source`'s
//! question; this module only guards the connection.

use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use whatsapp_rust::http::{HttpClient, HttpRequest, HttpResponse};
use whatsapp_rust::wacore::net::StreamingHttpResponse;

use super::proxy::ProxySpec;
use crate::media::fetch::is_internal;

/// Largest answer read whole (uploads' JSON, the web version's script): downloads stream.
const MAX_BUFFERED: usize = 16 * 1024 * 1024;

/// Non-2xx answers are returned, not errors: the media paths read 401/403/404/410 to
/// decide how to retry.
#[derive(Clone)]
pub struct ReqwestHttp {
    client: reqwest::Client,
    /// Checked against internal addresses before connecting (direct routes only: through
    /// a proxy, the proxy resolves and connects).
    guard: Option<Guard>,
}

/// The address check of a direct route, and the one authority it lets through: the
/// sandbox's own media host in sandbox builds (on 127.0.0.1), nothing in production.
#[derive(Clone, Default)]
struct Guard {
    trusted: Option<String>,
}

impl Guard {
    fn trusts(&self, url: &reqwest::Url) -> bool {
        let authority = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => return false,
        };
        self.trusted.as_deref() == Some(authority.as_str())
    }

    /// An IP literal never reaches the resolver: checked here.
    fn check(&self, url: &reqwest::Url) -> anyhow::Result<()> {
        if self.trusts(url) {
            return Ok(());
        }
        let host = url.host_str().ok_or_else(|| anyhow::anyhow!("the media URL has no host"))?;
        let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>() else {
            return Ok(()); // a name: the resolver checks what it resolves to
        };
        if is_internal(ip) {
            anyhow::bail!("refused to fetch media from the internal address {ip}");
        }
        Ok(())
    }
}

/// Resolves a name and refuses it when any address is internal; the connection then
/// uses exactly the addresses checked.
struct GuardedResolver {
    trusted_host: Option<String>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let trusted = self.trusted_host.as_deref() == Some(name.as_str());
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !trusted && let Some(bad) = addrs.iter().find(|a| is_internal(a.ip())) {
                let e = std::io::Error::other(format!("{host} resolves to the internal address {}", bad.ip()));
                return Err(Box::new(e) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

impl ReqwestHttp {
    fn builder() -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(15))
            .timeout(Duration::from_secs(300))
            .redirect(reqwest::redirect::Policy::none())
    }

    /// A direct client, behind the address guard.
    pub fn new() -> Self {
        Self::direct(Guard::default())
    }

    /// Sandbox builds: a direct client that also reaches the sandbox's media host at
    /// `authority` (`127.0.0.1:<port>`), which the guard would refuse.
    #[cfg(feature = "sandbox")]
    pub fn trusting(authority: &str) -> Self {
        Self::direct(Guard { trusted: Some(authority.to_string()) })
    }

    fn direct(guard: Guard) -> Self {
        let trusted_host = guard.trusted.as_deref().map(|a| a.rsplit_once(':').map_or(a, |(h, _)| h).to_string());
        let client = Self::builder()
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver { trusted_host }))
            .build()
            .expect("reqwest client with static settings");
        ReqwestHttp { client, guard: Some(guard) }
    }

    /// Every request through `proxy` (SOCKS5 or HTTP), and never directly: `no_proxy`
    /// rules of the environment do not apply to it.
    pub fn through(proxy: &ProxySpec) -> anyhow::Result<Self> {
        // The URL carries the credentials; reqwest's errors never print it back.
        let p = reqwest::Proxy::all(proxy.url_with_credentials())
            .map_err(|_| anyhow::anyhow!("proxy {} is not usable by the media client", proxy.masked()))?;
        let client = Self::builder()
            .no_proxy()
            .proxy(p)
            .build()
            .map_err(|_| anyhow::anyhow!("cannot build the media client for proxy {}", proxy.masked()))?;
        Ok(ReqwestHttp { client, guard: None })
    }

    async fn send(&self, request: HttpRequest) -> anyhow::Result<reqwest::Response> {
        let url = reqwest::Url::parse(&request.url).map_err(|e| anyhow::anyhow!("invalid media URL: {e}"))?;
        if let Some(g) = &self.guard {
            g.check(&url)?;
        }
        let method = reqwest::Method::from_bytes(request.method.as_bytes())?;
        let mut req = self.client.request(method, url);
        for (k, v) in &request.headers {
            req = req.header(k, v);
        }
        if let Some(body) = request.body {
            // An explicit length: WhatsApp's media hosts reject chunked uploads.
            req = req.header(reqwest::header::CONTENT_LENGTH, body.len()).body(body.to_vec());
        }
        // Without the URL: it can carry a media auth token.
        req.send().await.map_err(|e| anyhow::anyhow!("media request failed: {}", causes(e)))
    }
}

impl Default for ReqwestHttp {
    fn default() -> Self {
        Self::new()
    }
}

#[whatsapp_rust::async_trait]
impl HttpClient for ReqwestHttp {
    async fn execute(&self, request: HttpRequest) -> whatsapp_rust::anyhow::Result<HttpResponse> {
        let mut res = self.send(request).await?;
        let status_code = res.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) =
            res.chunk().await.map_err(|e| anyhow::anyhow!("media answer broke off: {}", e.without_url()))?
        {
            if body.len() + chunk.len() > MAX_BUFFERED {
                anyhow::bail!("the answer is larger than {MAX_BUFFERED} bytes");
            }
            body.extend_from_slice(&chunk);
        }
        Ok(HttpResponse { status_code, body })
    }

    fn supports_streaming(&self) -> bool {
        true
    }

    /// Called by whatsapp-rust on its blocking pool (a tokio `spawn_blocking` thread),
    /// where blocking on the runtime is allowed: the body is pulled chunk by chunk as
    /// the caller's writer takes it, so a download never sits in memory whole.
    fn execute_streaming(&self, request: HttpRequest) -> whatsapp_rust::anyhow::Result<StreamingHttpResponse> {
        let rt = tokio::runtime::Handle::try_current()
            .map_err(|_| anyhow::anyhow!("streaming media download outside the runtime"))?;
        let res = rt.block_on(self.send(request))?;
        let status_code = res.status().as_u16();
        Ok(StreamingHttpResponse { status_code, body: Box::new(BodyReader { rt, res, chunk: Default::default() }) })
    }
}

/// An error and its causes (the guard's refusal is a cause of reqwest's "error sending
/// request"), without the URL.
fn causes(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut out = e.to_string();
    let mut next = std::error::Error::source(&e);
    while let Some(cause) = next {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        next = cause.source();
    }
    out
}

/// A response body as `Read`, one network chunk at a time.
struct BodyReader {
    rt: tokio::runtime::Handle,
    res: reqwest::Response,
    chunk: axum::body::Bytes,
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            match self.rt.block_on(self.res.chunk()) {
                Ok(Some(c)) => self.chunk = c,
                Ok(None) => return Ok(0),
                Err(e) => return Err(std::io::Error::other(format!("media download broke off: {}", e.without_url()))),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers every request with `head` and counts connections.
    async fn server(head: String) -> (SocketAddr, Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = hits.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let head = head.clone();
                tokio::spawn(async move {
                    use tokio::io::{AsyncReadExt, AsyncWriteExt};
                    let mut buf = [0u8; 4096];
                    let _ = sock.read(&mut buf).await;
                    let _ = sock.write_all(head.as_bytes()).await;
                });
            }
        });
        (addr, hits)
    }

    #[tokio::test]
    async fn internal_addresses_are_refused_and_redirects_are_not_followed() {
        use std::sync::atomic::Ordering;
        let (trap, trapped) = server("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n".into()).await;
        let redirect = format!("HTTP/1.1 302 Found\r\nlocation: http://{trap}/x\r\ncontent-length: 0\r\n\r\n");
        let (origin, _) = server(redirect).await;

        let guarded = ReqwestHttp::new();
        for url in [format!("http://{trap}/x"), "http://[::1]:9/x".into(), "http://localhost:9/x".into()] {
            let err = guarded.execute(HttpRequest::get(&url)).await.unwrap_err();
            assert!(format!("{err:#}").contains("internal address"), "{url}: {err:#}");
        }
        // Only the trusted authority passes; its redirect is answered, not followed.
        #[cfg(feature = "sandbox")]
        {
            let trusting = ReqwestHttp::trusting(&origin.to_string());
            let res = trusting.execute(HttpRequest::get(format!("http://{origin}/v/x"))).await.unwrap();
            assert_eq!(res.status_code, 302);
        }
        let _ = origin;
        assert_eq!(trapped.load(Ordering::SeqCst), 0, "a refused or redirected request reached the trap");
    }
}
