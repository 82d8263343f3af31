//! The test-facing API: start a sandbox, link clients, drive virtual contacts,
//! and wait for server events without sleeping.
//!
//! `Sandbox` owns the listening server and the virtual contacts. The plain test
//! client lives in `client.rs`, the contacts' behaviour in `contacts.rs`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use wacore::types::events::Event;
use wacore_binary::Jid;

use wacore::store::InMemoryBackend;
use wacore::store::traits::Backend;
use whatsapp_rust::bot::{BotBuilder, Provided};

use crate::client::{ClientSetup, TestClient};
use crate::contacts::Contact;
use crate::events::SandboxEvent;
use crate::faults::Fault;
use crate::hub::Hub;
use crate::media::SandboxHttp;

/// A running simulated server on 127.0.0.1.
pub struct Sandbox {
    pub(crate) hub: Arc<Hub>,
    addr: SocketAddr,
    task: JoinHandle<()>,
    pub(crate) contacts: Mutex<HashMap<String, Arc<Contact>>>,
}

impl Sandbox {
    /// Binds a random local port and starts serving.
    pub async fn start() -> Result<Self> {
        let hub = Arc::new(Hub::new());
        let (addr, task) = crate::server::listen(hub.clone()).await?;
        Ok(Self { hub, addr, task, contacts: Mutex::new(HashMap::new()) })
    }

    /// The HTTP client sandbox clients must use: it serves the sandbox's
    /// in-memory media host (uploads and downloads) and refuses everything else.
    pub fn http_client(&self) -> SandboxHttp {
        SandboxHttp::new(self.hub.media.clone())
    }

    /// A `BotBuilder` for this sandbox on the given store; see `bot_builder`.
    pub fn bot_builder(&self, backend: Arc<dyn Backend>) -> BotBuilder<Provided, Provided, Provided, Provided> {
        crate::client::bot_builder(&self.ws_url(), backend, self.http_client())
    }

    /// A fresh in-memory store and this sandbox's settings, for `TestClient`.
    pub fn client_setup(&self, push_name: &str) -> ClientSetup {
        ClientSetup {
            backend: Arc::new(InMemoryBackend::new()),
            ws_url: self.ws_url(),
            push_name: push_name.to_string(),
            http: self.http_client(),
        }
    }

    /// The URL to give `TokioWebSocketTransportFactory::with_url`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws/chat", self.addr)
    }

    /// Plays the phone of `phone` scanning `qr`; see `pairing::link`.
    pub fn link(&self, qr: &str, phone: &str) -> Result<Jid> {
        crate::pairing::link(&self.hub, qr, phone)
    }

    /// Plays the user removing linked device `phone:device` on the phone: the
    /// client is logged out now (if connected) or at its next login.
    pub fn unlink(&self, phone: &str, device: u16) {
        crate::pairing::remove_from_phone(&self.hub, phone, device);
    }

    /// Cuts a device's connection as a network failure would (no close frame);
    /// the same as `inject(.., Fault::Drop)` without the event.
    /// A running client reconnects on its own; returns whether one was connected.
    pub fn kick(&self, phone: &str, device: u16) -> bool {
        let conn = self.hub.state().conns.get(&(phone.to_string(), device)).cloned();
        conn.map(|c| c.kill()).is_some()
    }

    /// Plays the user of `phone` typing `code` (shown by a companion that asked
    /// for a pairing code for this number) into "Link with phone number".
    /// Resolves once the phone has opened the companion's key bundle and sent
    /// `pair-success`; fails for a wrong code or when no companion asked. See
    /// `pair_code.rs`.
    pub async fn link_with_code(&self, phone: &str, code: &str) -> Result<Jid> {
        crate::pair_code::enter_code(&self.hub, phone, code).await
    }

    /// Applies a fault to linked device `phone:device` (see [`Fault`]). Returns
    /// whether it was connected; fails if no such device is linked.
    pub fn inject(&self, phone: &str, device: u16, fault: Fault) -> Result<bool> {
        crate::faults::inject(&self.hub, phone, device, fault)
    }

    /// Lifts lasting faults (refused logins, bans, outdated, ack faults) of a device.
    pub fn clear_faults(&self, phone: &str, device: u16) {
        crate::faults::clear(&self.hub, phone, device);
    }

    /// Fault injection: damages the ciphertext of the next established-session
    /// (`type="msg"`) message relayed to `phone:device`, so its client fails to
    /// decrypt it and sends a retry receipt (relayed like any receipt).
    pub fn corrupt_next_message_to(&self, phone: &str, device: u16) {
        self.hub.state().corrupt_next.insert((phone.to_string(), device));
    }

    /// The device ids currently linked to `phone` (empty if unknown).
    pub fn devices(&self, phone: &str) -> Vec<u16> {
        self.hub.state().accounts.devices_of(phone).into_iter().map(|(_, d)| d).collect()
    }

    /// The LID user assigned to `phone`, if the account exists.
    pub fn lid_of(&self, phone: &str) -> Option<String> {
        self.hub.state().accounts.get(phone).map(|a| a.lid.clone())
    }

    /// Server-side events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<SandboxEvent> {
        self.hub.subscribe()
    }

    /// Waits for a server-side event matching `pred` on a receiver taken with
    /// `subscribe` (take it before triggering the event).
    pub async fn wait_for_event(
        rx: &mut broadcast::Receiver<SandboxEvent>,
        timeout: Duration,
        mut pred: impl FnMut(&SandboxEvent) -> bool,
    ) -> Result<SandboxEvent> {
        tokio::time::timeout(timeout, async {
            loop {
                match rx.recv().await {
                    Ok(ev) if pred(&ev) => return Ok(ev),
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => bail!("sandbox stopped"),
                }
            }
        })
        .await
        .map_err(|_| anyhow!("timed out after {timeout:?} waiting for a sandbox event"))?
    }

    /// Builds and starts a plain client against this sandbox (not yet paired).
    pub async fn client(&self, push_name: &str) -> Result<TestClient> {
        TestClient::start(self.client_setup(push_name)).await
    }

    /// Starts a client, links it to `phone` from its first QR code, and waits
    /// until it is connected.
    pub async fn paired_client(&self, phone: &str, timeout: Duration) -> Result<TestClient> {
        let client = self.client(phone).await?;
        let qr = client.wait_for_qr(timeout).await?;
        self.link(&qr, phone)?;
        client.wait_for(timeout, |e| matches!(e, Event::Connected(_))).await?;
        client.go_online().await;
        Ok(client)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.task.abort();
        self.hub.stop();
    }
}

#[cfg(test)]
mod tests {
    /// Tests share a sandbox across tasks (`Arc<Sandbox>`), so it must stay
    /// `Send + Sync`; so must a test client.
    #[test]
    fn harness_types_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<super::Sandbox>();
        assert_send_sync::<crate::client::TestClient>();
    }
}
