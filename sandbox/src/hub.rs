//! Shared server state and the delivery primitive every relay goes through.
//!
//! Owns the account registry, live connections per device, per-device offline
//! queues, stanzas in flight (delivered but not yet acked), registrations waiting
//! for a QR scan, and the event broadcast the harness listens to. It does not
//! parse stanzas; the protocol modules do that and call `deliver`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use tokio::sync::broadcast;
use wacore_binary::Node;

use crate::accounts::{Accounts, DeviceAddr, DeviceKeys};
use crate::events::SandboxEvent;
use crate::server::noise::ServerIdentity;
use crate::server::session::ConnHandle;

/// A companion that connected with a registration payload and now shows QR codes.
pub(crate) struct Registration {
    pub conn: ConnHandle,
    pub noise_pub: [u8; 32],
    pub keys: DeviceKeys,
    /// Where its connection came from (`Hub::record_login` once it is linked).
    pub peer: std::net::SocketAddr,
}

/// A `pair-success` sent and waiting for the companion's `pair-device-sign`.
pub(crate) struct PairInFlight {
    pub addr: DeviceAddr,
    pub conn: ConnHandle,
    /// To put the companion back in the waiting list if it refuses.
    pub noise_pub: [u8; 32],
}

#[derive(Default)]
pub(crate) struct State {
    pub accounts: Accounts,
    pub conns: HashMap<DeviceAddr, ConnHandle>,
    pub offline: HashMap<DeviceAddr, VecDeque<Node>>,
    /// Per connection id: stanzas written but not yet acknowledged by the client.
    /// A connection that dies hands these back to the offline queue.
    pub inflight: HashMap<u64, (DeviceAddr, Vec<(String, Node)>)>,
    pub registrations: Vec<Registration>,
    pub pairing: HashMap<String, PairInFlight>,
    /// Presence subscriptions: target phone -> subscriber devices.
    pub presence_subs: HashMap<String, Vec<DeviceAddr>>,
    /// Last presence per phone (`available`/`unavailable`).
    pub presence: HashMap<String, String>,
    /// Fault injection: devices whose next relayed message gets its ciphertext
    /// damaged, to exercise decrypt-failure retries.
    pub corrupt_next: HashSet<DeviceAddr>,
    pub groups: crate::groups::Groups,
    /// Companions that asked for a pairing code (`pair_code.rs`).
    pub pair_codes: crate::pair_code::PairCodes,
    /// Injected faults per device (`faults.rs`).
    pub faults: crate::faults::Faults,
    /// Where stanzas for device 0 (the virtual phone) go: `phone_inbox.rs`'s task.
    /// Without it (unit tests) they are dropped.
    pub phone_tx: Option<tokio::sync::mpsc::UnboundedSender<(String, Node)>>,
    /// What each account's phone decrypted (`phone_inbox.rs`).
    pub phone_inbox: HashMap<String, Vec<crate::contacts::InboxEntry>>,
}

pub struct Hub {
    state: Mutex<State>,
    /// Uploaded media; its own lock, as blobs can be large.
    pub(crate) media: std::sync::Arc<crate::media::MediaStore>,
    /// Flipped to `true` once when the sandbox stops; every connection ends.
    stop: tokio::sync::watch::Sender<bool>,
    pub(crate) events: broadcast::Sender<SandboxEvent>,
    pub(crate) identity: ServerIdentity,
    next_conn: AtomicU64,
    /// The virtual phones' Signal sessions and sender keys (`phone_inbox.rs`), held
    /// across the awaits of a decryption or encryption.
    pub(crate) phone_signal: tokio::sync::Mutex<crate::phone_inbox::PhoneSignal>,
    /// Where each accepted TCP connection came from, oldest first (capped), so a test can
    /// tell which connections reached the network directly and which through a proxy.
    peers: Mutex<Peers>,
}

