//! Fault injection: what a real network and a real server do to a device when
//! things go wrong, so reconnect and loss paths can be tested.
//!
//! Owns the per-device fault state (refused logins, bans, an outdated client,
//! ack delay or loss) and `inject`, which applies a [`Fault`] now. The login
//! path asks `login_refusal` before `<success>`; the relay asks `ack_fault`
//! before each server `<ack>`. Unlinking and kicking live in `pairing.rs` and
//! the connection itself; this module only decides when to use them.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use wacore_binary::Node;
use wacore_binary::builder::NodeBuilder;

use crate::accounts::DeviceAddr;
use crate::events::SandboxEvent;
use crate::hub::Hub;

/// The ban code sent with a temporary ban (`TempBanReason::SentToTooManyPeople`).
pub const TEMP_BAN_CODE: u32 = 101;

/// One thing that can go wrong for a linked device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The socket dies with no close frame; the client reconnects on its own and
    /// gets what was sent meanwhile from its offline queue.
    Drop,
    /// Logins fail with `<failure reason="503">` (service unavailable, which the
    /// client retries with backoff) for this long; a live socket is dropped.
    RefuseLogins(Duration),
    /// Every server `<ack>` to the device (messages, receipts) goes out this late.
    DelayAcks(Duration),
    /// The server stops sending `<ack>`s to the device; relaying goes on.
    DropAcks,
    /// `<stream:error><conflict type="replaced"/>`: another client took over
    /// (the client emits `StreamReplaced` and stops).
    Conflict,
    /// The user removes the device on the phone (`LoggedOut`, keys useless).
    Logout,
    /// The socket drops and logins fail with `<failure reason="402" code=101
    /// expire=…>` until the ban ends (the client emits `TemporaryBan` and stops).
    TempBan(Duration),
    /// The socket drops and logins fail with `<failure reason="405">` until
    /// cleared (the client emits `ClientOutdated` and stops).
    ClientOutdated,
}

impl Fault {
    /// The wire name used by the gateway's `/api/v1/sandbox/faults` route.
    pub fn name(&self) -> &'static str {
        match self {
            Fault::Drop => "drop",
            Fault::RefuseLogins(_) => "refuse_logins",
            Fault::DelayAcks(_) => "delay_acks",
            Fault::DropAcks => "drop_acks",
            Fault::Conflict => "conflict",
            Fault::Logout => "logout",
            Fault::TempBan(_) => "temp_ban",
            Fault::ClientOutdated => "client_outdated",
        }
    }
}

/// What to do with one server `<ack>`.
pub(crate) enum AckFault {
    Delay(Duration),
    Drop,
}

#[derive(Default)]
pub(crate) struct Faults {
    refuse_until: HashMap<DeviceAddr, Instant>,
    banned_until: HashMap<DeviceAddr, Instant>,
    outdated: HashSet<DeviceAddr>,
    ack_delay: HashMap<DeviceAddr, Duration>,
    ack_drop: HashSet<DeviceAddr>,
}

impl Faults {
    /// The `<failure>` a login of `addr` gets instead of `<success>`, if any.
    /// Expired refusals and bans are forgotten here.
    pub fn login_refusal(&mut self, addr: &DeviceAddr) -> Option<Node> {
        let now = Instant::now();
        self.banned_until.retain(|_, until| *until > now);
        self.refuse_until.retain(|_, until| *until > now);
        if let Some(until) = self.banned_until.get(addr) {
            // At least one second left, so the client never reads a zero-length ban.
            let secs = until.saturating_duration_since(now).as_secs().max(1);
            return Some(
                NodeBuilder::new("failure")
                    .attr("reason", "402")
                    .attr("code", TEMP_BAN_CODE.to_string())
                    .attr("expire", secs.to_string())
                    .attr("message", "temporarily banned by the sandbox")
                    .build(),
            );
        }
        if self.outdated.contains(addr) {
            return Some(
                NodeBuilder::new("failure").attr("reason", "405").attr("message", "client version too old").build(),
            );
        }
        if self.refuse_until.contains_key(addr) {
            return Some(NodeBuilder::new("failure").attr("reason", "503").build());
        }
        None
    }

