//! What the sandbox server reports about itself, for tests to wait on.
//!
//! These are server-side observations (a device linked, logged in, a stanza
//! relayed). Client-side events stay with the clients (`harness.rs`).

/// One server-side observation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SandboxEvent {
    /// A companion connected with a registration payload and got QR refs.
    AwaitingPairing { conn: u64 },
    /// A companion countersigned its identity: it is now a device of `phone`.
    Linked { phone: String, device: u16 },
    /// A device completed login (`<success>` sent).
    LoggedIn { phone: String, device: u16 },
    /// A companion refused its `pair-success` (bad HMAC or signature); the
    /// link was undone and it can be scanned again.
    PairingRejected { phone: String, device: u16 },
    /// A logged-in device's socket closed.
    Disconnected { phone: String, device: u16 },
    /// A device was removed from its account (logout / remove-companion).
    Unlinked { phone: String, device: u16 },
    /// A `<message>` was handed to a device (live or queued).
    MessageRelayed { id: String, from: String, to_phone: String, to_device: u16, live: bool },
    /// A 1:1 `<message>` was dropped because `to_phone` blocked its sender.
    MessageBlocked { id: String, from: String, to_phone: String },
    /// A `<receipt>` was relayed.
    ReceiptRelayed { id: String, from: String, to: String, kind: String },
    /// A waiting companion asked for a pairing code for `phone` (`companion_hello`).
    PairCodeRequested { phone: String },
    /// A fault (`Fault::name`) was applied to a device.
    FaultInjected { phone: String, device: u16, kind: String },
    /// The server sent an `<ack class=…>` for stanza `id` to a device (after any
    /// injected delay).
    AckSent { id: String, class: String, phone: String, device: u16 },
    /// A `<call>` action (`offer`, `reject`, `terminate`, …) was relayed from a device of
    /// `from` to the live devices of `to`.
    CallRelayed { from: String, to: String, action: String, call_id: String },
    /// An injected fault swallowed the `<ack>` for stanza `id`.
    AckDropped { id: String, class: String, phone: String, device: u16 },
    /// The virtual phone of `phone` (device 0) decrypted message `id` into its inbox.
    PhoneReceived { phone: String, id: String },
    /// The virtual phone of `phone` could not decrypt message `id`.
    PhoneUndecryptable { phone: String, id: String, error: String },
}
