//! Building a whatsapp-rust `Bot` for one session: its device store, the WebSocket
//! transport, an HTTP client on reqwest, the pinned web version, and an event handler
//! that forwards every event to the session's actor.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::sync::oneshot;
use whatsapp_rust::InboundDurabilityHook;
use whatsapp_rust::bot::{Bot, BotHandle};
use whatsapp_rust::client::Client;
use whatsapp_rust::http::{HttpClient, HttpRequest, HttpResponse};
use whatsapp_rust::transport::TokioWebSocketTransportFactory;
use whatsapp_rust::types::events::{Event, EventHandler, InboundMessage};
use whatsapp_rust::wacore::net::StreamingHttpResponse;
use whatsapp_rust::wacore::pair_code::PairCodeOptions;
use whatsapp_rust::wacore::store::traits::Backend;

use super::hooks::{DurableBatch, Forwarded};
pub use super::media_http::ReqwestHttp;
use super::proxy::http::RoutedHttp;
use super::proxy::transport::ProxyTransportFactory;
use super::proxy::{Notes, Route};

/// How sessions reach WhatsApp. `url` is `None` in production (WhatsApp's own endpoint);
/// sandbox builds point it at the simulated network.
#[derive(Clone, Default)]
pub struct WaOptions {
    pub url: Option<String>,
    /// Pinned WhatsApp Web version; `None` lets the client resolve it (an HTTP fetch).
    pub version: Option<(u32, u32, u32)>,
    /// Replaces the reqwest client for media and version fetches: the sandbox's media
    /// host is not a real address. `None` in production.
    pub http: Option<Arc<dyn HttpClient>>,
}

impl std::fmt::Debug for WaOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaOptions")
            .field("url", &self.url)
            .field("version", &self.version)
            .field("http", &self.http.as_ref().map(|_| "custom"))
            .finish()
    }
}

/// An `HttpClient` behind an `Arc`, for the builder, which takes one by value.
struct SharedHttp(Arc<dyn HttpClient>);

#[whatsapp_rust::async_trait]
impl HttpClient for SharedHttp {
    async fn execute(&self, request: HttpRequest) -> whatsapp_rust::anyhow::Result<HttpResponse> {
        self.0.execute(request).await
    }
    fn supports_streaming(&self) -> bool {
        self.0.supports_streaming()
    }
    fn execute_streaming(&self, request: HttpRequest) -> whatsapp_rust::anyhow::Result<StreamingHttpResponse> {
        self.0.execute_streaming(request)
    }
}

/// The media client when none was given: plain reqwest, except that a sandbox build
/// pointed at a sandbox (`WAREST_WA_URL`) reaches the sandbox's media host over plain
/// HTTP on the sandbox's own address.
fn default_http(opts: &WaOptions, route: &Route) -> Arc<dyn HttpClient> {
    #[cfg(feature = "sandbox")]
    if let Some(base) = opts.url.as_deref().and_then(sandbox_media::base_url) {
        // The sandbox's media host is on its own (loopback) address: the one internal
        // authority the guard lets through, as WhatsApp's hosts are in production.
        let inner: Arc<dyn HttpClient> = if route.is_direct() {
            Arc::new(ReqwestHttp::trusting(base.split_once("://").map_or("", |(_, a)| a)))
        } else {
            Arc::new(RoutedHttp::new(route.clone()))
        };
        return Arc::new(sandbox_media::Rewrite { inner, base });
    }
    let inner: Arc<dyn HttpClient> =
        if route.is_direct() { Arc::new(ReqwestHttp::new()) } else { Arc::new(RoutedHttp::new(route.clone())) };
    let _ = opts;
    inner
}

/// The pinned version; a sandbox build pointed at a sandbox pins the sandbox's, so it
/// never asks web.whatsapp.com.
fn version(opts: &WaOptions) -> Option<(u32, u32, u32)> {
    #[cfg(feature = "sandbox")]
    if opts.version.is_none() && opts.url.is_some() {
        return Some(warest_sandbox::CLIENT_VERSION);
    }
    opts.version
}

/// Sandbox builds only: the sandbox tells clients its media host is
/// `https://mmg.sandbox.invalid`, which is no real address; it serves the same routes
/// over plain HTTP next to its WebSocket. Production builds have none of this.
#[cfg(feature = "sandbox")]
mod sandbox_media {
    use super::*;

    /// `ws://host:port/ws/chat` → `http://host:port` (`wss` → `https`).
    pub fn base_url(ws_url: &str) -> Option<String> {
        let (scheme, rest) = match ws_url.split_once("://")? {
            ("ws", rest) => ("http", rest),
            ("wss", rest) => ("https", rest),
            _ => return None,
        };
        let authority = rest.split(['/', '?', '#']).next()?;
        (!authority.is_empty()).then(|| format!("{scheme}://{authority}"))
    }

    /// Sends requests for the sandbox media host to `base`; everything else as is.
    pub struct Rewrite {
        pub inner: Arc<dyn HttpClient>,
        pub base: String,
    }

