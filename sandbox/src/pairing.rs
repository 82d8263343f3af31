//! Linking companions: the server's and the virtual phone's side of QR pairing.
//!
//! Owns the `<pair-device>` refs, `link` (what a phone does after scanning a QR:
//! sign an ADV device identity with the account key and send `pair-success`),
//! the companion's `pair-device-sign` answer (stored for prekey bundles, then a
//! 515 stream error so the client reconnects and logs in), and unlinking.
//! Phone-number pairing codes (`pair_code.rs`) end in the same `link_companion`.

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use base64::prelude::BASE64_STANDARD;
use buffa::Message as _;
use hmac::{KeyInit, Mac};
use log::info;
use wacore::pair::PairUtils;
use wacore_binary::builder::NodeBuilder;
use wacore_binary::{Jid, Node, SERVER_JID};
use waproto::whatsapp as wa;

use crate::accounts::Device;
use crate::events::SandboxEvent;
use crate::hub::{Hub, PairInFlight, Registration};
use crate::nodes::{attr, children, random_id};
use crate::server::session::Session;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The same prefix the client checks (`ADV_PREFIX_ACCOUNT_SIGNATURE`).
const ADV_PREFIX_ACCOUNT_SIGNATURE: &[u8] = &[6, 0];

/// How many QR refs one `<pair-device>` carries (the client shows each in turn).
const REF_COUNT: usize = 6;

pub(crate) fn send_pair_device(session: &Session) {
    let refs = (0..REF_COUNT)
        .map(|_| NodeBuilder::new("ref").bytes(format!("sandbox-ref-{}", random_id()).into_bytes()).build());
    session.conn.send(
        NodeBuilder::new("iq")
            .attr("from", SERVER_JID)
            .attr("type", "set")
            .attr("id", random_id())
            .attr("xmlns", "md")
            .children([NodeBuilder::new("pair-device").children(refs).build()])
            .build(),
    );
}

/// Plays the primary phone of `phone` scanning `qr`: links the waiting companion
/// as a new device of that account (created if needed). Returns the device JID.
pub fn link(hub: &Hub, qr: &str, phone: &str) -> Result<Jid> {
    let (_ref, noise_pub, identity_pub) = PairUtils::parse_qr_code(qr)?;
    let adv_secret =
        qr.split(',').nth(3).context("QR has no ADV secret").and_then(|s| Ok(BASE64_STANDARD.decode(s)?))?;
    link_companion(hub, noise_pub, &identity_pub, &adv_secret, phone)
}

/// What the phone does once it trusts a waiting companion (by QR or by pair
/// code): sign its identity with the account key, HMAC the result with the
/// shared ADV secret, and send `pair-success`. Returns the device JID.
pub(crate) fn link_companion(
    hub: &Hub,
    noise_pub: [u8; 32],
    identity_pub: &[u8],
    adv_secret: &[u8],
    phone: &str,
) -> Result<Jid> {
    let mut st = hub.state();
    let idx = st
        .registrations
        .iter()
        .position(|r| r.noise_pub == noise_pub)
        .ok_or_else(|| anyhow!("no companion is showing this QR code"))?;
    let reg = st.registrations.remove(idx);
    hub.record_login(reg.peer, phone);
    if reg.keys.identity.as_slice() != identity_pub {
        bail!("QR identity key does not match the registration payload");
    }

    let acct = st.accounts.ensure(phone);
    let device = acct.next_device;
    acct.next_device += 1;
    let key_index = acct.next_key_index;
    acct.next_key_index += 1;

    let details = wa::ADVDeviceIdentity {
        raw_id: Some(acct.adv_raw_id),
        timestamp: Some(crate::nodes::now() as u64),
        key_index: Some(key_index),
        account_type: Some(wa::ADVEncryptionType::E2EE),
        device_type: Some(wa::ADVEncryptionType::E2EE),
    }
    .encode_to_vec();
    let mut to_sign = ADV_PREFIX_ACCOUNT_SIGNATURE.to_vec();
    to_sign.extend_from_slice(&details);
    to_sign.extend_from_slice(identity_pub);
    let signature = acct
        .account_key
        .private_key
        .calculate_signature(&to_sign, &mut rand::rng())
        .map_err(|e| anyhow!("ADV account signature: {e}"))?;
    let signed = wa::ADVSignedDeviceIdentity {
        details: Some(details),
        account_signature_key: Some(acct.account_key.public_key.public_key_bytes().to_vec()),
        account_signature: Some(signature.to_vec()),
        ..Default::default()
    }
    .encode_to_vec();
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(adv_secret).map_err(|e| anyhow!("ADV secret: {e}"))?;
    mac.update(&signed);
    let container = wa::ADVSignedDeviceIdentityHMAC {
        details: Some(signed),
        hmac: Some(mac.finalize().into_bytes().to_vec()),
        ..Default::default()
    }
    .encode_to_vec();

    let pn = Jid::pn_device(phone, device);
    let lid = Jid::lid_device(acct.lid.as_str(), device);
    acct.devices
        .insert(device, Device { id: device, keys: reg.keys, device_identity: None, key_index, key_shared: false });

    let iq_id = random_id();
    let iq = NodeBuilder::new("iq")
        .attr("from", SERVER_JID)
        .attr("type", "set")
        .attr("id", iq_id.as_str())
        .attr("xmlns", "md")
        .children([NodeBuilder::new("pair-success")
            .children([
                NodeBuilder::new("device").attr("jid", pn.clone()).attr("lid", lid).build(),
                NodeBuilder::new("device-identity").bytes(container).build(),
                NodeBuilder::new("platform").attr("name", "sandbox").build(),
            ])
            .build()])
        .build();
    reg.conn.send(iq);
    st.pairing.insert(iq_id, PairInFlight { addr: (phone.to_string(), device), conn: reg.conn, noise_pub });
    info!("sandbox: linking {pn}");
    Ok(pn)
}

