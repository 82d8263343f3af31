//! The message store: the `messages`, `chats` and `contacts` tables, and the one owner of
//! their SQL. The inbound pipeline writes through [`inbound`] (inside its outbox
//! transaction); chats, message operations, the send path and the contact list read and
//! change rows through the functions here. Decides nothing about what to store.

pub mod chats;
pub mod contacts;
mod forget;
pub mod inbound;
pub mod lookup;
mod sources;

pub use lookup::MsgRef;
pub use sources::Stored;
