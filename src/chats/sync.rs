//! Chat state from app-state (syncd): a [`WaEventSink`] that hands a session's
//! archive/mute/pin/read/clear events — made on the phone or another linked device, or
//! echoed back after our own push — to one task that updates the `chats` row.
//!
//! Our own actions also write the row directly when the push succeeds
//! (`chats::actions`), so the API answers from an up-to-date store without waiting for
//! the echo; applying the echo again is idempotent.

use std::sync::Arc;

use tokio::sync::mpsc;
use whatsapp_rust::types::events::Event;

use crate::messages::chats::{ChatChange, apply_change};
use crate::sessions::hooks::{WaEventCtx, WaEventSink};
use crate::store::Db;

/// Changes waiting for the task; beyond this they are dropped with a warning rather than
/// blocking the session's event task (a full app-state resync can be large).
const BACKLOG: usize = 10_000;

pub struct ChatSyncSink {
    tx: mpsc::Sender<(Arc<str>, String, ChatChange)>,
}

impl ChatSyncSink {
    pub fn spawn(db: Db) -> Arc<ChatSyncSink> {
        let (tx, mut rx) = mpsc::channel::<(Arc<str>, String, ChatChange)>(BACKLOG);
        tokio::spawn(async move {
            while let Some((session, jid, change)) = rx.recv().await {
                if let Err(e) = apply_change(&db, &session, &jid, &change).await {
                    tracing::error!(error = %e, session = %session, "could not apply a synced chat change");
                }
            }
        });
        Arc::new(ChatSyncSink { tx })
    }
}

/// The chat and change an app-state event stands for, if it is one.
pub fn change_of(ev: &Event) -> Option<(String, ChatChange)> {
    let (jid, change) = match ev {
        Event::ArchiveUpdate(a) => (&a.jid, ChatChange::Archived(a.action.archived.unwrap_or(false))),
        Event::PinUpdate(p) => (&p.jid, ChatChange::Pinned(p.action.pinned.unwrap_or(false))),
        Event::MuteUpdate(m) => {
            let until =
                if m.action.muted.unwrap_or(false) { Some(m.action.mute_end_timestamp.unwrap_or(-1)) } else { None };
            (&m.jid, ChatChange::Muted(until))
        }
        Event::MarkChatAsReadUpdate(r) => (&r.jid, ChatChange::Read(r.action.read.unwrap_or(true))),
        Event::ClearChatUpdate(c) => (&c.jid, ChatChange::Cleared(c.timestamp.timestamp_millis())),
        _ => return None,
    };
    Some((jid.to_non_ad_string(), change))
}

impl WaEventSink for ChatSyncSink {
    fn on_event(&self, ctx: &WaEventCtx, event: &Arc<Event>) {
        if let Some((jid, change)) = change_of(event)
            && self.tx.try_send((ctx.session_id.clone(), jid, change)).is_err()
        {
            tracing::warn!(session = %ctx.session_id, "chat sync backlog full; a synced chat change was dropped");
        }
    }
}
