//! The test-facing API: start a sandbox, link clients, drive virtual contacts,
//! and wait for server events without sleeping.
//!
//! `Sandbox` owns the listening server and the virtual contacts. The plain test
//! client lives in `client.rs`, the contacts' behaviour in `contacts.rs`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use tokio::net::TcpListener;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;
use wacore::types::events::Event;
use wacore_binary::Jid;

use wacore::store::InMemoryBackend;
use wacore::store::traits::Backend;
use whatsapp_rust::bot::{BotBuilder, Provided};

use crate::client::{ClientSetup, TestClient};
use crate::contacts::{Behaviour, Contact};
use crate::events::SandboxEvent;
use crate::faults::Fault;
use crate::hub::Hub;
use crate::media::{MediaStore, SandboxHttp};
use crate::persist::Persister;

/// A running simulated server on 127.0.0.1.
pub struct Sandbox {
    pub(crate) hub: Arc<Hub>,
    addr: SocketAddr,
    task: JoinHandle<()>,
    pub(crate) contacts: Mutex<HashMap<String, Arc<Contact>>>,
    pub(crate) persist: Option<Arc<Persister>>,
    saver: Option<JoinHandle<()>>,
    media_ca_pem: String,
}

/// How to start a sandbox; `Default` is what `Sandbox::start` does.
#[derive(Default)]
pub struct SandboxOptions {
    /// Where to listen (WebSocket, media over HTTP, hand-over of `/api/...`);
    /// default `127.0.0.1:0`.
    pub listen: Option<SocketAddr>,
    /// Keep the network's state under this directory (created if missing) and load
    /// what a previous run left there; see `persist.rs`. Default: memory only.
    pub data_dir: Option<PathBuf>,
    /// Requests for `/api/...` are handed here one by one (each on its own pipe, with
    /// `Connection: close`), for the embedder's own HTTP server; without it they get 404.
    pub other_http: Option<mpsc::Sender<crate::server::http::HandedRequest>>,
}

impl Sandbox {
    /// Binds a random local port and starts serving.
    pub async fn start() -> Result<Self> {
        Self::start_with(SandboxOptions::default()).await
    }

    /// Starts a sandbox that keeps its state under `dir` (and loads it from there).
    pub async fn start_persistent(dir: impl Into<PathBuf>) -> Result<Self> {
        Self::start_with(SandboxOptions { data_dir: Some(dir.into()), ..Default::default() }).await
    }

    /// Starts a sandbox as `opts` says. With a data directory that holds a previous
    /// run, accounts, devices, keys, queued stanzas, groups and media come back as
    /// they were, and every virtual contact is re-created: its account stays, its old
    /// client device is unlinked (contacts run on in-memory stores, which cannot be
    /// saved) and a new client is linked in its place, as when someone reinstalls
    /// WhatsApp. Its inbox starts empty.
    pub async fn start_with(opts: SandboxOptions) -> Result<Self> {
        let root = match &opts.data_dir {
            Some(dir) => crate::root_key::load_or_create(dir)?,
            None => crate::root_key::generate(),
        };
        let mut hub = Hub::new(&root);
        if let Some(dir) = &opts.data_dir {
            hub.media = Arc::new(MediaStore::persistent(Persister::media_dir(dir)));
        }
        let hub = Arc::new(hub);
        crate::phone_inbox::spawn(&hub);
        let (persist, saved_contacts) = match &opts.data_dir {
            Some(dir) => {
                let (p, contacts) = Persister::open(dir, hub.clone())?;
                (Some(p), contacts)
            }
            None => (None, Vec::new()),
        };
        let listen = opts.listen.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        let listener = TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
        let tls = Arc::new(crate::server::tls::MediaTls::new(opts.data_dir.as_deref())?);
        let media_ca_pem = tls.ca_pem.clone();
        let (addr, task) = crate::server::listen(hub.clone(), listener, opts.other_http, tls)?;
        let saver = persist.as_ref().map(|p| p.spawn_saver());
        let sandbox = Self { hub, addr, task, contacts: Mutex::new(HashMap::new()), persist, saver, media_ca_pem };
        for saved in saved_contacts {
            if let Some(old) = saved.device {
                crate::pairing::remove_from_phone(&sandbox.hub, &saved.phone, old);
            }
            sandbox
                .create_contact(&saved.phone, saved.behaviour())
                .await
                .with_context(|| format!("cannot re-create virtual contact {}", saved.phone))?;
        }
        Ok(sandbox)
    }

    /// Writes the state to the data directory now (if it changed); a no-op without one.
    /// The sandbox also saves on its own shortly after changes and when dropped.
    pub fn persist_now(&self) -> Result<()> {
        self.persist.as_ref().map_or(Ok(()), |p| p.save())
    }

