//! `warest sandbox`: the gateway wired to an embedded simulated WhatsApp network, and the
//! `/api/v1/sandbox/*` routes that play the other side — virtual contacts that send and
//! receive, the virtual phone that scans a session's QR or enters its pairing code, and
//! faults the network does to a session's device. Compiled only with the
//! `sandbox` cargo feature; a production build has none of it.
//!
//! Contacts belong to the sandbox, not to a tenant: a sandbox is a developer's own
//! network. Sessions are still tenant-scoped: linking one goes through the caller's scope.

mod faults;
pub mod network;
mod phone_send;
mod routes;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use utoipa::ToSchema;
use warest_sandbox::{Behaviour, Sandbox};

pub use routes::router;

use crate::app::AppState;
use crate::http::error::{ApiError, ApiResult, Code};

fn host(state: &AppState) -> ApiResult<Arc<SandboxHost>> {
    state.sandbox.clone().ok_or_else(|| ApiError::new(Code::NotFound, "this gateway is not running `warest sandbox`"))
}

fn failed(e: anyhow::Error) -> ApiError {
    ApiError::new(Code::RequestFailed, format!("sandbox: {e}"))
}

/// How long linking may take; generous, for loaded machines (it normally takes under a
/// second).
pub const LINK_TIMEOUT: Duration = Duration::from_secs(60);

/// The phone number of the `echo` contact `warest sandbox` starts with.
pub const ECHO_PHONE: &str = "15550000001";

/// Contacts a sandbox may hold; each is a live whatsapp-rust client.
pub const MAX_CONTACTS: usize = 50;

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContactInfo {
    pub phone: String,
    /// Phone JID.
    pub jid: String,
    pub lid: Option<String>,
    /// `echo` (replies with the same text) or `silent`.
    pub behaviour: &'static str,
    /// Kept for display; the sandbox does not yet send push names.
    pub push_name: Option<String>,
}

pub struct SandboxHost {
    pub sandbox: Sandbox,
    contacts: Mutex<Vec<ContactInfo>>,
    /// Serializes contact creation, so one phone number is never started twice.
    creating: tokio::sync::Mutex<()>,
}

pub fn behaviour_name(b: Behaviour) -> &'static str {
    match b {
        Behaviour::Echo => "echo",
        Behaviour::Silent => "silent",
    }
}

impl SandboxHost {
    /// Wraps a started network; contacts it brought back from its data dir are listed
    /// (without push names, which the network does not keep).
    pub fn new(sandbox: Sandbox) -> Arc<Self> {
        let restored = sandbox
            .contact_list()
            .into_iter()
            .map(|(phone, behaviour)| ContactInfo {
                jid: format!("{phone}@s.whatsapp.net"),
                lid: sandbox.lid_of(&phone).map(|l| format!("{l}@lid")),
                behaviour: behaviour_name(behaviour),
                push_name: None,
                phone,
            })
            .collect();
        Arc::new(SandboxHost { sandbox, contacts: Mutex::new(restored), creating: tokio::sync::Mutex::new(()) })
    }

    pub fn contacts(&self) -> Vec<ContactInfo> {
        self.contacts.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn has_contact(&self, phone: &str) -> bool {
        self.contacts.lock().unwrap_or_else(|e| e.into_inner()).iter().any(|c| c.phone == phone)
    }

    /// Starts a contact: a real client, paired to a new account with this number.
    pub async fn create_contact(
        &self,
        phone: &str,
        behaviour: Behaviour,
        push_name: Option<String>,
    ) -> anyhow::Result<ContactInfo> {
        let _one_at_a_time = self.creating.lock().await;
        if self.has_contact(phone) {
            anyhow::bail!("contact {phone} already exists");
        }
        if self.contacts().len() >= MAX_CONTACTS {
            anyhow::bail!("the sandbox holds at most {MAX_CONTACTS} contacts");
        }
        let jid = self.sandbox.create_contact(phone, behaviour).await?;
        let info = ContactInfo {
            phone: phone.to_string(),
            jid: jid.to_string(),
            lid: self.sandbox.lid_of(phone).map(|l| format!("{l}@lid")),
            behaviour: behaviour_name(behaviour),
            push_name,
        };
        self.contacts.lock().unwrap_or_else(|e| e.into_inner()).push(info.clone());
        Ok(info)
    }
}
