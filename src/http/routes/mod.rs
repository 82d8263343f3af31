//! One file per resource: its router, handlers and wire types together.

pub mod admin_users;
pub mod auth;
pub mod keys;
pub mod messages;
pub mod messages_kinds;
pub mod queue;
pub mod server;
pub mod session_control;
pub mod session_flags;
pub mod session_views;
pub mod sessions;
pub mod webhook_ops;
pub mod webhooks;
