//! One folder per resource: its router, handlers and wire types together. Routes parse,
//! call one component function and answer.

pub mod chats;
pub mod groups;
pub mod media;
pub mod messages;
pub mod misc;
pub mod profile;
pub mod server;
pub mod sessions;
pub mod users;
pub mod webhooks;
