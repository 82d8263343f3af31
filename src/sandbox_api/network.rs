//! `warest sandbox --network-only`: the simulated network as its own process, so tests
//! can kill and restart a gateway while the network (its accounts, queued messages,
//! contacts) keeps going.
//!
//! One port serves everything: the WhatsApp WebSocket (`/ws/chat`), the media host
//! over plain HTTP, and `/api/v1/sandbox/*` (API keys as in the gateway, checked
//! against this process's own database). The network hands `/api/...` connections to
//! the axum server below through a channel. No gateway sessions run here; a sandbox
//! build started with `WAREST_WA_URL=ws://<this address>/ws/chat` is the gateway.

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use axum::middleware;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use utoipa_axum::router::OpenApiRouter;
use warest_sandbox::{Sandbox, SandboxOptions};

use super::SandboxHost;
use crate::config::Config;

/// Connections the network handed over, as an axum listener.
struct Handed {
    rx: mpsc::Receiver<TcpStream>,
    addr: SocketAddr,
}

impl axum::serve::Listener for Handed {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.rx.recv().await {
                Some(tcp) => match tcp.peer_addr() {
                    Ok(peer) => return (tcp, peer),
                    Err(_) => continue,
                },
                // The network stopped; nothing will come any more.
                None => std::future::pending::<()>().await,
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.addr)
    }
}

/// The caller's address on a handed-over connection. The gateway's auth reads
/// `ConnectInfo<SocketAddr>` (to slow down key guessing per IP), which axum only fills
/// for its own `TcpListener`; `with_peer` copies this into it.
#[derive(Clone, Copy)]
struct Peer(SocketAddr);

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, Handed>> for Peer {
    fn connect_info(stream: axum::serve::IncomingStream<'_, Handed>) -> Self {
        Peer(*stream.remote_addr())
    }
}

async fn with_peer(mut req: axum::extract::Request, next: middleware::Next) -> axum::response::Response {
    if let Some(ConnectInfo(Peer(addr))) = req.extensions().get::<ConnectInfo<Peer>>().copied() {
        req.extensions_mut().insert(ConnectInfo(addr));
    }
    next.run(req).await
}

/// Runs the network on `listen`, keeping its state under `<data dir>/sandbox/`, until
/// `shutdown`; then saves the state.
pub async fn run(config: Config, listen: SocketAddr, shutdown: CancellationToken) -> anyhow::Result<()> {
    let (tx, rx) = mpsc::channel(256);
    let opts =
        SandboxOptions { listen: Some(listen), data_dir: Some(config.data_dir.join("sandbox")), other_http: Some(tx) };
    let net = Sandbox::start_with(opts).await?;
    let addr = net.addr();
    let host = SandboxHost::new(net);
    let mut state = crate::app::prepare(config).await?;
    state.sandbox = Some(host.clone());
    state.ready.store(true, std::sync::atomic::Ordering::Release);

    let (routes, _) = OpenApiRouter::new()
        .merge(super::router())
        .route_layer(middleware::from_fn_with_state(state.clone(), crate::http::auth::require_key))
        .split_for_parts();
    let app = routes
        .layer(axum::extract::DefaultBodyLimit::max(state.config.body_limit_bytes))
        .layer(middleware::from_fn(with_peer))
        .with_state(state.clone());
    println!("warest sandbox: network only, on ws://{addr}/ws/chat (media and /api/v1/sandbox/* on the same port)");
    // The same stable line as the gateway's (`main.rs`): with `--listen 127.0.0.1:0` the
    // kernel picks the port, and whoever started us reads it here.
    eprintln!("warest: listening on {addr}");
    tracing::info!(%addr, "sandbox network listening");
    let stop = shutdown.clone();
    axum::serve(Handed { rx, addr }, app.into_make_service_with_connect_info::<Peer>())
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await?;
    host.sandbox.persist_now()?;
    state.db.close().await;
    Ok(())
}
