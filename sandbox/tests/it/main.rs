//! The simulated network's own tests, as one test binary: real whatsapp-rust clients
//! (no gateway) pair, chat, sync app state and survive faults against the sandbox server.
//! `common` holds the shared client helpers.

// Tests read their own env (timeouts, tool paths).
#![allow(clippy::disallowed_methods)]
// whatsapp-rust's app-state futures nest deeper than rustc's default query depth
// (with the workspace's features unified).
#![recursion_limit = "256"]

mod common;

mod appstate;
mod contacts;
mod devices;
mod faults;
mod group_admin;
mod group_requests;
mod groups;
mod lookup;
mod media;
mod media_http;
mod messaging;
mod offline;
mod pair_code;
mod pairing;
mod persist;
mod phone_send;
mod presence;
