//! Sessions: the registry, one actor task per live session owning its whatsapp-rust
//! client, the lifecycle state machine, the events it publishes, and the device store on
//! sqlx. Does not format messages or deliver webhooks.

pub mod actor;
pub mod device_store;
pub mod events;
pub mod hooks;
pub mod live;
pub mod manager;
pub mod media_http;
pub mod proxy;
pub mod qr;
pub mod status;
pub mod stores;
pub mod wa;
