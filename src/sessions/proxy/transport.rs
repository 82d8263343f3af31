//! whatsapp-rust's `TransportFactory` through a proxy: the tunnel (SOCKS5 or HTTP
//! CONNECT), then TLS for `wss://` (the tokio transport's own default connector, so
//! certificate checks are the same as without a proxy), then the WebSocket upgrade with
//! WhatsApp Web's `Origin`, ending in the transport crate's public `from_websocket`.
//!
//! The proxy is asked of the [`Route`] on every dial, so a pool can move a session to
//! another proxy between two reconnect attempts; each outcome is reported back to it and
//! to the session's actor (which shows a failure as `lastError`).

use std::sync::Arc;

use whatsapp_rust::async_channel;
use whatsapp_rust::transport::{Transport, TransportEvent, TransportFactory, default_tls_connector, from_websocket};
use whatsapp_rust::wacore::net::{WHATSAPP_WEB_ORIGIN, WHATSAPP_WEB_WS_URL};

use super::dial::dial;
use super::{Notes, ProxyNote, Route};

pub struct ProxyTransportFactory {
    url: String,
    route: Route,
    notes: Notes,
}

impl ProxyTransportFactory {
    /// `url`: the WebSocket to reach (WhatsApp's own when `None`).
    pub fn new(url: Option<String>, route: Route, notes: Notes) -> Self {
        ProxyTransportFactory { url: url.unwrap_or_else(|| WHATSAPP_WEB_WS_URL.to_string()), route, notes }
    }

    async fn open(&self) -> anyhow::Result<(Arc<dyn Transport>, async_channel::Receiver<TransportEvent>)> {
        let uri: http::Uri = self.url.parse().map_err(|e| anyhow::anyhow!("bad WebSocket URL: {e}"))?;
        let tls = match uri.scheme_str() {
            Some("wss") => true,
            Some("ws") => false,
            _ => anyhow::bail!("the WebSocket URL must be ws:// or wss://"),
        };
        // IPv6 literals come bracketed; the proxy and TLS want the bare address.
        let host = uri.host().ok_or_else(|| anyhow::anyhow!("the WebSocket URL has no host"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let Some(proxy) = self.route.current() else {
            let why = "proxy pool has no usable proxy for this session (every one is full or cooling off)";
            self.notes.send(ProxyNote::Failed(why.to_string()));
            anyhow::bail!(why);
        };
        let stream = match dial(&proxy, &host, port).await {
            Ok(s) => s,
            Err(e) => {
                let why = e.to_string();
                tracing::warn!(proxy = %proxy.masked(), error = %why, "proxy dial failed");
                self.notes.send(ProxyNote::Failed(why.clone()));
                if let Some(switch) = self.route.failed(&proxy, &why) {
                    self.notes.send(ProxyNote::Switched(switch));
                }
                anyhow::bail!(why);
            }
        };
        let connector = if tls { default_tls_connector() } else { whatsapp_rust::transport::Connector::Plain };
        let stream = connector
            .wrap(&host, stream)
            .await
            .map_err(|e| anyhow::anyhow!("TLS through proxy {} failed: {e}", proxy.masked()))?;
        let origin = http::HeaderValue::from_static(WHATSAPP_WEB_ORIGIN);
        let builder = tokio_websockets::ClientBuilder::from_uri(uri)
            .add_header(http::header::ORIGIN, origin)
            .map_err(|e| anyhow::anyhow!("cannot set Origin: {e}"))?;
        let (ws, _) = builder
            .connect_on(stream)
            .await
            .map_err(|e| anyhow::anyhow!("WebSocket upgrade through proxy {} failed: {e}", proxy.masked()))?;
        self.route.succeeded(&proxy);
        self.notes.send(ProxyNote::Connected(proxy.masked()));
        Ok(from_websocket(ws))
    }
}

#[whatsapp_rust::async_trait]
impl TransportFactory for ProxyTransportFactory {
    async fn create_transport(
        &self,
    ) -> Result<(Arc<dyn Transport>, async_channel::Receiver<TransportEvent>), whatsapp_rust::anyhow::Error> {
        self.open().await
    }
}
