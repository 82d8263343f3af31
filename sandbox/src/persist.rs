//! Keeping a sandbox's network state on disk, so a restarted sandbox keeps linked
//! devices linked.
//!
//! One JSON file, `<dir>/state.json`, holds accounts (with their devices, Signal
//! public keys and the virtual phones' ADV keys), groups, every device's queued
//! stanzas (offline queue plus messages written but not yet acked, binary-encoded
//! with wacore's marshaller) and the list of virtual contacts. Media blobs are
//! files under `<dir>/media/`, written as they arrive (`media.rs`).
//!
//! The file is rewritten atomically (temp file, fsync, rename) by a background
//! task whenever its content changed, at most every `SAVE_EVERY`, and once more
//! when the sandbox stops, so a killed process loses at most that window.
//!
//! Not kept: live connections, registrations waiting for a scan, presence, fault
//! injection, and the server's Noise key (clients never pin it: the cert chain has
//! no validity window, so every connection runs a full XX handshake). Virtual
//! contacts are whatsapp-rust clients on in-memory stores that cannot be exported;
//! they are re-created instead (see `Sandbox::start_with`).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use wacore_binary::Node;

use crate::accounts::{Accounts, DeviceAddr};
use crate::contacts::Behaviour;
use crate::groups::Groups;
use crate::hub::{Hub, State};

const STATE_FILE: &str = "state.json";
/// Bumped when the file's shape changes incompatibly; an unknown version is refused
/// rather than half-read.
const FORMAT: u32 = 1;
/// How often the saver looks for changes; also the most a killed process loses.
const SAVE_EVERY: Duration = Duration::from_millis(250);

#[derive(Serialize)]
struct SnapshotRef<'a> {
    format: u32,
    accounts: &'a Accounts,
    groups: &'a Groups,
    queues: Vec<Queue>,
    contacts: &'a [SavedContact],
}

#[derive(Deserialize)]
struct Snapshot {
    format: u32,
    accounts: Accounts,
    groups: Groups,
    queues: Vec<Queue>,
    contacts: Vec<SavedContact>,
}

/// One device's queued stanzas, oldest first, each marshalled and base64-encoded.
#[derive(Serialize, Deserialize)]
struct Queue {
    phone: String,
    device: u16,
    stanzas: Vec<String>,
}

/// A virtual contact to bring back: its number, behaviour, and the device its
/// client was (removed and replaced at the next start).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct SavedContact {
    pub phone: String,
    pub echo: bool,
    pub device: Option<u16>,
}

impl SavedContact {
    pub fn behaviour(&self) -> Behaviour {
        if self.echo { Behaviour::Echo } else { Behaviour::Silent }
    }
}

/// Saves one hub's state under one directory.
pub(crate) struct Persister {
    dir: PathBuf,
    hub: Arc<Hub>,
    contacts: Mutex<BTreeMap<String, SavedContact>>,
    /// What was last written; also serializes writers.
    last: Mutex<Vec<u8>>,
}

impl Persister {
    /// Prepares `dir` and loads what a previous run left there into `hub`. Returns the
    /// persister and the contacts to re-create.
    pub fn open(dir: &Path, hub: Arc<Hub>) -> Result<(Arc<Self>, Vec<SavedContact>)> {
        std::fs::create_dir_all(dir.join("media")).with_context(|| format!("cannot create {}", dir.display()))?;
        let path = dir.join(STATE_FILE);
        let (contacts, last) = match std::fs::read(&path) {
            Ok(bytes) => {
                let snap: Snapshot =
                    serde_json::from_slice(&bytes).with_context(|| format!("cannot read {}", path.display()))?;
                if snap.format != FORMAT {
                    bail!("{} has format {}, this sandbox reads {FORMAT}", path.display(), snap.format);
                }
                let mut st = hub.state();
                st.accounts = snap.accounts;
                st.accounts.ensure_phone_devices();
                st.groups = snap.groups;
                st.offline = decode_queues(snap.queues)?;
                (snap.contacts, bytes)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Vec::new(), Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let by_phone = contacts.iter().map(|c| (c.phone.clone(), c.clone())).collect();
        let me = Arc::new(Self { dir: dir.to_path_buf(), hub, contacts: Mutex::new(by_phone), last: Mutex::new(last) });
        Ok((me, contacts))
    }

    pub fn media_dir(dir: &Path) -> PathBuf {
        dir.join("media")
    }

    /// Records a virtual contact (and the device its client runs as).
    pub fn note_contact(&self, contact: SavedContact) {
        self.contacts.lock().unwrap_or_else(|p| p.into_inner()).insert(contact.phone.clone(), contact);
    }

    /// Writes the state if it changed since the last write.
    pub fn save(&self) -> Result<()> {
        let contacts: Vec<SavedContact> =
            self.contacts.lock().unwrap_or_else(|p| p.into_inner()).values().cloned().collect();
        let bytes = {
            let st = self.hub.state();
            let snap = SnapshotRef {
                format: FORMAT,
                accounts: &st.accounts,
                groups: &st.groups,
                queues: encode_queues(&st)?,
                contacts: &contacts,
            };
            serde_json::to_vec(&snap)?
        };
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if *last == bytes {
            return Ok(());
        }
        write_atomic(&self.dir.join(STATE_FILE), &bytes)?;
        *last = bytes;
        Ok(())
    }

    /// Saves on change until the hub stops.
    pub fn spawn_saver(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(SAVE_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                // Serializing and writing are blocking work; keep them off the
                // runtime's worker threads.
                let m = me.clone();
                match tokio::task::spawn_blocking(move || m.save()).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => log::warn!("sandbox: cannot save state: {e:#}"),
                    Err(_) => return,
                }
            }
        })
    }
}

