//! Device-list change notifications (`<notification type="devices">`).
//!
//! When a companion is linked or unlinked, every device of every account
//! (including the account's own other devices) is told, so cached device lists
//! stay right for fan-out. The real service only tells interested contacts; in
//! a sandbox "everyone" is small enough. Offline devices get it on next login.

use wacore_binary::Jid;
use wacore_binary::builder::NodeBuilder;

use crate::hub::Hub;
use crate::nodes::{now, random_id};

/// Announces that `phone:device` (with ADV `key_index`) was added or removed.
/// Call after the account reflects the change.
pub(crate) fn announce(hub: &Hub, phone: &str, device: u16, key_index: u32, added: bool) {
    let mut st = hub.state();
    let Some(acct) = st.accounts.get(phone) else {
        return;
    };
    let op = NodeBuilder::new(if added { "add" } else { "remove" })
        .children([
            NodeBuilder::new("device")
                .attr("jid", Jid::pn_device(phone, device))
                .attr("key-index", key_index.to_string())
                .build(),
            crate::usync::key_index_list(acct),
        ])
        .build();
    let node = NodeBuilder::new("notification")
        .attr("from", acct.pn_jid())
        .attr("type", "devices")
        .attr("id", random_id())
        .attr("t", now().to_string())
        .children([op])
        .build();
    let targets: Vec<_> = st.accounts.all_devices().into_iter().filter(|a| !(a.0 == phone && a.1 == device)).collect();
    for addr in targets {
        st.deliver(&addr, node.clone());
    }
}
