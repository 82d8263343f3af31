//! Chat actions on a live session: the app-state verbs (mute, archive, pin, clear, mark
//! read) through whatsapp-rust's `chat_actions()`, read receipts, and pin-in-chat
//! messages. Each one that succeeds is also written to the `chats` row at once.

use whatsapp_rust::AppStateError;
use whatsapp_rust::Jid;
use whatsapp_rust::client::Client;
use whatsapp_rust::waproto::buffa::MessageField;
use whatsapp_rust::waproto::whatsapp as wa;

use crate::messages::chats::{ChatChange, apply_change};
use crate::store::{Db, StoreError, now_ms};

/// Longest mute the API accepts, in minutes (30 days, as in the original).
pub const MAX_MUTE_MINUTES: i64 = 43_200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatVerb {
    /// Muted for this many minutes.
    Mute(i64),
    Unmute,
    Archive,
    Unarchive,
    Pin,
    Unpin,
    Clear,
}

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// The phone has not shared its app-state keys with this companion (yet).
    #[error("the phone has not shared its app-state keys with this session yet")]
    NoKeys,
    #[error("WhatsApp refused the action: {0}")]
    Failed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn from_app_state(e: AppStateError) -> ActionError {
    let text = e.to_string();
    // whatsapp-rust reports a missing key as an invalid request (no key id to sign with)
    // or, when a key id is known but its data is not, from the key lookup.
    if text.contains("no app state sync key")
        || text.contains("No app state sync key")
        || text.contains("key not found")
    {
        ActionError::NoKeys
    } else {
        ActionError::Failed(text)
    }
}

/// Runs `verb` on chat `jid` and records the change in the `chats` row.
///
/// whatsapp-rust's app-state futures are boxed: held inline, their nesting overflows
/// rustc's layout query depth.
pub async fn run(db: &Db, session: &str, client: &Client, jid: &Jid, verb: ChatVerb) -> Result<(), ActionError> {
    let actions = client.chat_actions();
    let change = match verb {
        ChatVerb::Mute(minutes) => {
            let until = now_ms() + minutes * 60_000;
            Box::pin(actions.mute_chat_until(jid, until)).await.map_err(from_app_state)?;
            ChatChange::Muted(Some(until))
        }
        ChatVerb::Unmute => {
            Box::pin(actions.unmute_chat(jid)).await.map_err(from_app_state)?;
            ChatChange::Muted(None)
        }
        ChatVerb::Archive => {
            Box::pin(actions.archive_chat(jid, None)).await.map_err(from_app_state)?;
            ChatChange::Archived(true)
        }
        ChatVerb::Unarchive => {
            Box::pin(actions.unarchive_chat(jid, None)).await.map_err(from_app_state)?;
            ChatChange::Archived(false)
        }
        ChatVerb::Pin => {
            Box::pin(actions.pin_chat(jid)).await.map_err(from_app_state)?;
            ChatChange::Pinned(true)
        }
        ChatVerb::Unpin => {
            Box::pin(actions.unpin_chat(jid)).await.map_err(from_app_state)?;
            ChatChange::Pinned(false)
        }
        ChatVerb::Clear => {
            let at = now_ms();
            Box::pin(actions.clear_chat(jid, false, false, None)).await.map_err(from_app_state)?;
            ChatChange::Cleared(at)
        }
    };
    apply_change(db, session, &jid.to_non_ad_string(), &change).await?;
    Ok(())
}

/// Sends read receipts for `ids` (inbound messages of `chat`; in a group, each with its
/// sender), zeroes the chat's unread count, and marks the chat read in app state so the
/// phone's other devices clear their badge too. Returns whether that app-state push went
/// out: it needs the keys the phone shares, and the receipts count without it.
pub async fn mark_read(
    db: &Db,
    session: &str,
    client: &Client,
    chat: &Jid,
    ids: &[(String, Option<Jid>)],
) -> Result<bool, ActionError> {
    // One receipt per sender: a group receipt names the author it goes to.
    let mut senders: Vec<Option<Jid>> = Vec::new();
    for (_, s) in ids {
        if !senders.contains(s) {
            senders.push(s.clone());
        }
    }
    for sender in senders {
        let batch: Vec<&str> = ids.iter().filter(|(_, s)| *s == sender).map(|(i, _)| i.as_str()).collect();
        Box::pin(client.mark_as_read(chat, sender.as_ref(), &batch))
            .await
            .map_err(|e| ActionError::Failed(e.to_string()))?;
    }
    let chat_jid = chat.to_non_ad_string();
    let marked: Vec<String> = ids.iter().map(|(i, _)| i.clone()).collect();
    crate::messages::chats::mark_read(db, session, &chat_jid, &marked).await?;
    apply_change(db, session, &chat_jid, &ChatChange::Read(true)).await?;
    // Boxed: inline, the app-state future overflows rustc's layout query depth.
    let synced = match Box::pin(client.chat_actions().mark_chat_as_read(chat, true, None)).await {
        Ok(()) => true,
        Err(e) => {
            tracing::info!(session, chat = %chat_jid, error = %e, "chat read without the app-state mark (other devices keep their badge)");
            false
        }
    };
    Ok(synced)
}

/// The key of a message being pinned: who wrote it decides `fromMe`/`participant`.
pub struct PinTarget {
    pub id: String,
    pub from_me: bool,
    /// The author, for another member's message in a group.
    pub participant: Option<String>,
}

/// Sends a `PinInChatMessage` (pin or unpin for everyone) for `target` to `chat`;
/// returns the id of the pin message.
pub async fn pin_message(client: &Client, chat: &Jid, target: &PinTarget, pin: bool) -> Result<String, ActionError> {
    use wa::message::pin_in_chat_message::Type;
    let msg = wa::Message {
        pin_in_chat_message: MessageField::some(wa::message::PinInChatMessage {
            key: MessageField::some(wa::MessageKey {
                id: Some(target.id.clone()),
                remote_jid: Some(chat.to_string()),
                from_me: Some(target.from_me),
                participant: target.participant.clone(),
            }),
            r#type: Some(if pin { Type::PIN_FOR_ALL } else { Type::UNPIN_FOR_ALL }),
            sender_timestamp_ms: Some(now_ms()),
        }),
        // WhatsApp keeps a pin for the add-on duration (7 days is the app's default).
        message_context_info: MessageField::some(wa::MessageContextInfo {
            message_add_on_duration_in_secs: pin.then_some(7 * 24 * 3600),
            ..Default::default()
        }),
        ..Default::default()
    };
    let sent =
        Box::pin(client.send_message(chat.clone(), msg)).await.map_err(|e| ActionError::Failed(e.to_string()))?;
    Ok(sent.message_id.to_string())
}
