//! Chats: the chat list and chat history read from the message store, and chat-level
//! actions (mute, archive, pin, clear, read receipts, pinned messages) run on a session's
//! live client. App-state (syncd) changes made on the phone or another linked device come
//! back as events and keep the `chats` rows current (`sync`), so the store reflects both
//! directions. Owns no HTTP: `http::routes::chats` and `chat_actions` call in here.

pub mod actions;
pub mod store;
pub mod sync;