    /// How the server's next `<ack>` to `addr` is disturbed, if at all.
    pub fn ack_fault(&self, addr: &DeviceAddr) -> Option<AckFault> {
        if self.ack_drop.contains(addr) {
            return Some(AckFault::Drop);
        }
        self.ack_delay.get(addr).map(|d| AckFault::Delay(*d))
    }

    fn clear(&mut self, addr: &DeviceAddr) {
        self.refuse_until.remove(addr);
        self.banned_until.remove(addr);
        self.outdated.remove(addr);
        self.ack_delay.remove(addr);
        self.ack_drop.remove(addr);
    }
}

/// Applies `fault` to `phone:device` now. Fails if no such device is linked.
/// Returns whether the device had a live connection when the fault hit.
pub(crate) fn inject(hub: &Hub, phone: &str, device: u16, fault: Fault) -> Result<bool> {
    let addr = (phone.to_string(), device);
    let mut st = hub.state();
    if st.accounts.device(&addr).is_none() {
        bail!("{phone}:{device} is not a linked device");
    }
    let conn = st.conns.get(&addr).cloned();
    let now = Instant::now();
    // Faults that end at login need the current socket gone, as if the network
    // blinked; the reconnect then meets the refusal.
    let mut drop_socket = false;
    match fault {
        Fault::Drop => drop_socket = true,
        Fault::RefuseLogins(d) => {
            st.faults.refuse_until.insert(addr.clone(), now + d);
            drop_socket = true;
        }
        Fault::DelayAcks(d) => {
            st.faults.ack_delay.insert(addr.clone(), d);
        }
        Fault::DropAcks => {
            st.faults.ack_drop.insert(addr.clone());
        }
        Fault::TempBan(d) => {
            st.faults.banned_until.insert(addr.clone(), now + d);
            drop_socket = true;
        }
        Fault::ClientOutdated => {
            st.faults.outdated.insert(addr.clone());
            drop_socket = true;
        }
        Fault::Conflict => {
            if let Some(c) = &conn {
                c.send(
                    NodeBuilder::new("stream:error")
                        .children([NodeBuilder::new("conflict").attr("type", "replaced").build()])
                        .build(),
                );
                c.close();
            }
        }
        Fault::Logout => {}
    }
    drop(st);
    if fault == Fault::Logout {
        crate::pairing::remove_from_phone(hub, phone, device);
    } else if drop_socket && let Some(c) = &conn {
        c.kill();
    }
    hub.emit(SandboxEvent::FaultInjected { phone: phone.to_string(), device, kind: fault.name().to_string() });
    Ok(conn.is_some())
}

/// Lifts every lasting fault (refusals, bans, outdated, ack faults) of a device.
pub(crate) fn clear(hub: &Hub, phone: &str, device: u16) {
    hub.state().faults.clear(&(phone.to_string(), device));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr() -> DeviceAddr {
        ("15550000000".to_string(), 1)
    }

    fn reason(n: &Node) -> String {
        crate::nodes::attr(n, "reason").unwrap_or_default()
    }

    #[test]
    fn a_ban_outranks_other_refusals_and_carries_its_remaining_time() {
        let mut f = Faults::default();
        f.refuse_until.insert(addr(), Instant::now() + Duration::from_secs(60));
        f.banned_until.insert(addr(), Instant::now() + Duration::from_secs(3600));
        let n = f.login_refusal(&addr()).expect("refused");
        assert_eq!(reason(&n), "402");
        let expire: u64 = crate::nodes::attr(&n, "expire").unwrap().parse().unwrap();
        assert!((3590..=3600).contains(&expire), "{expire}");
        f.clear(&addr());
        assert!(f.login_refusal(&addr()).is_none());
    }

    #[test]
    fn expired_refusals_are_forgotten() {
        let mut f = Faults::default();
        f.refuse_until.insert(addr(), Instant::now() - Duration::from_millis(1));
        assert!(f.login_refusal(&addr()).is_none());
        f.refuse_until.insert(addr(), Instant::now() + Duration::from_secs(5));
        assert_eq!(reason(&f.login_refusal(&addr()).unwrap()), "503");
        assert!(f.login_refusal(&("15550000000".to_string(), 2)).is_none(), "other devices are untouched");
    }
}
