//! WAREST: a self-hosted, multi-session WhatsApp REST gateway.
//!
//! See `ARCHITECTURE.md` in the shared docs for the component map; each module below opens
//! with what it owns and what it does not.

// whatsapp-rust's app-state futures (star, delete for me, push name) nest deeper than
// rustc's default layout depth of 128.
#![recursion_limit = "256"]

pub mod actions;
pub mod app;
pub mod auth;
pub mod chats;
pub mod cli;
pub mod config;
pub mod contacts;
pub mod groups;
pub mod http;
pub mod inbound;
pub mod media;
pub mod message_ops;
pub mod messages;
pub mod metrics;
pub mod misc;
pub mod outbound;
#[cfg(feature = "sandbox")]
pub mod sandbox_api;
pub mod sessions;
pub mod store;
pub mod system;
pub mod telemetry;
/// Test support (fresh databases, skips for absent tools): never in a production build.
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod ui;
pub mod webhooks;

/// The gateway's version, sent as `X-WAREST-Version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