    impl Rewrite {
        fn rewrite(&self, request: &mut HttpRequest) {
            // The media host is named by the sandbox's own address (HTTPS with the
            // sandbox's CA, which this client does not trust) or, by older sandboxes,
            // as `mmg.sandbox.invalid`: both go to its plain-HTTP side.
            let authority = self.base.split_once("://").map(|(_, a)| a).unwrap_or_default();
            for host in [warest_sandbox::MEDIA_HOST, authority] {
                if let Some(rest) = request.url.strip_prefix(&format!("https://{host}"))
                    && (rest.is_empty() || rest.starts_with(['/', '?']))
                {
                    request.url = format!("{}{rest}", self.base);
                    break;
                }
            }
        }
    }

    #[whatsapp_rust::async_trait]
    impl HttpClient for Rewrite {
        async fn execute(&self, mut request: HttpRequest) -> whatsapp_rust::anyhow::Result<HttpResponse> {
            self.rewrite(&mut request);
            self.inner.execute(request).await
        }
        fn supports_streaming(&self) -> bool {
            self.inner.supports_streaming()
        }
        fn execute_streaming(&self, mut request: HttpRequest) -> whatsapp_rust::anyhow::Result<StreamingHttpResponse> {
            self.rewrite(&mut request);
            self.inner.execute_streaming(request)
        }
    }

    #[cfg(test)]
    mod tests {
        use super::base_url;

        #[test]
        fn the_media_base_is_the_sandbox_address() {
            assert_eq!(base_url("ws://127.0.0.1:4100/ws/chat").as_deref(), Some("http://127.0.0.1:4100"));
            assert_eq!(base_url("wss://sbx.example:443/ws/chat").as_deref(), Some("https://sbx.example:443"));
            assert_eq!(base_url("ws://[::1]:9").as_deref(), Some("http://[::1]:9"));
            assert_eq!(base_url("http://127.0.0.1:1/"), None);
            assert_eq!(base_url("ws:///ws/chat"), None);
        }
    }
}

/// Forwards every client event to the actor. `handle_event` must not block, hence the
/// unbounded channel; the actor drains it continuously.
struct Forward(mpsc::UnboundedSender<Forwarded>);

impl EventHandler for Forward {
    fn handle_event(&self, event: Arc<Event>) {
        let _ = self.0.send(Forwarded::Event(event));
    }
}

/// The inbound durability hook: whatsapp-rust acks a decrypted message to WhatsApp only
/// after this returns `Ok`, i.e. after the inbound pipeline committed it. The batch rides
/// the event channel, so it is stored after every event the client emitted before it.
struct Durable(mpsc::UnboundedSender<Forwarded>);

#[whatsapp_rust::async_trait]
impl InboundDurabilityHook for Durable {
    async fn on_messages(&self, _client: Arc<Client>, batch: &[InboundMessage]) -> whatsapp_rust::anyhow::Result<()> {
        let (done, stored) = oneshot::channel();
        let batch = DurableBatch { messages: batch.into(), done };
        self.0.send(Forwarded::Commit(batch)).map_err(|_| whatsapp_rust::anyhow::anyhow!("session is stopping"))?;
        match stored.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(why)) => Err(whatsapp_rust::anyhow::anyhow!("inbound commit failed: {why}")),
            Err(_) => Err(whatsapp_rust::anyhow::anyhow!("the inbound pipeline stopped")),
        }
    }
}

/// How this client reaches WhatsApp: directly or through a proxy, whose outcomes go to
/// `notes` (the session's actor).
pub struct Net {
    pub route: Route,
    pub notes: Notes,
}

/// Builds and spawns a client for one session. The caller must have fully stopped any
/// previous client on the same store first. With `durable`, inbound messages are
/// acknowledged only once stored (see [`Durable`]).
pub async fn spawn_bot(
    backend: Arc<dyn Backend>,
    opts: &WaOptions,
    net: Net,
    events: mpsc::UnboundedSender<Forwarded>,
    pair_phone: Option<String>,
    durable: bool,
) -> anyhow::Result<BotHandle> {
    let http: Arc<dyn HttpClient> = match &opts.http {
        // A client given by the embedder (the sandbox's test client) has no proxy.
        Some(h) if net.route.is_direct() => h.clone(),
        _ => default_http(opts, &net.route),
    };
    let builder = Bot::builder().with_backend_arc(backend);
    let builder = if net.route.is_direct() {
        let mut transport = TokioWebSocketTransportFactory::new();
        if let Some(url) = &opts.url {
            transport = transport.with_url(url.clone());
        }
        builder.with_transport_factory(transport)
    } else {
        builder.with_transport_factory(ProxyTransportFactory::new(opts.url.clone(), net.route, net.notes))
    };
    let mut builder =
        builder.with_http_client(SharedHttp(http)).with_event_handler(Forward(events.clone())).skip_history_sync();
    if durable {
        builder = builder.with_inbound_durability_hook(Durable(events));
    }
    if let Some(v) = version(opts) {
        builder = builder.with_version(v);
    }
    if let Some(phone) = pair_phone {
        builder = builder.with_pair_code(PairCodeOptions { phone_number: phone, ..Default::default() });
    }
    let bot = builder.build().await.map_err(|e| anyhow::anyhow!("cannot build the WhatsApp client: {e}"))?;
    Ok(bot.spawn())
}
