//! Inbound: turns a session's raw whatsapp-rust events into WAREST catalog events and
//! stores them — message store rows and outbox rows in one transaction — honouring the
//! session's DIGIGO flags (skip groups, newsletters, broadcasts, own messages, calls;
//! auto-reject calls). Owns normalization; the rows are `messages`'s, delivery is `webhooks`.
//!
//! The sink hands each event to one worker per gateway through an unbounded channel (sinks
//! must not block the client); the worker handles events one at a time, so per-session
//! order is the order the client emitted them.
//!
//! Decrypted messages come first as durable batches (see `durable`): WhatsApp gets its
//! ack only after they are committed here, and the `Event::Messages` that follows for the
//! same batch is skipped. Messages the client does not gate (newsletters, recovered
//! placeholders) still come as plain events.

pub mod autoreply;
mod durable;
pub mod groups;
pub mod normalize;
pub mod payloads;
pub mod poll;
pub mod vote;
mod wire;

use std::sync::Arc;

use serde_json::Value;
use tokio::sync::mpsc;
use whatsapp_rust::types::events::Event;
use whatsapp_rust::wacore::proto_helpers::MessageExt;

use crate::http::routes::sessions::flags::SessionFlags;
use crate::media::received::ReceivedMedia;
use crate::outbound::Outbound;
use crate::sessions::hooks::{DurableBatch, InboundCommitter, WaEventCtx, WaEventSink};
use crate::store::StoreResult;
use crate::webhooks::{NewEvent, StoredEvent, Webhooks, begin_write};
use normalize::Normalized;
use whatsapp_rust::wacore::types::call::{CallAction, IncomingCall};

/// Events go to one of these workers by session: a session's events keep their order on
/// their worker, and a slow commit of one session holds back only the sessions sharing its
/// worker, not the whole gateway (the hook's ack waits for the commit).
const WORKERS: usize = 4;

pub struct InboundSink {
    workers: Vec<mpsc::UnboundedSender<Job>>,
}

/// The worker's queue: plain events, and durable batches awaiting their commit.
enum Job {
    Event(WaEventCtx, Arc<Event>),
    Commit(WaEventCtx, DurableBatch),
}

impl InboundSink {
    /// Starts the workers; they end when the sink is dropped (the gateway stops).
    pub fn start(deps: Deps) -> Arc<Self> {
        let deps = Arc::new(deps);
        let workers = (0..WORKERS)
            .map(|_| {
                let (tx, rx) = mpsc::unbounded_channel::<Job>();
                tokio::spawn(work(deps.clone(), rx));
                tx
            })
            .collect();
        Arc::new(InboundSink { workers })
    }

    /// The worker of `session` (always the same one).
    fn worker(&self, session: &str) -> &mpsc::UnboundedSender<Job> {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        session.hash(&mut h);
        &self.workers[(h.finish() % WORKERS as u64) as usize]
    }
}

/// One worker: its sessions' events and batches, one at a time, in arrival order.
async fn work(deps: Arc<Deps>, mut rx: mpsc::UnboundedReceiver<Job>) {
    while let Some(job) = rx.recv().await {
        match job {
            Job::Event(ctx, ev) => {
                if let Err(e) = handle(&deps, &ctx, &ev).await {
                    tracing::error!(error = %e, session = %ctx.session_id, "could not store an inbound event");
                }
            }
            Job::Commit(ctx, batch) => {
                let res = durable::commit(&deps, &ctx, &batch.messages).await.map_err(|e| e.to_string());
                if let Err(e) = &res {
                    // Not acked: WhatsApp redelivers the batch.
                    tracing::warn!(error = %e, session = %ctx.session_id, "could not store inbound messages");
                }
                let _ = batch.done.send(res);
            }
        }
    }
}

impl WaEventSink for InboundSink {
    fn on_event(&self, ctx: &WaEventCtx, event: &Arc<Event>) {
        if interesting(event) {
            let _ = self.worker(&ctx.session_id).send(Job::Event(ctx.clone(), event.clone()));
        }
    }
}

