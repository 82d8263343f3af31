//! App-state sync (syncd): the server's side of `w:sync:app:state`.
//!
//! The server keeps, per account and collection (`regular`, `regular_low`, …),
//! the ordered list of patches the account's devices pushed; patch `n` is
//! version `n`. It never decrypts them: mutations are encrypted and MAC'd with
//! the app-state key the virtual phone shares (`phone.rs`), exactly as on the
//! real service. What it enforces is the optimistic concurrency WhatsApp uses:
//! a pushed patch must name the collection's current version as its base, or it
//! is refused with `<collection type="error"><error code="409"/>` carrying the
//! patches the pusher has not seen (whatsapp-rust applies them and rebuilds).
//! An accepted patch gets the next version and every *other* device of the
//! account is sent `<notification type="server_sync">` naming the collection
//! and version, so it fetches. Snapshots are never served: a fetch from version
//! 0 gets every patch from the genesis patch (v1) on, which the client accepts.

use std::collections::BTreeMap;

use wacore_binary::builder::NodeBuilder;
use wacore_binary::{Node, SERVER_JID};

use crate::accounts::DeviceAddr;
use crate::hub::Hub;
use crate::nodes::{attr, bytes, children, iq_error, iq_result, now, random_id};
use crate::server::session::Session;

/// The collections whatsapp-rust knows (`WAPatchName`); pushes elsewhere are refused.
pub const COLLECTIONS: [&str; 5] = ["critical_block", "critical_unblock_low", "regular_low", "regular_high", "regular"];

/// At most this many patches in one answer; the rest follow with `has_more_patches`.
const PAGE: usize = 50;
/// A pushed patch larger than this is refused (400): no real verb comes close.
const MAX_PATCH_BYTES: usize = 1 << 20;
/// Patches kept per collection; a push beyond it is refused (a runaway test, not WhatsApp).
const MAX_PATCHES: usize = 100_000;

/// One account's collections: encoded `SyncdPatch`es with their `version` set.
#[derive(Default, Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Collections(BTreeMap<String, Vec<Vec<u8>>>);

impl Collections {
    pub fn version(&self, name: &str) -> u64 {
        self.0.get(name).map_or(0, |p| p.len() as u64)
    }

    /// Patches after `version` (at most `PAGE`), and whether more follow.
    fn since(&self, name: &str, version: u64) -> (Vec<Vec<u8>>, bool) {
        let all = self.0.get(name).map(Vec::as_slice).unwrap_or_default();
        let from = usize::try_from(version).unwrap_or(usize::MAX).min(all.len());
        let rest = &all[from..];
        (rest.iter().take(PAGE).cloned().collect(), rest.len() > PAGE)
    }

    /// Every patch of every collection, decoded (for harness assertions).
    pub fn patches(&self, name: &str) -> Vec<waproto::whatsapp::SyncdPatch> {
        self.0
            .get(name)
            .map(|p| p.iter().filter_map(|b| waproto::codec::syncd_patch_decode(b).ok()).collect())
            .unwrap_or_default()
    }
}

/// What became of one pushed patch.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PushOutcome {
    Accepted(u64),
    /// The base is behind: the patches after it, and whether more follow.
    Conflict(Vec<Vec<u8>>, bool),
    Refused(u16, &'static str),
}

/// Stores `patch` as the next version of `name` if `base` is the current one.
pub(crate) fn push(cols: &mut Collections, name: &str, base: u64, patch: &[u8]) -> PushOutcome {
    if !COLLECTIONS.contains(&name) {
        return PushOutcome::Refused(400, "unknown collection");
    }
    if patch.len() > MAX_PATCH_BYTES {
        return PushOutcome::Refused(400, "patch too large");
    }
    let current = cols.version(name);
    if base < current {
        let (patches, more) = cols.since(name, base);
        return PushOutcome::Conflict(patches, more);
    }
    if base > current {
        // The device claims a version the server never issued.
        return PushOutcome::Refused(400, "version ahead of server");
    }
    if current as usize >= MAX_PATCHES {
        return PushOutcome::Refused(500, "collection full");
    }
    let Ok(mut decoded) = waproto::codec::syncd_patch_decode(patch) else {
        return PushOutcome::Refused(400, "undecodable patch");
    };
    let version = current + 1;
    // Clients send patches without a version (it is implied by the base); the
    // server stamps it, and receivers check the patch MAC against it.
    decoded.version = buffa::MessageField::some(waproto::whatsapp::SyncdVersion { version: Some(version) });
    cols.0.entry(name.to_string()).or_default().push(waproto::codec::syncd_patch_to_vec(&decoded));
    PushOutcome::Accepted(version)
}

fn patches_node(patches: Vec<Vec<u8>>) -> Node {
    NodeBuilder::new("patches")
        .children(patches.into_iter().map(|p| NodeBuilder::new("patch").bytes(p).build()))
        .build()
}

