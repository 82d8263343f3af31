//! Virtual contacts (work in progress).

/// How a virtual contact reacts to incoming text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// Replies with the same text.
    Echo,
    /// Records and says nothing.
    Silent,
}

/// A virtual contact (filled in by M5).
pub struct Contact;