    /// The address the sandbox listens on (WebSocket and media over HTTP).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The virtual contacts, by phone number.
    pub fn contact_list(&self) -> Vec<(String, Behaviour)> {
        let mut list: Vec<_> = self
            .contacts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(p, c)| (p.clone(), c.behaviour))
            .collect();
        list.sort_by(|a, b| a.0.cmp(&b.0));
        list
    }

    /// The HTTP client sandbox clients must use: it serves the sandbox's
    /// in-memory media host (uploads and downloads) and refuses everything else.
    pub fn http_client(&self) -> SandboxHttp {
        SandboxHttp::new(self.hub.media.clone())
    }

    /// Test support: a direct path on the media host whose download (over the real HTTP
    /// side, by clients in other processes) is `len` bytes of filler, streamed.
    pub fn media_stream_path(&self, len: u64) -> String {
        format!("{}{len}", crate::media::STREAM_PREFIX)
    }

    /// Test support: bytes written so far by `media_stream_path` downloads.
    pub fn media_streamed_bytes(&self) -> u64 {
        self.hub.media.streamed.load(std::sync::atomic::Ordering::Relaxed)
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

    /// The source address of every TCP connection the network's port accepted (the
    /// WebSocket, the media host, HTTPS), oldest first: a proxy test checks that every one
    /// came from the proxy's outgoing address, i.e. that nothing connected directly.
    pub fn connection_peers(&self) -> Vec<SocketAddr> {
        self.hub.peers()
    }

    /// The source address of each connection one of `phone`'s devices linked or logged in
    /// on, oldest first.
    pub fn login_peers(&self, phone: &str) -> Vec<SocketAddr> {
        self.hub.login_peers(phone)
    }

    /// The URL to give `TokioWebSocketTransportFactory::with_url`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws/chat", self.addr)
    }

    /// The media host's CA certificate (PEM): what an HTTPS client of the media host
    /// trusts (`server/tls.rs`; also `media-ca.pem` in the data directory).
    pub fn media_ca_pem(&self) -> &str {
        &self.media_ca_pem
    }

    /// The sandbox's root public key (64 hex digits): what a client puts in place of
    /// WhatsApp's root key to verify this server's certificate chain (`root_key.rs`).
    pub fn root_key(&self) -> String {
        crate::root_key::hex(&self.hub.identity.root_public())
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
        let devices = self.hub.state().accounts.devices_of(phone);
        // Device 0 is the virtual phone itself, never a linked companion.
        devices.into_iter().map(|(_, d)| d).filter(|d| *d != crate::phone_keys::PHONE_DEVICE).collect()
    }

    /// Ids of the `<message>` stanzas the server still holds for `phone`'s devices:
    /// queued offline, or written to a socket and not yet acknowledged. What a client
    /// never acks stays here and is redelivered at its next login.
    pub fn unacked(&self, phone: &str) -> Vec<String> {
        let st = self.hub.state();
        let queued = st.offline.iter().filter(|(addr, _)| addr.0 == phone).flat_map(|(_, q)| q.iter());
        let queued = queued.filter(|n| n.tag == "message").filter_map(|n| crate::nodes::attr(n, "id"));
        let inflight = st.inflight.values().filter(|(addr, _)| addr.0 == phone).flat_map(|(_, l)| l.iter());
        queued.chain(inflight.map(|(id, _)| id.clone())).collect()
    }

    /// What the virtual phone of `phone` (device 0) decrypted, oldest first.
    pub fn phone_inbox(&self, phone: &str) -> Vec<crate::contacts::InboxEntry> {
        self.hub.state().phone_inbox.get(phone).cloned().unwrap_or_default()
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

    /// Makes the virtual phone of `phone` keep its app-state key to itself: the
    /// companions linked from now on get no `appStateSyncKeyShare`, so every
    /// app-state verb they try (mute, archive, pin …) fails for want of a key.
    /// Creates the account if needed. Call before `link`.
    pub fn withhold_app_state_key(&self, phone: &str) {
        self.hub.state().accounts.ensure(phone).withhold_app_state_key = true;
    }

    /// The server's version of app-state collection `name` of `phone` (0 when
    /// nothing was ever pushed), and the patches it holds (still encrypted).
    pub fn app_state(&self, phone: &str, name: &str) -> (u64, Vec<waproto::whatsapp::SyncdPatch>) {
        let st = self.hub.state();
        st.accounts.get(phone).map(|a| (a.app_state.version(name), a.app_state.patches(name))).unwrap_or_default()
    }

    /// A plain client linked as one more companion of `phone`, as a second
    /// device would be: it gets the app-state key, and whatever another device
    /// of the account changes through app-state reaches it as events
    /// (`ArchiveUpdate`, `MuteUpdate`, `PinUpdate`, `StarUpdate`,
    /// `ClearChatUpdate` …; see [`crate::is_app_state_event`]). Gateway tests use
    /// it to observe what the gateway's session did.
    pub async fn observer(&self, phone: &str, timeout: Duration) -> Result<TestClient> {
        self.paired_client(phone, timeout).await
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
        if let Some(saver) = &self.saver {
            saver.abort();
        }
        self.hub.stop();
        if let Err(e) = self.persist_now() {
            log::warn!("sandbox: cannot save state at shutdown: {e:#}");
        }
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
