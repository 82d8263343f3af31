//! The original WAREST's auto-reply (`AUTOREPLY_ENABLED`, `AUTOREPLY_PING_PONG`): a text
//! message that is exactly `ping` (any case, spaces around ignored) from someone else is
//! answered `pong` in its chat, quoting it.
//!
//! The answer is queued before the inbound batch commits, keyed by the message id: if the
//! gateway dies between the two, WhatsApp delivers the batch again and the second queueing
//! is a replay of the first, so the contact gets exactly one `pong`.

use whatsapp_rust::types::events::InboundMessage;

use super::normalize::Normalized;
use crate::outbound::content::{Common, Content};
use crate::outbound::{Outbound, SendRequest, recipient};
use crate::sessions::hooks::WaEventCtx;

/// `AUTOREPLY_*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AutoReply {
    pub enabled: bool,
    pub ping_pong: bool,
}

impl AutoReply {
    /// The answer to a received text, if it gets one.
    pub fn answer(self, text: &str) -> Option<&'static str> {
        (self.enabled && self.ping_pong && text.trim().eq_ignore_ascii_case("ping")).then_some("pong")
    }
}

/// Queues the answer to `m` (whose first catalog event is `first`), if it gets one.
/// Failures are logged: an auto-reply must not hold up the message it answers.
pub(super) async fn reply(
    cfg: AutoReply,
    outbound: &Outbound,
    ctx: &WaEventCtx,
    m: &InboundMessage,
    first: &Normalized,
) {
    if m.info.source.is_from_me || first.event != "message_received" {
        return;
    }
    let Some(text) = first.data["message"]["text"].as_str().and_then(|t| cfg.answer(t)) else { return };
    let chat = m.info.source.chat.to_non_ad_string();
    let to = match recipient::normalize(&chat, None) {
        Ok(r) => r,
        Err(why) => return tracing::warn!(%why, "cannot auto-reply in this chat"),
    };
    let id = m.info.id.to_string();
    let common = Common { reply_to: Some(id.clone()), ..Default::default() };
    let req = SendRequest {
        session_id: ctx.session_id.to_string(),
        registry: ctx.registry.to_string(),
        me_jid: ctx.client.pn().map(|j| j.to_string()),
        recipients: vec![to],
        content: Content::Text { text: text.to_string(), preview: None, common },
        idempotency_key: Some(format!("autoreply:{chat}:{id}")),
    };
    if let Err(e) = outbound.enqueue(req).await {
        tracing::warn!(error = %e, "could not queue the auto-reply");
    }
}

#[cfg(test)]
mod tests {
    use super::AutoReply;

    #[test]
    fn only_ping_is_answered_and_only_when_both_switches_are_on() {
        let on = AutoReply { enabled: true, ping_pong: true };
        assert_eq!(on.answer("ping"), Some("pong"));
        assert_eq!(on.answer("  PING \n"), Some("pong"));
        assert_eq!(on.answer("ping me"), None);
        assert_eq!(on.answer("pong"), None);
        assert_eq!(AutoReply { enabled: false, ping_pong: true }.answer("ping"), None);
        assert_eq!(AutoReply { enabled: true, ping_pong: false }.answer("ping"), None);
    }
}
