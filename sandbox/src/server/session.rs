//! One client connection from WebSocket accept to close.
//!
//! Owns the per-connection tasks (a reader that dispatches nodes, a writer fed by
//! an unbounded channel so state can be updated under a sync lock and sends never
//! block), who the connection is (registering companion or logged-in device), and
//! the top-level stanza routing. Protocol handling lives in the modules it calls.

use std::sync::Arc;

use anyhow::Result;
use log::{debug, warn};
use tokio::net::TcpStream;
use tokio::sync::{Notify, mpsc};
use wacore_binary::Node;

use super::ws::FrameIo;
use crate::accounts::DeviceAddr;
use crate::events::SandboxEvent;
use crate::hub::Hub;
use crate::nodes::attr;

pub(crate) enum Outbound {
    Node(Box<Node>),
    Close,
}

/// A cheap, cloneable way to write to one connection.
#[derive(Clone)]
pub(crate) struct ConnHandle {
    pub id: u64,
    tx: mpsc::UnboundedSender<Outbound>,
    kill: Arc<Notify>,
}

impl ConnHandle {
    /// Queues a node; false once the connection is gone.
    pub fn send(&self, node: Node) -> bool {
        self.tx.send(Outbound::Node(Box::new(node))).is_ok()
    }

    /// Closes the socket after everything queued before it was written.
    pub fn close(&self) {
        let _ = self.tx.send(Outbound::Close);
    }

    /// Drops the TCP connection at once, with no close frame: what a network
    /// failure looks like to the client.
    pub fn kill(&self) {
        self.kill.notify_one();
    }
}

#[cfg(test)]
impl ConnHandle {
    /// A handle whose writes land in a channel instead of a socket.
    pub(crate) fn for_test(id: u64) -> (Self, mpsc::UnboundedReceiver<Outbound>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let kill = Arc::new(Notify::new());
        (Self { id, tx, kill }, rx)
    }
}

/// Who is on the other end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Who {
    /// Handshake done, nothing else known yet.
    Anonymous,
    /// A new companion waiting to be linked.
    Registering,
    /// A linked device that logged in.
    Device(DeviceAddr),
}

pub(crate) struct Session {
    pub hub: Arc<Hub>,
    pub conn: ConnHandle,
    pub who: Who,
    /// Where the connection came from (`Hub::record_login`).
    pub peer: std::net::SocketAddr,
}

impl Session {
    pub fn device(&self) -> Option<&DeviceAddr> {
        match &self.who {
            Who::Device(a) => Some(a),
            _ => None,
        }
    }

    fn dispatch(&mut self, node: Node) {
        match node.tag.as_ref() {
            "iq" => crate::iq::handle(self, &node),
            "message" => crate::relay::message(self, &node),
            "receipt" => crate::relay::receipt(self, &node),
            "ack" => {
                if let Some(id) = attr(&node, "id") {
                    self.hub.state().acked(self.conn.id, &id);
                }
            }
            "presence" => crate::relay::presence(self, &node),
            "chatstate" => crate::relay::chatstate(self, &node),
            "call" => crate::calls::relay(self, &node),
            other => debug!("sandbox: ignoring <{other}> from conn {}", self.conn.id),
        }
    }
}

/// The round trip `serve` waits before answering a finished handshake.
const FIRST_FRAME_DELAY: std::time::Duration = std::time::Duration::from_millis(40);

/// Serves one accepted TCP connection until either side closes it.
pub(crate) async fn serve(hub: Arc<Hub>, tcp: TcpStream, peer: std::net::SocketAddr) -> Result<()> {
    let (_request, ws) = tokio_websockets::ServerBuilder::new().accept(tcp).await?;
    let mut io = FrameIo::new(ws);
    let established = hub.identity.respond(&mut io).await?;
    let (mut reader, mut writer) = io.into_transport(established.read, established.write)?;

    let (tx, mut rx) = mpsc::unbounded_channel();
    let kill = Arc::new(Notify::new());
    let conn = ConnHandle { id: hub.next_conn_id(), tx, kill: kill.clone() };
    let writer_task = tokio::spawn(async move {
        while let Some(out) = rx.recv().await {
            match out {
                Outbound::Node(node) => {
                    if let Err(e) = writer.send_node(&node).await {
                        debug!("sandbox: write failed: {e}");
                        break;
                    }
                }
                Outbound::Close => {
                    writer.close().await;
                    break;
                }
            }
        }
    });

    // A real server is a network round trip away, and some clients depend on it:
    // Baileys 6 derives its transport keys asynchronously after sending ClientFinish,
    // so a frame that arrives within that moment is read as plaintext and every later
    // one fails to decrypt. One simulated round trip before the first frame.
    tokio::time::sleep(FIRST_FRAME_DELAY).await;
    let mut session = Session { hub: hub.clone(), conn, who: Who::Anonymous, peer };
    crate::server::login::start(&mut session, established.client_static, established.payload);

    let stopped = hub.stopped();
    tokio::pin!(stopped);
    loop {
        let next = tokio::select! {
            next = reader.next_node() => next,
            _ = kill.notified() => break,
            _ = &mut stopped => break,
        };
        match next {
            Ok(Some(node)) => session.dispatch(node),
            Ok(None) => break,
            Err(e) => {
                warn!("sandbox: read failed on conn {}: {e:#}", session.conn.id);
                break;
            }
        }
    }

    let addr = session.device().cloned();
    let was_current = hub.state().connection_closed(session.conn.id, addr.as_ref());
    if was_current && let Some((phone, device)) = addr {
        crate::relay::went_offline(&hub, &phone);
        hub.emit(SandboxEvent::Disconnected { phone, device });
    }
    // Dropping both halves closes the TCP stream.
    writer_task.abort();
    drop(reader);
    Ok(())
}
