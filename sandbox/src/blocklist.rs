//! The `blocklist` IQ (get, block, unblock) and the rule it enforces: a 1:1
//! message from an account the recipient blocked is acked to the sender as usual
//! but never delivered (`relay.rs` asks [`is_blocked`]).
//!
//! Blocked accounts are kept by phone number in the blocker's profile data, so a
//! block by LID (as whatsapp-rust sends it, with `pn_jid`) and by PN are the same.

use wacore_binary::Node;
use wacore_binary::builder::NodeBuilder;

use crate::hub::State;
use crate::nodes::{attr, iq_error, iq_result, jid_attr, now};
use crate::server::session::Session;

/// Whether `blocker` has blocked `sender` (both phone numbers).
pub(crate) fn is_blocked(st: &State, blocker: &str, sender: &str) -> bool {
    st.accounts.get(blocker).is_some_and(|a| a.profile.blocked.contains(sender))
}

pub(crate) fn handle(session: &Session, iq: &Node, id: &str, typ: &str) -> Node {
    let Some((me, _)) = session.device().cloned() else {
        return iq_error(id, 401, "not-authorized");
    };
    let mut st = session.hub.state();
    if typ == "get" {
        let Some(acct) = st.accounts.get(&me) else {
            return iq_error(id, 404, "item-not-found");
        };
        let items = acct.profile.blocked.iter().filter_map(|p| st.accounts.get(p)).map(|b| {
            NodeBuilder::new("item")
                .attr("jid", b.lid_jid())
                .attr("pn_jid", b.pn_jid())
                .attr("t", now().to_string())
                .build()
        });
        return iq_result(id, vec![NodeBuilder::new("list").children(items).build()]);
    }
    let Some(item) = iq.get_optional_child("item") else {
        return iq_error(id, 400, "bad-request");
    };
    let action = attr(item, "action").unwrap_or_default();
    let target =
        ["jid", "pn_jid"].iter().filter_map(|k| jid_attr(item, k)).find_map(|j| st.accounts.phone_of(&j.to_non_ad()));
    let Some(target) = target else {
        return iq_error(id, 404, "item-not-found");
    };
    let Some(acct) = st.accounts.get_mut(&me) else {
        return iq_error(id, 404, "item-not-found");
    };
    match action.as_str() {
        "block" if target != me => {
            acct.profile.blocked.insert(target);
        }
        "unblock" => {
            acct.profile.blocked.remove(&target);
        }
        _ => return iq_error(id, 400, "bad-request"),
    }
    iq_result(id, vec![])
}
