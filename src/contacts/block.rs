//! The session's blocklist.

use super::{ContactError, User, wa};
use crate::sessions::live::LiveSession;

/// The JIDs the session has blocked.
pub async fn blocklist(live: &LiveSession) -> Result<Vec<String>, ContactError> {
    let list = live.client.blocking().get_blocklist().await.map_err(wa("blocklist"))?;
    Ok(list.into_iter().map(|e| e.jid.to_string()).collect())
}

/// Blocks or unblocks an account that is on WhatsApp.
pub async fn set_blocked(live: &LiveSession, user: &User, blocked: bool) -> Result<(), ContactError> {
    let client = &live.client;
    // Blocks name both the LID and the phone JID; the lookup teaches the client the pair.
    let found = client.contacts().is_on_whatsapp(std::slice::from_ref(&user.0)).await.map_err(wa("lookup"))?;
    if !found.iter().any(|r| r.is_registered || r.lid.is_some() || r.pn_jid.is_some()) {
        return Err(ContactError::invalid("jid", "is not on WhatsApp"));
    }
    let res = if blocked { client.blocking().block(&user.0).await } else { client.blocking().unblock(&user.0).await };
    res.map_err(wa(if blocked { "block" } else { "unblock" }))
}