/// Answers a `w:sync:app:state` IQ: pushes (a `<patch>` under the collection)
/// and fetches (patches since `version`) may be mixed in one `<sync>`.
pub(crate) fn handle(session: &Session, iq: &Node, id: &str) -> Node {
    let Some(addr) = session.device().cloned() else {
        return iq_error(id, 401, "not-authorized");
    };
    let requested: Vec<Node> = iq
        .get_optional_child("sync")
        .map(children)
        .unwrap_or_default()
        .iter()
        .filter(|c| c.tag == "collection")
        .cloned()
        .collect();
    let mut answers = Vec::with_capacity(requested.len());
    let mut notify = Vec::new();
    {
        let mut st = session.hub.state();
        let Some(acct) = st.accounts.get_mut(&addr.0) else {
            return iq_error(id, 404, "item-not-found");
        };
        for col in &requested {
            let Some(name) = attr(col, "name") else { continue };
            let base = attr(col, "version").and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            let answer = match col.get_optional_child("patch").and_then(bytes) {
                Some(patch) => match push(&mut acct.app_state, &name, base, patch) {
                    PushOutcome::Accepted(v) => {
                        notify.push((name.clone(), v));
                        NodeBuilder::new("collection").attr("name", name).attr("version", v.to_string()).build()
                    }
                    PushOutcome::Conflict(patches, more) => {
                        let mut b = NodeBuilder::new("collection")
                            .attr("name", name.as_str())
                            .attr("type", "error")
                            .attr("version", acct.app_state.version(&name).to_string());
                        if more {
                            b = b.attr("has_more_patches", "true");
                        }
                        b.children([
                            NodeBuilder::new("error").attr("code", "409").attr("text", "conflict").build(),
                            patches_node(patches),
                        ])
                        .build()
                    }
                    PushOutcome::Refused(code, text) => NodeBuilder::new("collection")
                        .attr("name", name)
                        .attr("type", "error")
                        .children([NodeBuilder::new("error").attr("code", code.to_string()).attr("text", text).build()])
                        .build(),
                },
                None => {
                    let (patches, more) = acct.app_state.since(&name, base);
                    let mut b = NodeBuilder::new("collection")
                        .attr("name", name.as_str())
                        .attr("version", acct.app_state.version(&name).to_string());
                    if more {
                        b = b.attr("has_more_patches", "true");
                    }
                    if patches.is_empty() { b.build() } else { b.children([patches_node(patches)]).build() }
                }
            };
            answers.push(answer);
        }
    }
    for (name, version) in notify {
        server_sync(&session.hub, &addr, &name, version);
    }
    iq_result(id, vec![NodeBuilder::new("sync").children(answers).build()])
}

/// Tells the account's other devices that `name` moved to `version` (queued
/// for offline ones, which also catch up at their next login sync).
fn server_sync(hub: &Hub, from: &DeviceAddr, name: &str, version: u64) {
    let mut st = hub.state();
    let node = NodeBuilder::new("notification")
        .attr("from", SERVER_JID)
        .attr("type", "server_sync")
        .attr("id", random_id())
        .attr("t", now().to_string())
        .children([NodeBuilder::new("collection").attr("name", name).attr("version", version.to_string()).build()])
        .build();
    let others: Vec<_> = st.accounts.devices_of(&from.0).into_iter().filter(|a| a != from).collect();
    for addr in others {
        st.deliver(&addr, node.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patch() -> Vec<u8> {
        waproto::codec::syncd_patch_to_vec(&waproto::whatsapp::SyncdPatch::default())
    }

    #[test]
    fn pushes_get_consecutive_versions_and_a_stale_base_conflicts() {
        let mut c = Collections::default();
        assert_eq!(push(&mut c, "regular_low", 0, &patch()), PushOutcome::Accepted(1));
        assert_eq!(push(&mut c, "regular_low", 1, &patch()), PushOutcome::Accepted(2));
        match push(&mut c, "regular_low", 1, &patch()) {
            PushOutcome::Conflict(p, more) => {
                assert_eq!(p.len(), 1);
                assert!(!more);
                let v = waproto::codec::syncd_patch_decode(&p[0]).unwrap();
                assert_eq!(v.version.as_option().and_then(|v| v.version), Some(2));
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
        assert_eq!(push(&mut c, "regular_low", 7, &patch()), PushOutcome::Refused(400, "version ahead of server"));
        assert_eq!(push(&mut c, "nope", 0, &patch()), PushOutcome::Refused(400, "unknown collection"));
        assert_eq!(c.version("regular_low"), 2);
        assert_eq!(c.version("regular"), 0);
    }

    #[test]
    fn fetches_are_paged() {
        let mut c = Collections::default();
        for v in 0..(PAGE as u64 + 3) {
            assert_eq!(push(&mut c, "regular", v, &patch()), PushOutcome::Accepted(v + 1));
        }
        let (p, more) = c.since("regular", 0);
        assert_eq!((p.len(), more), (PAGE, true));
        let (p, more) = c.since("regular", PAGE as u64);
        assert_eq!((p.len(), more), (3, false));
        assert!(c.since("regular", 999).0.is_empty());
    }
}