/// The companion's `<iq type=result><pair-device-sign>`: keep its countersigned
/// identity and send it off to reconnect, as the real server does with a 515.
pub(crate) fn on_device_sign(session: &Session, iq: &Node) -> bool {
    let Some(sign) = iq.get_optional_child("pair-device-sign") else {
        return false;
    };
    let Some(id) = attr(iq, "id") else {
        return true;
    };
    let identity =
        children(sign).iter().find(|c| c.tag == "device-identity").and_then(crate::nodes::bytes).map(<[u8]>::to_vec);
    let mut st = session.hub.state();
    let Some(flight) = st.pairing.remove(&id) else {
        return true;
    };
    let mut key_index = None;
    if let Some(dev) = st.accounts.device_mut(&flight.addr) {
        dev.device_identity = identity;
        key_index = Some(dev.key_index);
    }
    drop(st);
    flight.conn.send(NodeBuilder::new("stream:error").attr("code", "515").build());
    flight.conn.close();
    let (phone, device) = flight.addr;
    if let Some(k) = key_index {
        crate::devices::announce(&session.hub, &phone, device, k, true);
    }
    session.hub.emit(SandboxEvent::Linked { phone, device });
    true
}

/// The companion refused `pair-success`: undo the link, and let it be scanned
/// again (it keeps showing QR codes).
pub(crate) fn on_pair_error(session: &Session, iq_id: &str) {
    let mut st = session.hub.state();
    let Some(flight) = st.pairing.remove(iq_id) else {
        return;
    };
    log::warn!("sandbox: companion rejected pairing as {:?}", flight.addr);
    let removed = st.accounts.get_mut(&flight.addr.0).and_then(|a| a.devices.remove(&flight.addr.1));
    if let Some(dev) = removed {
        st.registrations.push(Registration {
            conn: flight.conn,
            noise_pub: flight.noise_pub,
            keys: dev.keys,
            peer: session.peer,
        });
    }
    drop(st);
    let (phone, device) = flight.addr;
    session.hub.emit(SandboxEvent::PairingRejected { phone, device });
}

/// Removes a device from its account (logout / remove-companion-device).
pub(crate) fn unlink(hub: &Hub, phone: &str, device: u16) {
    unlink_with(hub, phone, device, None);
}

/// The primary phone removes a linked device: a connected client is told with
/// `<stream:error code="401"><conflict type="device_removed"/>` (it logs out);
/// an offline one finds out at its next login (`<failure reason="401">`).
pub(crate) fn remove_from_phone(hub: &Hub, phone: &str, device: u16) {
    let notice = NodeBuilder::new("stream:error")
        .attr("code", "401")
        .children([NodeBuilder::new("conflict").attr("type", "device_removed").build()])
        .build();
    unlink_with(hub, phone, device, Some(notice));
}

fn unlink_with(hub: &Hub, phone: &str, device: u16, notice: Option<Node>) {
    if device == crate::phone_keys::PHONE_DEVICE {
        // The phone cannot be unlinked from its own account.
        return;
    }
    let mut st = hub.state();
    let removed = st.accounts.get_mut(phone).and_then(|a| a.devices.remove(&device));
    let addr = (phone.to_string(), device);
    st.offline.remove(&addr);
    if let Some(conn) = st.conns.remove(&addr) {
        if let Some(notice) = notice {
            conn.send(notice);
        }
        conn.close();
    }
    drop(st);
    if let Some(dev) = removed {
        crate::devices::announce(hub, phone, device, dev.key_index, false);
        hub.emit(SandboxEvent::Unlinked { phone: phone.to_string(), device });
    }
}
