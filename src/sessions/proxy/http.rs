//! The media `HttpClient` of a proxied session: every request goes through the proxy the
//! session's [`Route`] names at that moment (one reqwest client per proxy, built on first
//! use), so media follows the WebSocket when a pool moves the session.

use std::collections::HashMap;
use std::sync::Mutex;

use whatsapp_rust::http::{HttpClient, HttpRequest, HttpResponse};

use super::Route;
use crate::sessions::wa::ReqwestHttp;

pub struct RoutedHttp {
    route: Route,
    clients: Mutex<HashMap<String, ReqwestHttp>>,
}

impl RoutedHttp {
    pub fn new(route: Route) -> Self {
        RoutedHttp { route, clients: Mutex::default() }
    }

    fn client(&self) -> whatsapp_rust::anyhow::Result<ReqwestHttp> {
        let Some(proxy) = self.route.current() else {
            if self.route.is_direct() {
                return Ok(ReqwestHttp::new());
            }
            // Never fall back to a direct connection: the proxy is there to hide our address.
            whatsapp_rust::anyhow::bail!("no proxy available for this session's media");
        };
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = clients.get(&proxy.key()) {
            return Ok(c.clone());
        }
        let c = ReqwestHttp::through(&proxy)?;
        clients.insert(proxy.key(), c.clone());
        Ok(c)
    }
}

#[whatsapp_rust::async_trait]
impl HttpClient for RoutedHttp {
    async fn execute(&self, request: HttpRequest) -> whatsapp_rust::anyhow::Result<HttpResponse> {
        let client = self.client()?;
        client.execute(request).await
    }
    fn supports_streaming(&self) -> bool {
        true
    }
    fn execute_streaming(
        &self,
        request: HttpRequest,
    ) -> whatsapp_rust::anyhow::Result<whatsapp_rust::wacore::net::StreamingHttpResponse> {
        self.client()?.execute_streaming(request)
    }
}