impl InboundCommitter for InboundSink {
    fn commit(&self, ctx: &WaEventCtx, batch: DurableBatch) {
        // A stopped worker drops the batch, and with it the answer: the hook fails, no ack.
        let _ = self.worker(&ctx.session_id).send(Job::Commit(ctx.clone(), batch));
    }
}

fn interesting(ev: &Event) -> bool {
    // A batch the durability hook committed is already stored.
    if let Event::Messages(b) = ev {
        return !b.hook_committed;
    }
    matches!(
        ev,
        Event::Receipt(_)
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

/// What the worker needs besides the event.
pub struct Deps {
    pub hooks: Webhooks,
    pub prefix: String,
    pub media: Arc<ReceivedMedia>,
    /// The send queue, for the message to a rejected caller and auto-replies.
    pub outbound: Outbound,
    pub autoreply: autoreply::AutoReply,
}

/// Rejects a ringing call and, when the session has a reject message, queues it to the
/// caller. Off the worker: neither may hold up the next event.
fn reject_call(deps: &Deps, ctx: &WaEventCtx, c: &IncomingCall, message: Option<String>) {
    let (client, call, outbound) = (ctx.client.clone(), c.clone(), deps.outbound.clone());
    let (session_id, registry) = (ctx.session_id.to_string(), ctx.registry.to_string());
    tokio::spawn(async move {
        if let Err(e) = client.voip().reject(&call).await {
            tracing::warn!(error = %e, "could not reject a call");
        }
        let Some(text) = message.filter(|m| !m.trim().is_empty()) else { return };
        // The creator is the caller's account; `from` may name one of its devices.
        let to = call.action.call_creator().to_non_ad_string();
        let recipient = match crate::outbound::recipient::normalize(&to, None) {
            Ok(r) => r,
            Err(why) => return tracing::warn!(%why, "cannot answer a rejected call"),
        };
        let req = crate::outbound::SendRequest {
            session_id,
            registry,
            me_jid: client.pn().map(|j| j.to_string()),
            recipients: vec![recipient],
            content: crate::outbound::content::Content::Text { text, preview: None, common: Default::default() },
            // One answer per call, even if the offer is seen twice.
            idempotency_key: Some(format!("call-reject:{}", call.action.call_id())),
        };
        if let Err(e) = outbound.enqueue(req).await {
            tracing::warn!(error = %e, "could not queue the reject-call message");
        }
    });
}

/// Adds what the media worker said about an attachment (id, signed link, download state)
/// to the payload and to the stored message.
fn merge_media(n: &mut Normalized, extra: &Value) {
    let Some(extra) = extra.as_object() else { return };
    for (k, v) in extra {
        if n.data["media"].is_object() {
            n.data["media"][k] = v.clone();
        }
        if let Some(normalize::StoreOp::Message { content, .. }) = &mut n.store
            && content["media"].is_object()
        {
            content["media"][k] = v.clone();
        }
    }
}

/// One decrypted message: its catalog events, with media queued for download and poll
/// votes opened.
async fn message_events(
    deps: &Deps,
    ctx: &WaEventCtx,
    m: &whatsapp_rust::types::events::InboundMessage,
) -> Vec<Normalized> {
    let mut out = normalize::message(&m.message, &m.info, &deps.prefix);
    let Some(first) = out.first() else { return out };
    if first.event != "message_received" {
        return out;
    }
    autoreply::reply(deps.autoreply, &deps.outbound, ctx, m, first).await;
    if let Some(v) = m.message.get_base_message().poll_update_message.as_option() {
        let vote = poll::vote_payload(&deps.hooks.db, &ctx.client, &ctx.session_id, v, &m.info.source.sender).await;
        let raw = poll::raw_vote(v, &m.info.source.sender);
        for n in &mut out {
            // Inside the existing object: it carries the message's key.
            n.data["message"]["pollName"] = vote["pollTitle"].clone();
            n.data["message"]["selectedOptions"] = vote["selectedOptions"].clone();
            n.data["vote"] = vote.clone();
            n.data["pollUpdateVote"] = raw.clone();
        }
        return out;
    }
    if first.data["media"].is_object() && !m.info.source.is_from_me {
        let chat = first.data["chatId"].as_str().unwrap_or_default().to_string();
        let extra = deps.media.offer(&ctx.client, &ctx.session_id, &chat, &m.info.id.to_string(), &m.message);
        for n in &mut out {
            merge_media(n, &extra);
        }
    }
    out
}

/// Normalizes one raw event into catalog events (with their store ops).
async fn normalize_event(deps: &Deps, ctx: &WaEventCtx, ev: &Event) -> Vec<Normalized> {
    let hooks = &deps.hooks;
    let f = flags(hooks, &ctx.session_id).await;
    let plain = |event: &'static str, data: Value| vec![Normalized { event, data, store: None }];
    match ev {
        Event::Messages(batch) => {
            let mut out = Vec::new();
            for m in batch.iter() {
                if !chat_skipped(&f, &m.info.source.chat, m.info.source.is_group, m.info.source.is_from_me) {
                    out.extend(message_events(deps, ctx, m).await);
                }
            }
            out
        }
        Event::Receipt(r) => {
            let Some(d) = payloads::receipt(r) else { return vec![] };
            if chat_skipped(&f, &r.source.chat, r.source.is_group, false) {
                return vec![];
            }
            plain("message_ack", d)
        }
        Event::Presence(p) => plain("presence_update", payloads::presence(p)),
        Event::ChatPresence(p) => plain("presence_update", payloads::chat_presence(p)),
        Event::GroupUpdate(g) => {
            if f.ignore_groups {
                return vec![];
            }
            let me = groups::Me { pn: ctx.client.pn(), lid: ctx.client.lid() };
            groups::events(g, &me).into_iter().map(|(event, data)| Normalized { event, data, store: None }).collect()
        }
        Event::IncomingCall(c) => {
            let is_offer = matches!(c.action, CallAction::Offer { .. });
            if is_offer && f.reject_calls {
                reject_call(deps, ctx, c, f.reject_call_message.clone());
            }
            if f.ignore_calls {
                return vec![];
            }
            plain("call", payloads::call(c, is_offer && f.reject_calls))
        }
        Event::SelfPushNameUpdated(u) => plain("creds_update", payloads::creds(u)),
        _ => vec![],
    }
}

async fn handle(deps: &Deps, ctx: &WaEventCtx, ev: &Event) -> StoreResult<()> {
    let items = normalize_event(deps, ctx, ev).await;
    if items.is_empty() {
        return Ok(());
    }
    let mut tx = begin_write(&deps.hooks.db).await?;
    let mut stored = Vec::with_capacity(items.len());
    store_items(deps, ctx, &mut tx, items, &mut stored).await?;
    tx.commit().await?;
    deps.hooks.committed(&stored);
    Ok(())
}

/// Writes catalog events (their store ops, and their outbox rows) inside `tx`.
async fn store_items(
    deps: &Deps,
    ctx: &WaEventCtx,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    items: Vec<Normalized>,
    stored: &mut Vec<StoredEvent>,
) -> StoreResult<()> {
    for n in items {
        if let Some(op) = &n.store {
            crate::messages::inbound::apply(&deps.hooks.db, tx, &ctx.session_id, op).await?;
        }
        if n.event == "message_ack"
            && let (Some(chat), Some(ids)) = (n.data["chatId"].as_str(), n.data["messageIds"].as_array())
        {
            let ids: Vec<String> = ids.iter().filter_map(|i| i.as_str().map(String::from)).collect();
            crate::messages::inbound::ack(
                &deps.hooks.db,
                tx,
                &ctx.session_id,
                chat,
                &ids,
                n.data["ack"].as_str().unwrap_or_default(),
            )
            .await?;
        }
        let ts = n.data["timestamp"].as_i64().unwrap_or_else(crate::store::now_ms);
        let new = NewEvent { session_id: &ctx.session_id, registry: &ctx.registry, event: n.event, data: n.data, ts };
        stored.push(deps.hooks.emit_in(tx, new).await?);
    }
    Ok(())
}
