//! The lifecycle states every session response shows (WAHA's names) and the WAREST
//! `session_status` tags published on transitions. Pure: no I/O here.

use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// Not running: never started, stopped on request, or logged out.
    Stopped,
    /// Connecting (or reconnecting) to WhatsApp.
    Starting,
    /// Waiting for the phone to scan the QR code or enter the pairing code.
    ScanQrCode,
    /// Connected and logged in.
    Working,
    /// Stopped by an error it cannot recover from alone; `lastError` says why.
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Stopped => "STOPPED",
            Status::Starting => "STARTING",
            Status::ScanQrCode => "SCAN_QR_CODE",
            Status::Working => "WORKING",
            Status::Failed => "FAILED",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        [Status::Stopped, Status::Starting, Status::ScanQrCode, Status::Working, Status::Failed]
            .into_iter()
            .find(|st| st.as_str() == s)
    }

    /// Whether a client is (or should be) running for this state.
    pub fn is_running(self) -> bool {
        matches!(self, Status::Starting | Status::ScanQrCode | Status::Working)
    }
}

/// The `tags` of WAREST `session_status` events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tag {
    Create,
    Connecting,
    Qr,
    PairingCode,
    Open,
    Reconnecting,
    LoggedOut,
    Failed,
    Stopped,
    Delete,
    /// The pool moved the session to another proxy (`reason`, `proxy`, `previousProxy`).
    ProxyChanged,
}

impl Tag {
    /// Its wire name (the `reason` label of `warest_session_transitions_total`).
    pub fn as_str(self) -> &'static str {
        match self {
            Tag::Create => "create",
            Tag::Connecting => "connecting",
            Tag::Qr => "qr",
            Tag::PairingCode => "pairing_code",
            Tag::Open => "open",
            Tag::Reconnecting => "reconnecting",
            Tag::LoggedOut => "logged_out",
            Tag::Failed => "failed",
            Tag::Stopped => "stopped",
            Tag::Delete => "delete",
            Tag::ProxyChanged => "proxy_changed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_their_wire_names() {
        for st in [Status::Stopped, Status::Starting, Status::ScanQrCode, Status::Working, Status::Failed] {
            assert_eq!(Status::parse(st.as_str()), Some(st));
            assert_eq!(serde_json::to_value(st).unwrap(), st.as_str());
        }
        assert_eq!(Status::parse("open"), None);
        assert_eq!(serde_json::to_value(Tag::PairingCode).unwrap(), "pairing_code");
        for t in [Tag::Create, Tag::Qr, Tag::Open, Tag::Reconnecting, Tag::LoggedOut, Tag::ProxyChanged] {
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
    }
}
