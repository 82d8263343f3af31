//! The sessions component: the WhatsApp sessions this gateway runs. For now only the
//! device store, the per-session persistence whatsapp-rust's client runs on; the session
//! registry and lifecycle arrive separately.

pub mod device_store;
