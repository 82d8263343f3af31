//! `<iq>` routing: answers the queries the sandbox models and gives every other
//! query a well-formed "not implemented" error, which the client only logs.
//!
//! Modelled here directly: keepalive ping, passive/active, (empty) props and
//! abprops, tc-token sets, logout (remove-companion-device). Keys, usync, groups, profile data, the blocklist and
//! app-state sync (`appstate.rs`) have their own modules.

use log::debug;
use wacore_binary::Node;

use crate::nodes::{attr, iq_error, iq_result};
use crate::server::session::Session;

pub(crate) fn handle(session: &mut Session, iq: &Node) {
    let id = attr(iq, "id").unwrap_or_default();
    let typ = attr(iq, "type").unwrap_or_default();
    if typ == "result" {
        // Answers to our own IQs: only pair-device-sign carries anything we need.
        crate::pairing::on_device_sign(session, iq);
        return;
    }
    if typ == "error" {
        // A companion that rejects its pair-success (bad HMAC or signature)
        // must not stay half-linked.
        crate::pairing::on_pair_error(session, &id);
        return;
    }
    let xmlns = attr(iq, "xmlns").unwrap_or_default();
    let reply = match xmlns.as_str() {
        "w:p" | "passive" => iq_result(&id, vec![]),
        // Server props (`w`) and A/B props (`abt`): none set, as an empty list.
        "w" | "abt" if iq.get_optional_child("props").is_some() => {
            let protocol = iq.get_optional_child("props").and_then(|p| attr(p, "protocol")).unwrap_or_default();
            let props = wacore_binary::builder::NodeBuilder::new("props").attr("protocol", protocol);
            let props = if xmlns == "w" { props.attr("hash", "sandbox") } else { props };
            iq_result(&id, vec![props.build()])
        }
        // Trusted-contact privacy tokens: accepted (the sandbox issues and checks none).
        "privacy" if typ == "set" && iq.get_optional_child("tokens").is_some() => iq_result(&id, vec![]),
        "encrypt" => crate::keys::handle(session, iq, &id, &typ),
        "usync" => crate::usync::handle(session, iq, &id),
        "w:g2" => crate::groups::handle(session, iq, &id),
        // Group pictures go to the group module; everyone else's to the profile module.
        "w:profile:picture" => crate::group_picture::handle(session, iq, &id)
            .unwrap_or_else(|| crate::profile::picture(session, iq, &id, &typ)),
        "status" if typ == "set" => crate::profile::set_status(session, iq, &id),
        "privacy" => crate::profile::privacy(session, iq, &id, &typ),
        "w:biz" if iq.get_optional_child("business_profile").is_some() => crate::profile::business(session, iq, &id),
        "blocklist" => crate::blocklist::handle(session, iq, &id, &typ),
        "w:m" if iq.get_optional_child("media_conn").is_some() => crate::media::media_conn(&session.hub.media, &id),
        "w:sync:app:state" => crate::appstate::handle(session, iq, &id),
        "md" => {
            if crate::pair_code::handle_iq(session, iq, &id) {
                return;
            }
            // Answer before unlinking: unlinking closes this very socket.
            session.conn.send(iq_result(&id, vec![]));
            if let Some(rm) = iq.get_optional_child("remove-companion-device") {
                remove_companion(session, rm);
            }
            return;
        }
        _ => {
            debug!("sandbox: unmodelled iq xmlns={xmlns} type={typ}");
            iq_error(&id, 501, "feature-not-implemented")
        }
    };
    session.conn.send(reply);
}

fn remove_companion(session: &Session, rm: &Node) {
    let Some(jid) = crate::nodes::jid_attr(rm, "jid") else {
        return;
    };
    let phone = session.hub.state().accounts.phone_of(&jid.to_non_ad());
    if let Some(phone) = phone {
        crate::pairing::unlink(&session.hub, &phone, jid.device);
    }
}
