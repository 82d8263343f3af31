//! WAREST sandbox: a simulated WhatsApp server for tests.
//!
//! Real whatsapp-rust 0.7.0 clients connect to it over a local WebSocket, run
//! the Noise XX handshake, pair through a QR "scan" hook, log in, exchange
//! end-to-end-encrypted 1:1 messages and receipts, and receive what was queued
//! while they were offline, with no phone and no internet. The server relays
//! ciphertext and never decrypts. `MODELLED.md` lists what is and is not
//! modelled. Start with [`Sandbox::start`].

mod accounts;
mod client;
pub mod contacts;
mod devices;
pub mod events;
mod harness;
mod hub;
mod iq;
mod keys;
mod nodes;
mod pairing;
mod relay;
mod server;
mod usync;

pub use client::{CLIENT_VERSION, EventLog, TestClient, texts_of};
pub use contacts::{Behaviour, InboxEntry};
pub use events::SandboxEvent;
pub use harness::Sandbox;