/// Each device's pending stanzas: the ones written to a socket but not yet acked
/// first (they would be requeued ahead if the socket died now), then its offline queue.
fn encode_queues(st: &State) -> Result<Vec<Queue>> {
    let mut pending: BTreeMap<DeviceAddr, Vec<Node>> = BTreeMap::new();
    for (addr, list) in st.inflight.values() {
        pending.entry(addr.clone()).or_default().extend(list.iter().map(|(_, n)| {
            let mut n = n.clone();
            n.attrs.insert("offline", "1");
            n
        }));
    }
    for (addr, queue) in &st.offline {
        pending.entry(addr.clone()).or_default().extend(queue.iter().cloned());
    }
    pending
        .into_iter()
        .filter(|(_, nodes)| !nodes.is_empty())
        .map(|((phone, device), nodes)| {
            let stanzas = nodes
                .iter()
                .map(|n| Ok(B64.encode(wacore_binary::marshal::marshal(n)?)))
                .collect::<Result<Vec<_>>>()?;
            Ok(Queue { phone, device, stanzas })
        })
        .collect()
}

fn decode_queues(queues: Vec<Queue>) -> Result<HashMap<DeviceAddr, VecDeque<Node>>> {
    let mut out = HashMap::new();
    for q in queues {
        let nodes = q
            .stanzas
            .iter()
            .map(|s| {
                let bytes = B64.decode(s)?;
                let plain = wacore_binary::util::unpack(&bytes)?;
                Ok(wacore_binary::marshal::unmarshal_ref(&plain)?.to_owned())
            })
            .collect::<Result<VecDeque<Node>>>()
            .with_context(|| format!("queued stanzas of {}:{}", q.phone, q.device))?;
        out.insert((q.phone, q.device), nodes);
    }
    Ok(out)
}

/// Replaces `path` with `bytes` so that a crash leaves either the old or the new file.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let tmp = path.with_extension(format!("tmp{}", rand::random::<u32>()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}

/// Serde for the virtual phone's ADV key: its 32 private bytes (the public half is
/// derived again).
pub(crate) mod keypair {
    use serde::{Deserialize, Deserializer, Serializer};
    use wacore::libsignal::protocol::{KeyPair, PrivateKey};

    pub fn serialize<S: Serializer>(kp: &KeyPair, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(kp.private_key.serialize())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<KeyPair, D::Error> {
        let bytes = Vec::<u8>::deserialize(d)?;
        let private = PrivateKey::deserialize(&bytes).map_err(serde::de::Error::custom)?;
        KeyPair::try_from(private).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wacore_binary::builder::NodeBuilder;

    #[test]
    fn queued_stanzas_survive_encoding_in_order() {
        let mut st = State::default();
        let addr = ("15550000000".to_string(), 2);
        for id in ["a", "b"] {
            st.deliver(&addr, NodeBuilder::new("message").attr("id", id).attr("type", "text").build());
        }
        let back = decode_queues(encode_queues(&st).unwrap()).unwrap();
        let ids: Vec<_> = back[&addr].iter().filter_map(|n| crate::nodes::attr(n, "id")).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(crate::nodes::attr(&back[&addr][0], "offline").as_deref(), Some("1"));
    }

    #[test]
    fn the_phone_key_round_trips() {
        let mut accounts = Accounts::default();
        let before = accounts.ensure("15550000001").account_key.public_key;
        let json = serde_json::to_vec(&accounts).unwrap();
        let back: Accounts = serde_json::from_slice(&json).unwrap();
        assert_eq!(back.get("15550000001").unwrap().account_key.public_key, before);
        assert!(back.get("15550000002").is_none());
    }
}