/// Connection origins, for `Sandbox::connection_peers` and `login_peers`.
#[derive(Default)]
struct Peers {
    accepted: Vec<std::net::SocketAddr>,
    /// (phone, origin) of each link (the QR socket of a device that got linked) and login.
    logins: Vec<(String, std::net::SocketAddr)>,
}

/// How many connection origins `Hub::peers` keeps; a test needs a handful.
const MAX_PEERS: usize = 10_000;

impl Hub {
    pub(crate) fn new(root: &wacore::libsignal::protocol::KeyPair) -> Self {
        let (events, _) = broadcast::channel(1024);
        Self {
            state: Mutex::new(State::default()),
            media: Default::default(),
            stop: tokio::sync::watch::Sender::new(false),
            events,
            identity: ServerIdentity::new(root),
            next_conn: AtomicU64::new(1),
            phone_signal: Default::default(),
            peers: Default::default(),
        }
    }

    fn peer_log(&self) -> MutexGuard<'_, Peers> {
        self.peers.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn record_peer(&self, peer: std::net::SocketAddr) {
        let mut log = self.peer_log();
        if log.accepted.len() < MAX_PEERS {
            log.accepted.push(peer);
        }
    }

    pub(crate) fn record_login(&self, peer: std::net::SocketAddr, phone: &str) {
        let mut log = self.peer_log();
        if log.logins.len() < MAX_PEERS {
            log.logins.push((phone.to_string(), peer));
        }
    }

    pub(crate) fn peers(&self) -> Vec<std::net::SocketAddr> {
        self.peer_log().accepted.clone()
    }

    pub(crate) fn login_peers(&self, phone: &str) -> Vec<std::net::SocketAddr> {
        self.peer_log().logins.iter().filter(|(p, _)| p == phone).map(|(_, a)| *a).collect()
    }

