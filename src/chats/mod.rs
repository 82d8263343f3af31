//! Chats: chat-level actions (mute, archive, pin, clear, read receipts, pinned messages)
//! run on a session's live client. App-state (syncd) changes made on the phone or another
//! linked device come back as events and keep the `chats` rows current (`sync`), so the
//! store reflects both directions. The rows themselves are `crate::messages::chats`'s.
//! Owns no HTTP: `http::routes::chats` calls in here.

pub mod actions;
pub mod sync;
