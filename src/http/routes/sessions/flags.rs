//! Per-session behaviour flags (from DIGIGO's session options). Stored with the session;
//! the inbound pipeline reads them to skip or auto-answer events, the send routes read
//! `humanPacing`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionFlags {
    /// Do not deliver events from groups.
    #[serde(default)]
    pub ignore_groups: bool,
    /// Do not deliver events from newsletters (channels).
    #[serde(default)]
    pub ignore_newsletters: bool,
    /// Do not deliver status and broadcast-list messages.
    #[serde(default)]
    pub ignore_broadcasts: bool,
    /// Do not deliver messages this account sent (from the phone or another device).
    #[serde(default)]
    pub ignore_own_messages: bool,
    /// Do not deliver call events.
    #[serde(default)]
    pub ignore_calls: bool,
    /// Reject incoming calls automatically.
    #[serde(default)]
    pub reject_calls: bool,
    /// Text sent to a caller whose call was rejected (at most 1024 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reject_call_message: Option<String>,
    /// Pace every send like a person: mark the chat read, show "typing…" for a time that
    /// grows with the text, pause, then send; the same text to many recipients is slowed
    /// more and more. A request's `presence` field overrides it.
    #[serde(default)]
    pub human_pacing: bool,
}
