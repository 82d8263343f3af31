//! Sessions: the registry, one actor task per live session owning its whatsapp-rust
//! client, the lifecycle state machine, and the events it publishes. Does not format
//! messages or deliver webhooks.

pub mod actor;
pub mod events;
pub mod manager;
pub mod qr;
pub mod status;
pub mod stores;
pub mod wa;
