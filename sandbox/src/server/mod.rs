//! The listening side: a WebSocket endpoint on 127.0.0.1 speaking WhatsApp's
//! framing and Noise, one task per connection.
//!
//! `ws` is the byte pipe and frame codec, `noise` the XX responder, `session`
//! the per-connection loop and stanza routing, `login` what happens right after
//! the handshake (registration or login), `http` the plain-HTTP side of the same
//! port (media host, hand-over of control-API connections).

pub(crate) mod dict;
pub(crate) mod http;
pub(crate) mod login;
pub(crate) mod noise;
pub(crate) mod session;
pub(crate) mod ws;

use std::net::SocketAddr;
use std::sync::Arc;

use log::debug;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::hub::Hub;

/// Serves connections on `listener` until aborted: the WhatsApp WebSocket, the media
/// host over plain HTTP, and (when `other_http` is given) `/api/...` connections handed
/// over untouched to the embedder's HTTP server.
pub(crate) fn listen(
    hub: Arc<Hub>,
    listener: TcpListener,
    other_http: Option<mpsc::Sender<TcpStream>>,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let _ = tcp.set_nodelay(true);
            let hub = hub.clone();
            let other_http = other_http.clone();
            tokio::spawn(async move {
                let result = match http::peek_kind(&tcp).await {
                    Ok(http::Kind::Media) => http::serve_media(&hub.media, tcp).await,
                    Ok(http::Kind::Api) if other_http.is_some() => {
                        let _ = other_http.expect("checked above").send(tcp).await;
                        Ok(())
                    }
                    Ok(_) => session::serve(hub, tcp).await,
                    Err(e) => Err(e),
                };
                if let Err(e) = result {
                    debug!("sandbox: connection ended with error: {e:#}");
                }
            });
        }
    });
    Ok((addr, task))
}
