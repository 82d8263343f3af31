//! The listening side: a WebSocket endpoint on 127.0.0.1 speaking WhatsApp's
//! framing and Noise, one task per connection.
//!
//! `ws` is the byte pipe and frame codec, `noise` the XX responder, `session`
//! the per-connection loop and stanza routing, `login` what happens right after
//! the handshake (registration or login), `dict` the token dictionaries, `http` the
//! HTTP side of the same port (media host, hand-over of control-API requests) and
//! `tls` its HTTPS.

pub(crate) mod dict;
pub(crate) mod http;
pub(crate) mod login;
pub(crate) mod noise;
pub(crate) mod session;
pub(crate) mod tls;
pub(crate) mod ws;

use std::net::SocketAddr;
use std::sync::Arc;

use log::debug;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::hub::Hub;

/// Serves connections on `listener` until aborted: the WhatsApp WebSocket, the media
/// host over HTTP and HTTPS, and (when `api` is given) `/api/...` requests handed one
/// by one to the embedder's HTTP server.
pub(crate) fn listen(
    hub: Arc<Hub>,
    listener: TcpListener,
    api: Option<mpsc::Sender<http::HandedRequest>>,
    tls: Arc<tls::MediaTls>,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let addr = listener.local_addr()?;
    hub.media.set_host(addr.to_string());
    let task = tokio::spawn(async move {
        loop {
            let Ok((tcp, peer)) = listener.accept().await else {
                continue;
            };
            let _ = tcp.set_nodelay(true);
            hub.record_peer(peer);
            let (hub, api, tls) = (hub.clone(), api.clone(), tls.clone());
            tokio::spawn(async move {
                let result = match http::peek_kind(&tcp).await {
                    Ok(None) => match tls.acceptor.accept(tcp).await {
                        Ok(stream) => http::serve(&hub.media, api.as_ref(), peer, stream).await,
                        Err(e) => Err(e.into()),
                    },
                    Ok(Some(http::Kind::Chat)) => session::serve(hub, tcp, peer).await,
                    Ok(Some(_)) => http::serve(&hub.media, api.as_ref(), peer, tcp).await,
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
