//! WAREST sandbox: a simulated WhatsApp server for tests.
//!
//! Real whatsapp-rust 0.7.0 clients connect to it over a local WebSocket, run
//! the Noise XX handshake, pair through a QR "scan" hook (or a pairing code), log in, exchange
//! end-to-end-encrypted 1:1 messages, receipts and media, and receive what was
//! queued while they were offline, with no phone and no internet. The server relays
//! ciphertext and never decrypts. `MODELLED.md` lists what is and is not
//! modelled. Start with [`Sandbox::start`].
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use std::time::Duration;
//! use warest_sandbox::{Behaviour, Sandbox};
//! use wacore_binary::Jid;
//!
//! let sandbox = Sandbox::start().await?;
//! let wait = Duration::from_secs(30);
//! // A plain client, linked to +1 555 000 1111 through the QR hook.
//! let alice = sandbox.paired_client("15550001111", wait).await?;
//! // A virtual contact: a real client the sandbox runs, answering with echoes.
//! sandbox.create_contact("15550002222", Behaviour::Echo).await?;
//! alice.client.send_text(Jid::pn("15550002222"), "ping").await?;
//! sandbox.wait_inbox("15550002222", wait, |m| m.text.as_deref() == Some("ping")).await?;
//! alice.wait_for_text("ping", wait).await?; // the echo
//! # Ok(()) }
//! ```
//!
//! For a client under your own control (e.g. the gateway's), start from
//! [`Sandbox::bot_builder`] (transport URL, the sandbox's media host as HTTP
//! client, pinned [`CLIENT_VERSION`]), build whatsapp-rust with
//! `danger-skip-cert-chain-verify`, and pass the QR string from its
//! `PairingQrCode` event to [`Sandbox::link`].

mod accounts;
mod appstate;
mod blocklist;
mod calls;
mod client;
mod contact_groups;
pub mod contacts;
mod devices;
pub mod events;
mod faults;
mod group_admin;
mod group_invite;
mod group_picture;
mod group_requests;
mod group_settings;
mod groups;
mod harness;
mod hub;
mod iq;
mod keys;
mod media;
mod nodes;
mod pair_code;
mod pairing;
mod persist;
mod phone;
mod phone_group;
mod phone_inbox;
mod phone_keys;
mod phone_send;
mod profile;
mod relay;
mod root_key;
pub(crate) mod server;
mod usync;

pub use client::{CLIENT_VERSION, ClientSetup, EventLog, TestClient, bot_builder, is_app_state_event, texts_of};
pub use contact_groups::{GroupMember, GroupNote, JoinOutcome};
pub use contacts::{Behaviour, CallEntry, InboxEntry, InboxMedia};
pub use events::SandboxEvent;
pub use faults::{Fault, TEMP_BAN_CODE};
pub use harness::{Sandbox, SandboxOptions};
pub use media::{MEDIA_HOST, SandboxHttp};
pub use profile::{BusinessProfile, ProfileView};
pub use server::http::HandedRequest;
