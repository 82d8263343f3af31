//! The operations themselves: each validates what WhatsApp would refuse, then makes one
//! whatsapp-rust call. The calls are boxed: their futures are deep, and callers that nest
//! them (the action runner's recursive steps) would overflow the compiler's layout depth.

use whatsapp_rust::waproto::whatsapp as wa;
use whatsapp_rust::{ChatStateType, Jid, RevokeType, message_key};

use super::{EDIT_WINDOW_MS, MsgRef, OpError};
use crate::sessions::live::LiveSession;

/// Longest reaction accepted (an emoji with modifiers is a few code points).
const MAX_EMOJI_CHARS: usize = 32;
/// WhatsApp's own text limit.
const MAX_TEXT_CHARS: usize = 65_536;

fn jid(field: &'static str, s: &str) -> Result<Jid, OpError> {
    s.parse::<Jid>().map_err(|e| OpError::invalid(field, format!("not a JID: {e}")))
}

/// The sender of someone else's group message (None for 1:1 chats and own messages).
fn participant(m: &MsgRef) -> Result<Option<Jid>, OpError> {
    if m.is_group() && !m.from_me { m.sender.as_deref().map(|s| jid("sender", s)).transpose() } else { Ok(None) }
}

fn sent(m: &MsgRef) -> Result<(), OpError> {
    if m.sent { Ok(()) } else { Err(OpError::invalid("messageId", "the message has not been sent yet")) }
}

/// Reacts with `emoji`; an empty one removes this account's reaction. Returns the id of
/// the reaction message.
pub async fn react(live: &LiveSession, m: &MsgRef, emoji: &str) -> Result<String, OpError> {
    if emoji.chars().count() > MAX_EMOJI_CHARS {
        return Err(OpError::invalid("emoji", format!("at most {MAX_EMOJI_CHARS} characters")));
    }
    sent(m)?;
    let chat = jid("to", &m.chat)?;
    let key = message_key(m.id.clone(), &chat, m.from_me, participant(m)?.as_ref());
    Ok(Box::pin(live.client.send_reaction(chat, key, emoji)).await?.message_id)
}

/// Deletes the message for everyone; only the sender may (group admin revoke is not
/// offered here).
pub async fn revoke(live: &LiveSession, m: &MsgRef) -> Result<(), OpError> {
    if !m.from_me {
        return Err(OpError::NotYours("revoked"));
    }
    sent(m)?;
    let chat = jid("to", &m.chat)?;
    Box::pin(live.client.revoke_message(chat, m.id.clone(), RevokeType::Sender)).await?;
    Ok(())
}

/// Replaces the text of a message this account sent, within the edit window. Returns the
/// id of the edit message.
pub async fn edit(live: &LiveSession, m: &MsgRef, text: &str, now_ms: i64) -> Result<String, OpError> {
    if text.trim().is_empty() {
        return Err(OpError::invalid("message", "must not be empty"));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(OpError::invalid("message", format!("at most {MAX_TEXT_CHARS} characters")));
    }
    if !m.from_me {
        return Err(OpError::NotYours("edited"));
    }
    sent(m)?;
    if now_ms - m.ts_ms > EDIT_WINDOW_MS {
        return Err(OpError::EditWindow);
    }
    let chat = jid("to", &m.chat)?;
    let content = wa::Message { conversation: Some(text.to_string()), ..Default::default() };
    Ok(Box::pin(live.client.edit_message(chat, m.id.clone(), content)).await?)
}

/// Deletes the message on this account's devices only (an app-state mutation).
pub async fn delete_for_me(live: &LiveSession, m: &MsgRef, delete_media: bool) -> Result<(), OpError> {
    let chat = jid("to", &m.chat)?;
    let who = participant(m)?;
    let actions = live.client.chat_actions();
    Box::pin(actions.delete_message_for_me(&chat, who.as_ref(), &m.id, m.from_me, delete_media, Some(m.ts_ms / 1000)))
        .await?;
    Ok(())
}

/// Stars (`on`) or unstars the message (an app-state mutation).
pub async fn star(live: &LiveSession, m: &MsgRef, on: bool) -> Result<(), OpError> {
    let chat = jid("to", &m.chat)?;
    let who = participant(m)?;
    let actions = live.client.chat_actions();
    if on {
        Box::pin(actions.star_message(&chat, who.as_ref(), &m.id, m.from_me)).await?;
    } else {
        Box::pin(actions.unstar_message(&chat, who.as_ref(), &m.id, m.from_me)).await?;
    }
    Ok(())
}

/// Sends a read receipt for a received message (the sender sees blue ticks).
pub async fn mark_read(live: &LiveSession, m: &MsgRef) -> Result<(), OpError> {
    if m.from_me {
        return Err(OpError::invalid("messageId", "was sent by this session; only received messages can be read"));
    }
    let chat = jid("to", &m.chat)?;
    let sender = if m.is_group() { m.sender.as_deref().map(|s| jid("sender", s)).transpose()? } else { None };
    Box::pin(live.client.mark_as_read(&chat, sender.as_ref(), &[m.id.as_str()]))
        .await
        .map_err(|e| OpError::Failed(e.to_string()))
}

/// A chat state shown to the other party.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatState {
    Composing,
    Recording,
    Paused,
}

impl ChatState {
    /// Baileys' names (`composing`, `recording`, `paused`) and a few aliases.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "composing" | "typing" => Some(ChatState::Composing),
            "recording" | "audio" => Some(ChatState::Recording),
            "paused" | "stop" | "idle" => Some(ChatState::Paused),
            _ => None,
        }
    }
}

pub async fn chat_state(live: &LiveSession, to: &str, state: ChatState) -> Result<(), OpError> {
    let to = jid("to", to)?;
    let t = match state {
        ChatState::Composing => ChatStateType::Composing,
        ChatState::Recording => ChatStateType::Recording,
        ChatState::Paused => ChatStateType::Paused,
    };
    Box::pin(live.client.chatstate().send(&to, t)).await.map_err(|e| OpError::Failed(e.to_string()))
}

/// Sets this account's global presence (online or offline).
pub async fn presence(live: &LiveSession, available: bool) -> Result<(), OpError> {
    let p = live.client.presence();
    let r = if available { Box::pin(p.set_available()).await } else { Box::pin(p.set_unavailable()).await };
    r.map_err(|e| OpError::Failed(e.to_string()))
}
