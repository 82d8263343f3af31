//! What happens right after the Noise handshake.
//!
//! A registration payload (a new companion) gets `<pair-device>` refs and waits
//! for `pairing::link`; a login payload (phone number + device id) of a linked
//! device gets `<success>`, its offline queue, and the `<ib><offline/>` marker
//! that ends the client's offline-sync wait (and, at its first login, the
//! virtual phone's app-state key share, see `phone.rs`). Anything else gets
//! `<failure reason="401">`, which the client reads as "logged out".

use std::collections::VecDeque;

use log::info;
use wacore_binary::Jid;
use wacore_binary::builder::NodeBuilder;
use waproto::whatsapp as wa;

use super::session::{Session, Who};
use crate::accounts::{DeviceKeys, SignedPreKey};
use crate::events::SandboxEvent;
use crate::hub::Registration;
use crate::nodes::{be_uint, now};

pub(crate) fn start(session: &mut Session, client_static: [u8; 32], payload: wa::ClientPayload) {
    if let Some(reg) = payload.device_pairing_data.as_option() {
        let Some(keys) = registration_keys(reg) else {
            fail(session, "400");
            return;
        };
        session.who = Who::Registering;
        session.hub.state().registrations.push(Registration {
            conn: session.conn.clone(),
            noise_pub: client_static,
            keys,
            peer: session.peer,
        });
        crate::pairing::send_pair_device(session);
        session.hub.emit(SandboxEvent::AwaitingPairing { conn: session.conn.id });
        return;
    }

    let phone = payload.username.map(|u| u.to_string()).unwrap_or_default();
    let device = payload.device.unwrap_or(0) as u16;
    let addr = (phone.clone(), device);
    let hub = session.hub.clone();
    let mut st = hub.state();
    let Some(acct) = st.accounts.get(&phone) else {
        drop(st);
        fail(session, "401");
        return;
    };
    // Device 0 is the virtual phone: no client logs in as it.
    if device == crate::phone_keys::PHONE_DEVICE || !acct.devices.contains_key(&device) {
        drop(st);
        fail(session, "401");
        return;
    }
    let lid = Jid::lid_device(acct.lid.as_str(), device);
    if let Some(refusal) = st.faults.login_refusal(&addr) {
        // An injected fault (`faults.rs`): banned, outdated or refusing logins.
        drop(st);
        info!("sandbox: refusing the login of {phone}:{device} (fault)");
        session.conn.send(refusal);
        session.conn.close();
        return;
    }
    if let Some(old) = st.conns.insert(addr.clone(), session.conn.clone()) {
        // A device has one socket; the newer one wins, and the older one is told
        // so (its client then stops reconnecting instead of fighting back).
        old.send(
            NodeBuilder::new("stream:error")
                .children([NodeBuilder::new("conflict").attr("type", "replaced").build()])
                .build(),
        );
        old.close();
    }
    session.who = Who::Device(addr.clone());
    session.conn.send(
        NodeBuilder::new("success")
            .attr("t", now().to_string())
            .attr("lid", lid)
            .attr("props", "1")
            .attr("abprops", "1")
            .attr("location", "sandbox")
            .attr("creation", now().to_string())
            .build(),
    );
    let queued = st.flush_offline(&addr);
    session.conn.send(
        NodeBuilder::new("ib")
            .children([NodeBuilder::new("offline").attr("count", queued.to_string()).build()])
            .build(),
    );
    let share_key = !st.accounts.device(&addr).is_some_and(|d| d.key_shared)
        && !st.accounts.get(&addr.0).is_some_and(|a| a.withhold_app_state_key);
    drop(st);
    if share_key {
        // What the primary phone does for a new companion; without it the
        // client waits 10 s for app-state keys before `Connected`.
        let hub = hub.clone();
        tokio::spawn(async move {
            if let Err(e) = crate::phone::share_app_state_key(&hub, &addr).await {
                log::warn!("sandbox: app-state key share to {addr:?} failed: {e:#}");
            }
        });
    }
    hub.record_login(session.peer, &phone);
    info!("sandbox: {phone}:{device} logged in ({queued} queued stanzas flushed)");
    hub.emit(SandboxEvent::LoggedIn { phone, device });
}

fn fail(session: &Session, reason: &str) {
    session.conn.send(NodeBuilder::new("failure").attr("reason", reason).build());
    session.conn.close();
}

/// The keys a companion announces in its registration payload; the same ones it
/// later uploads at login, so a freshly linked device is reachable at once.
fn registration_keys(reg: &wa::client_payload::DevicePairingRegistrationData) -> Option<DeviceKeys> {
    Some(DeviceKeys {
        registration_id: be_uint(reg.e_regid.as_deref()?),
        identity: reg.e_ident.clone()?,
        signed_prekey: SignedPreKey {
            id: be_uint(reg.e_skey_id.as_deref()?),
            public: reg.e_skey_val.clone()?,
            signature: reg.e_skey_sig.clone()?,
        },
        one_time: VecDeque::new(),
    })
}
