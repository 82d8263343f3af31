//! The listening side: a WebSocket endpoint on 127.0.0.1 speaking WhatsApp's
//! framing and Noise, one task per connection.
//!
//! `ws` is the byte pipe and frame codec, `noise` the XX responder, `session`
//! the per-connection loop and stanza routing, `login` what happens right after
//! the handshake (registration or login).

pub(crate) mod login;
pub(crate) mod noise;
pub(crate) mod session;
pub(crate) mod ws;

use std::net::SocketAddr;
use std::sync::Arc;

use log::debug;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::hub::Hub;

/// Binds a random port on 127.0.0.1 and serves connections until aborted.
pub(crate) async fn listen(hub: Arc<Hub>) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let _ = tcp.set_nodelay(true);
            let hub = hub.clone();
            tokio::spawn(async move {
                if let Err(e) = session::serve(hub, tcp).await {
                    debug!("sandbox: connection ended with error: {e:#}");
                }
            });
        }
    });
    Ok((addr, task))
}
