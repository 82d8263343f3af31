//! Calls, signalling only: a device's `<call to=…>` (offer, reject, terminate, …) is
//! acked and relayed to the live devices of the other account as
//! `<call from=sender-device id t>` with the same action child, as WhatsApp's server does.
//! No media, no relay allocation, no offline queue: a call to nobody online just rings
//! nowhere. Tests place calls through `Sandbox::contact_call`.

use wacore_binary::Jid;
use wacore_binary::Node;
use wacore_binary::builder::NodeBuilder;

use crate::events::SandboxEvent;
use crate::nodes::{attr, children, jid_attr, now, random_id};
use crate::server::session::Session;

pub(crate) fn relay(session: &Session, node: &Node) {
    let Some((phone, dev)) = session.device().cloned() else {
        return;
    };
    let Some(to) = jid_attr(node, "to") else {
        return;
    };
    let Some(action) = children(node).first() else {
        return;
    };
    let id = attr(node, "id").unwrap_or_else(random_id);
    // The server answers every <call> with an ack naming the action (an offer's ack would
    // carry the relay endpoints; there are none to give here).
    crate::relay::ack(session, "call", &id, Some(&to.to_string()), Some(action.tag.as_ref()));
    let hub = session.hub.clone();
    let st = hub.state();
    let Some(target) = st.accounts.phone_of(&to.to_non_ad()) else {
        return;
    };
    let out = NodeBuilder::new("call")
        .attr("from", Jid::pn_device(phone.as_str(), dev))
        .attr("id", id)
        .attr("t", now().to_string())
        .children(vec![action.clone()])
        .build();
    let targets: Vec<_> =
        if to.device != 0 { st.accounts.device_of(&to).into_iter().collect() } else { st.accounts.devices_of(&target) };
    for addr in targets {
        if let Some(conn) = st.conns.get(&addr) {
            conn.send(out.clone());
        }
    }
    drop(st);
    hub.emit(SandboxEvent::CallRelayed {
        from: phone,
        to: target,
        action: action.tag.to_string(),
        call_id: attr(action, "call-id").unwrap_or_default(),
    });
}