    /// The state lock. Held only for short, non-async sections; a panic while
    /// holding it must not wedge every other connection, hence the recovery.
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn next_conn_id(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn emit(&self, event: SandboxEvent) {
        // No receiver is fine: nobody is waiting.
        let _ = self.events.send(event);
    }

    /// Ends every connection (the listener is stopped separately).
    pub(crate) fn stop(&self) {
        self.stop.send_replace(true);
    }

    /// Resolves once `stop` has been called.
    pub(crate) fn stopped(&self) -> impl std::future::Future<Output = ()> + use<> {
        let mut rx = self.stop.subscribe();
        async move {
            let _ = rx.wait_for(|stopped| *stopped).await;
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<SandboxEvent> {
        self.events.subscribe()
    }
}

impl State {
    /// Hands `node` to a device: straight onto its socket when it is connected,
    /// otherwise into its offline queue (flushed at its next login). Messages are
    /// tracked until acked so a socket that dies mid-flight loses nothing.
    /// Returns whether it went out live.
    pub fn deliver(&mut self, addr: &DeviceAddr, mut node: Node) -> bool {
        if addr.1 == crate::phone_keys::PHONE_DEVICE {
            // The virtual phone is always online and reads everything itself.
            if let Some(tx) = &self.phone_tx {
                let _ = tx.send((addr.0.clone(), node));
            }
            return true;
        }
        if let Some(conn) = self.conns.get(addr) {
            let tracked = track_id(&node);
            if conn.send(node.clone()) {
                if let Some(id) = tracked {
                    self.inflight.entry(conn.id).or_insert_with(|| (addr.clone(), Vec::new())).1.push((id, node));
                }
                return true;
            }
        }
        if node.tag == "message" {
            node.attrs.insert("offline", "1");
        }
        self.offline.entry(addr.clone()).or_default().push_back(node);
        false
    }

    /// The client acknowledged stanza `id` on connection `conn_id`.
    pub fn acked(&mut self, conn_id: u64, id: &str) {
        if let Some((_, list)) = self.inflight.get_mut(&conn_id) {
            list.retain(|(i, _)| i != id);
        }
    }

    /// A connection ended: requeue what it never acknowledged, ahead of anything
    /// queued since, and drop it from the live map if it is still the current one.
    pub fn connection_closed(&mut self, conn_id: u64, addr: Option<&DeviceAddr>) -> bool {
        if let Some((owner, list)) = self.inflight.remove(&conn_id) {
            let queue = self.offline.entry(owner).or_default();
            for (_, mut node) in list.into_iter().rev() {
                node.attrs.insert("offline", "1");
                queue.push_front(node);
            }
        }
        self.registrations.retain(|r| r.conn.id != conn_id);
        self.pair_codes.connection_closed(conn_id);
        let Some(addr) = addr else { return false };
        if self.conns.get(addr).is_some_and(|c| c.id == conn_id) {
            self.conns.remove(addr);
            return true;
        }
        // A newer connection for the same device is live: give it what we just
        // requeued instead of waiting for another login.
        self.flush_offline(addr);
        false
    }

    /// Sends a device's queued stanzas to its live connection; returns how many.
    pub fn flush_offline(&mut self, addr: &DeviceAddr) -> usize {
        let Some(queue) = self.offline.remove(addr) else {
            return 0;
        };
        let n = queue.len();
        for node in queue {
            self.deliver(addr, node);
        }
        n
    }
}

/// Only `<message>` stanzas are held for redelivery: receipts and the rest are
/// fire-and-forget, as their loss only delays a tick on the sender's side.
fn track_id(node: &Node) -> Option<String> {
    (node.tag == "message").then(|| crate::nodes::attr(node, "id")).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::session::Outbound;
    use wacore_binary::builder::NodeBuilder;

    fn msg(id: &str) -> Node {
        NodeBuilder::new("message").attr("id", id).build()
    }

    fn ids(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Outbound>) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(Outbound::Node(n)) = rx.try_recv() {
            out.push(crate::nodes::attr(&n, "id").unwrap_or_default());
        }
        out
    }

    fn addr() -> DeviceAddr {
        ("15550000000".to_string(), 1)
    }

    #[test]
    fn undeliverable_messages_queue_flagged_offline() {
        let mut st = State::default();
        assert!(!st.deliver(&addr(), msg("a")));
        let queued = &st.offline[&addr()];
        assert_eq!(queued.len(), 1);
        assert_eq!(crate::nodes::attr(&queued[0], "offline").as_deref(), Some("1"));
    }

    #[test]
    fn unacked_messages_return_to_the_queue_in_order() {
        let mut st = State::default();
        let (conn, mut rx) = ConnHandle::for_test(7);
        st.conns.insert(addr(), conn);
        for id in ["a", "b", "c"] {
            assert!(st.deliver(&addr(), msg(id)));
        }
        assert_eq!(ids(&mut rx), ["a", "b", "c"]);
        st.acked(7, "b");
        // Something queued after the socket died must stay behind the requeued ones.
        st.conns.clear();
        st.deliver(&addr(), msg("d"));
        st.conns.insert(addr(), ConnHandle::for_test(7).0);
        assert!(st.connection_closed(7, Some(&addr())));
        let queued: Vec<_> = st.offline[&addr()].iter().filter_map(|n| crate::nodes::attr(n, "id")).collect();
        assert_eq!(queued, ["a", "c", "d"]);
    }

    #[test]
    fn a_newer_connection_gets_what_an_older_one_left_unacked() {
        let mut st = State::default();
        let (old, _old_rx) = ConnHandle::for_test(1);
        st.conns.insert(addr(), old);
        st.deliver(&addr(), msg("a"));
        let (new, mut new_rx) = ConnHandle::for_test(2);
        st.conns.insert(addr(), new);
        assert!(!st.connection_closed(1, Some(&addr())));
        assert_eq!(ids(&mut new_rx), ["a"]);
        assert!(st.offline.get(&addr()).is_none_or(|q| q.is_empty()));
    }
}
