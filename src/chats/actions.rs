//! Chat actions on a live session: the app-state verbs (mute, archive, pin, clear, mark
//! read) through whatsapp-rust's `chat_actions()`, read receipts, chat states and
//! pin-in-chat messages. Each one that succeeds is also written to the `chats` row at once.

use whatsapp_rust::AppStateError;
use whatsapp_rust::Jid;
use whatsapp_rust::features::ChatStateType;
use whatsapp_rust::waproto::buffa::MessageField;
use whatsapp_rust::waproto::whatsapp as wa;

use crate::messages::chats::{self as rows, ChatChange, MessageRow, apply_change};
use crate::outbound::recipient::{Recipient, normalize};
use crate::sessions::live::LiveSession;
use crate::store::sessions::Scope;
use crate::store::{Db, StoreError, now_ms};

/// A chat named in a request (`chatId`): a phone number, user JID, LID or group JID.
pub fn chat(field: &str, raw: &str, country: Option<&str>) -> Result<Recipient, ActionError> {
    if raw.len() > 128 {
        return Err(ActionError::invalid(field, "must be at most 128 characters"));
    }
    normalize(raw, country).map_err(|why| ActionError::invalid(field, why))
}

fn jid_of(field: &str, r: &Recipient) -> Result<Jid, ActionError> {
    r.jid.parse::<Jid>().map_err(|_| ActionError::invalid(field, "is not a valid JID"))
}

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
    /// A request field is malformed; `field` names it.
    #[error("{field}: {why}")]
    Invalid { field: String, why: String },
    /// The phone has not shared its app-state keys with this companion (yet).
    #[error("the phone has not shared its app-state keys with this session yet; open WhatsApp on the phone and retry")]
    NoKeys,
    #[error("no message with this id in this chat")]
    MessageNotFound,
    #[error("WhatsApp refused the action: {0}")]
    Failed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ActionError {
    pub fn invalid(field: impl Into<String>, why: impl std::fmt::Display) -> Self {
        ActionError::Invalid { field: field.into(), why: why.to_string() }
    }
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

/// Runs `verb` on `chat` and records the change in the `chats` row. `field` names the
/// chat in the request (for an unparsable JID).
///
/// whatsapp-rust's app-state futures are boxed: held inline, their nesting overflows
/// rustc's layout query depth.
pub async fn run(
    db: &Db,
    live: &LiveSession,
    field: &str,
    chat: &Recipient,
    verb: ChatVerb,
) -> Result<(), ActionError> {
    let jid = &jid_of(field, chat)?;
    let actions = live.client.chat_actions();
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
    apply_change(db, live.id(), &jid.to_non_ad_string(), &change).await?;
    Ok(())
}

/// Which unread messages a read request acknowledges: the newest `limit`, or those since
/// `since` (Unix ms), or all (bounded by `limit`).
pub struct ReadSelection {
    pub limit: i64,
    pub since: Option<i64>,
}

/// What a read did.
pub struct ReadOutcome {
    pub marked: Vec<MessageRow>,
    /// Whether the app-state "read" mark went out too (see [`mark_read`]).
    pub synced: bool,
}

/// Acknowledges the chat's unread inbound messages (read receipts to their senders) and
/// marks the chat read.
pub async fn read(
    db: &Db,
    live: &LiveSession,
    chat: &Recipient,
    sel: ReadSelection,
) -> Result<ReadOutcome, ActionError> {
    let jid = jid_of("chatId", chat)?;
    let unread = rows::unread_inbound(db, live.id(), &chat.jid, sel.limit, sel.since).await?;
    let targets: Vec<_> = unread
        .iter()
        .map(|m| {
            let sender = if chat.is_group() { m.sender_jid.as_deref().and_then(|s| s.parse().ok()) } else { None };
            (m.id.clone(), sender)
        })
        .collect();
    let synced = mark_read(db, live, &jid, &targets).await?;
    Ok(ReadOutcome { marked: unread, synced })
}

/// Sends read receipts for `ids` (inbound messages of `chat`; in a group, each with its
/// sender), zeroes the chat's unread count, and marks the chat read in app state so the
/// phone's other devices clear their badge too. Returns whether that app-state push went
/// out: it needs the keys the phone shares, and the receipts count without it.
async fn mark_read(
    db: &Db,
    live: &LiveSession,
    chat: &Jid,
    ids: &[(String, Option<Jid>)],
) -> Result<bool, ActionError> {
    let (client, session) = (&live.client, live.id());
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
struct PinTarget {
    pub id: String,
    pub from_me: bool,
    /// The author, for another member's message in a group.
    pub participant: Option<String>,
}

/// The message `id` of `chat`: one received and stored, or one this session sent.
async fn pin_target(
    db: &Db,
    scope: Scope<'_>,
    live: &LiveSession,
    chat: &Recipient,
    id: &str,
) -> Result<PinTarget, ActionError> {
    if let Some(m) = rows::get_message(db, live.id(), &chat.jid, id).await? {
        let participant = if chat.is_group() && !m.from_me { m.sender_jid } else { None };
        return Ok(PinTarget { id: m.id, from_me: m.from_me, participant });
    }
    match db.outbound_message(scope, id, Some(live.id())).await {
        Ok(r) if r.to_jid == chat.jid => Ok(PinTarget { id: r.message_id, from_me: true, participant: None }),
        Ok(_) | Err(StoreError::NotFound) => Err(ActionError::MessageNotFound),
        Err(e) => Err(e.into()),
    }
}

/// Pins (or unpins) message `id` of `chat` for everyone with a `PinInChatMessage`;
/// returns the id of the pin message.
pub async fn pin_message(
    db: &Db,
    scope: Scope<'_>,
    live: &LiveSession,
    chat: &Recipient,
    id: &str,
    pin: bool,
) -> Result<String, ActionError> {
    use wa::message::pin_in_chat_message::Type;
    if id.is_empty() || id.len() > 128 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(ActionError::invalid("messageId", "must be 1-128 letters or digits"));
    }
    let target = &pin_target(db, scope, live, chat, id).await?;
    let chat = &jid_of("chatId", chat)?;
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
        Box::pin(live.client.send_message(chat.clone(), msg)).await.map_err(|e| ActionError::Failed(e.to_string()))?;
    Ok(sent.message_id.to_string())
}

/// A chat state a session can show in a chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Typing {
    Composing,
    Recording,
    Paused,
}

impl Typing {
    pub fn parse(field: &str, raw: &str) -> Result<Typing, ActionError> {
        match raw {
            "composing" => Ok(Typing::Composing),
            "recording" => Ok(Typing::Recording),
            "paused" => Ok(Typing::Paused),
            _ => Err(ActionError::invalid(field, "must be composing, recording or paused")),
        }
    }
}

/// Shows "typing…" or "recording audio…" in `chat` (live only: never queued).
pub async fn chat_state(live: &LiveSession, chat: &Recipient, state: Typing) -> Result<(), ActionError> {
    let jid = jid_of("chatId", chat)?;
    let kind = match state {
        Typing::Composing => ChatStateType::Composing,
        Typing::Recording => ChatStateType::Recording,
        Typing::Paused => ChatStateType::Paused,
    };
    Box::pin(live.client.chatstate().send(&jid, kind))
        .await
        .map_err(|e| ActionError::Failed(format!("could not send the chat state: {e}")))
}
