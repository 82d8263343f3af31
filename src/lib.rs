//! WAREST: a self-hosted, multi-session WhatsApp REST gateway.
//!
//! See `ARCHITECTURE.md` in the shared docs for the component map; each module below opens
//! with what it owns and what it does not.

pub mod app;
pub mod auth;
pub mod config;
pub mod http;
pub mod inbound;
pub mod outbound;
#[cfg(feature = "sandbox")]
pub mod sandbox_api;
pub mod sessions;
pub mod store;
pub mod system;
pub mod telemetry;
#[doc(hidden)]
pub mod testing;
pub mod webhooks;

/// The gateway's version, sent as `X-WAREST-Version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
