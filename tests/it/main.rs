//! The gateway's integration tests, as one test binary (one link instead of one per file):
//! each module is one area, `common` and the `*_support` modules are their shared helpers.
//! Tests start the real app on 127.0.0.1:0 (or the real `warest` binary, for restarts and
//! crashes), a fresh database and the sandbox; what they need from the machine beyond Rust
//! (ffmpeg, Postgres) is checked by `common::require`, which prints one SKIP line when it is
//! absent (and fails instead under `WAREST_TEST_REQUIRE_ALL=1`, as CI sets).

// whatsapp-rust's app-state futures (an observer client's star, mute, archive…) nest deeper
// than rustc's default query depth of 128.
#![recursion_limit = "256"]
// A test reads as one scenario; tests build plain HTTP clients and read their own env.
#![allow(clippy::too_many_lines, clippy::disallowed_methods)]

mod chats_support;
mod common;
mod groups_support;
#[cfg(feature = "sandbox")]
mod proxy_support;
mod webhooks_support;

mod admin_key_handover;
mod api_auth;
mod api_http;
mod api_login;
mod api_misc;
mod api_misc_decrypt;
mod api_quotas;
mod api_sessions;
mod compat_actions;
mod compat_env;
mod compat_receivers;
mod durability;
mod e2e_chat_actions;
mod e2e_chats;
mod e2e_groups_create;
mod e2e_groups_invite;
mod e2e_groups_leave;
mod e2e_groups_members;
mod e2e_groups_settings;
mod e2e_inbound_groups_calls;
mod e2e_inbound_media;
mod e2e_profile;
mod e2e_restart;
mod e2e_send;
mod e2e_send_bodies;
mod e2e_send_interactive;
mod e2e_send_kinds;
mod e2e_send_media;
mod e2e_send_paced;
mod e2e_sessions;
mod events_stream;
mod media_guard;
mod metrics_counters;
mod metrics_health;
mod metrics_prometheus;
mod metrics_scrape;
mod migrations;
mod otlp_export;
mod outbound_limits;
mod proxy_api;
mod quota_bytes;
mod restart_schedule;
mod retention;
mod ui_browser;
mod webhook_golden;
mod webhooks_config;
mod webhooks_crash;
mod webhooks_delivery;
mod webhooks_fairness;
mod webhooks_fanout;
mod webhooks_ops;
mod webhooks_private;
mod webhooks_reuse;

// Sandbox builds only: the gateway itself must be able to point sessions at the simulated
// network (`WAREST_WA_URL`, `warest sandbox`, the sandbox-only fail points).
#[cfg(feature = "sandbox")]
mod e2e_action_once;
// Proxied media reaches the sandbox's media host only in sandbox builds.
#[cfg(feature = "sandbox")]
mod e2e_actions;
#[cfg(feature = "sandbox")]
mod e2e_inbound;
#[cfg(feature = "sandbox")]
mod e2e_message_actions;
#[cfg(feature = "sandbox")]
mod e2e_pair_faults;
#[cfg(feature = "sandbox")]
mod e2e_phone_send;
#[cfg(feature = "sandbox")]
mod e2e_sandbox_api;
#[cfg(feature = "sandbox")]
mod e2e_sandbox_process;
#[cfg(feature = "sandbox")]
mod inbound_crash;
#[cfg(feature = "sandbox")]
mod media_hostile;
#[cfg(feature = "sandbox")]
mod outbound_crash;
#[cfg(feature = "sandbox")]
mod proxy_e2e;
#[cfg(feature = "sandbox")]
mod proxy_logs;
#[cfg(feature = "sandbox")]
mod proxy_pool;
#[cfg(feature = "sandbox")]
mod proxy_webhooks;
#[cfg(feature = "sandbox")]
mod sandbox_interop;
