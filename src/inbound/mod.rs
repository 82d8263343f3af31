//! Inbound: turns a session's raw whatsapp-rust events into WAREST catalog events and
//! stores them — message store rows and outbox rows in one transaction — honouring the
//! session's DIGIGO flags (skip groups, newsletters, broadcasts, own messages, calls;
//! auto-reject calls). Owns normalization and the message store; delivery is `webhooks`.
//!
//! The sink hands each event to one worker per gateway through an unbounded channel (sinks
//! must not block the client); the worker handles events one at a time, so per-session
//! order is the order the client emitted them.

pub mod normalize;
pub mod store;

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::mpsc;
use whatsapp_rust::types::events::Event;

use crate::http::routes::session_flags::SessionFlags;
use crate::sessions::hooks::{WaEventCtx, WaEventSink};
use crate::store::StoreResult;
use crate::webhooks::{NewEvent, Webhooks, begin_write};
use normalize::Normalized;

pub struct InboundSink {
    tx: mpsc::UnboundedSender<(WaEventCtx, Arc<Event>)>,
}

impl InboundSink {
    /// Starts the worker; it ends when the sink is dropped (the gateway stops).
    pub fn start(hooks: Webhooks, prefix: String) -> Arc<Self> {
        let (tx, mut rx) = mpsc::unbounded_channel::<(WaEventCtx, Arc<Event>)>();
        tokio::spawn(async move {
            while let Some((ctx, ev)) = rx.recv().await {
                if let Err(e) = handle(&hooks, &prefix, &ctx, &ev).await {
                    tracing::error!(error = %e, session = %ctx.session_id, "could not store an inbound event");
                }
            }
        });
        Arc::new(InboundSink { tx })
    }
}

impl WaEventSink for InboundSink {
    fn on_event(&self, ctx: &WaEventCtx, event: &Arc<Event>) {
        if interesting(event) {
            let _ = self.tx.send((ctx.clone(), event.clone()));
        }
    }
}

fn interesting(ev: &Event) -> bool {
    matches!(
        ev,
        Event::Messages(_)
            | Event::Receipt(_)
            | Event::Presence(_)
            | Event::ChatPresence(_)
            | Event::GroupUpdate(_)
            | Event::IncomingCall(_)
            | Event::SelfPushNameUpdated(_)
    )
}

async fn flags(hooks: &Webhooks, session: &str) -> SessionFlags {
    match hooks.db.session(session).await {
        Ok(row) => serde_json::from_value(row.flags).unwrap_or_default(),
        Err(_) => SessionFlags::default(),
    }
}

fn chat_skipped(f: &SessionFlags, chat: &whatsapp_rust::Jid, is_group: bool, from_me: bool) -> bool {
    let server = chat.server.to_string();
    (f.ignore_groups && is_group)
        || (f.ignore_newsletters && server == "newsletter")
        || (f.ignore_broadcasts && server == "broadcast")
        || (f.ignore_own_messages && from_me)
}

/// Normalizes one raw event into catalog events (with their store ops).
async fn normalize_event(hooks: &Webhooks, prefix: &str, ctx: &WaEventCtx, ev: &Event) -> Vec<Normalized> {
    let f = flags(hooks, &ctx.session_id).await;
    let plain = |event: &'static str, data: Value| vec![Normalized { event, data, store: None }];
    match ev {
        Event::Messages(batch) => batch
            .iter()
            .filter(|m| !chat_skipped(&f, &m.info.source.chat, m.info.source.is_group, m.info.source.is_from_me))
            .flat_map(|m| normalize::message(&m.message, &m.info, prefix))
            .collect(),
        Event::Receipt(r) => {
            use whatsapp_rust::wacore::types::presence::ReceiptType as R;
            let state = match r.r#type {
                R::Delivered => "delivered",
                R::Sent => "sent",
                R::Read | R::ReadSelf => "read",
                R::Played | R::PlayedSelf => "played",
                R::ServerError => "error",
                // Retry receipts are encryption plumbing, not message states.
                _ => return vec![],
            };
            if chat_skipped(&f, &r.source.chat, r.source.is_group, false) {
                return vec![];
            }
            let mut d = normalize::addressing(&r.source);
            d["messageIds"] = json!(r.message_ids.iter().map(|i| i.to_string()).collect::<Vec<_>>());
            d["ack"] = json!(state);
            d["timestamp"] = json!(r.timestamp.timestamp_millis());
            d["fromOffline"] = json!(r.offline);
            plain("message_ack", d)
        }
        Event::Presence(p) => plain(
            "presence_update",
            json!({ "jid": p.from.to_non_ad_string(), "presence": if p.unavailable { "unavailable" } else { "available" },
                    "lastSeen": p.last_seen.map(|t| t.timestamp_millis()) }),
        ),
        Event::ChatPresence(p) => {
            let mut d = normalize::addressing(&p.source);
            d["presence"] = serde_json::to_value(p.state).unwrap_or(Value::Null);
            d["media"] = serde_json::to_value(p.media).unwrap_or(Value::Null);
            plain("presence_update", d)
        }
        Event::GroupUpdate(g) => {
            if f.ignore_groups {
                return vec![];
            }
            let mut d = serde_json::to_value(g).unwrap_or(Value::Null);
            d["chatId"] = json!(g.group_jid.to_non_ad_string());
            plain("group_update", d)
        }
        Event::IncomingCall(c) => {
            if f.reject_calls {
                let (client, call) = (ctx.client.clone(), c.clone());
                tokio::spawn(async move {
                    if let Err(e) = client.voip().reject(&call).await {
                        tracing::warn!(error = %e, "could not reject a call");
                    }
                });
            }
            if f.ignore_calls {
                return vec![];
            }
            let mut d = serde_json::to_value(c).unwrap_or(Value::Null);
            d["from"] = json!(c.from.to_non_ad_string());
            d["rejected"] = json!(f.reject_calls);
            plain("call", d)
        }
        Event::SelfPushNameUpdated(u) => plain("creds_update", serde_json::to_value(u).unwrap_or(Value::Null)),
        _ => vec![],
    }
}

async fn handle(hooks: &Webhooks, prefix: &str, ctx: &WaEventCtx, ev: &Event) -> StoreResult<()> {
    let items = normalize_event(hooks, prefix, ctx, ev).await;
    if items.is_empty() {
        return Ok(());
    }
    let mut tx = begin_write(&hooks.db).await?;
    let mut stored = Vec::with_capacity(items.len());
    for n in items {
        if let Some(op) = &n.store {
            store::apply(&mut tx, &ctx.session_id, op).await?;
        }
        if n.event == "message_ack"
            && let (Some(chat), Some(ids)) = (n.data["chatId"].as_str(), n.data["messageIds"].as_array())
        {
            let ids: Vec<String> = ids.iter().filter_map(|i| i.as_str().map(String::from)).collect();
            store::ack(&mut tx, &ctx.session_id, chat, &ids, n.data["ack"].as_str().unwrap_or_default()).await?;
        }
        let ts = n.data["timestamp"].as_i64().unwrap_or_else(crate::store::now_ms);
        let new = NewEvent { session_id: &ctx.session_id, registry: &ctx.registry, event: n.event, data: n.data, ts };
        stored.push(hooks.emit_in(&mut tx, new).await?);
    }
    tx.commit().await?;
    hooks.committed(&stored);
    Ok(())
}
