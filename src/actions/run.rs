//! Executes a parsed plan: steps in order (or concurrently in `parallel`), each recording
//! one result entry; the whole run under the run-time limit and a shared delay budget.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Value, json};

use super::once::{self, Claim};
use super::parse::{Action, Key, Plan, Step};
use super::{Inner, failure, send};
use crate::message_ops::{self, ChatState, MsgRef};
use crate::messages::lookup;
use crate::outbound::SendRequest;
use crate::sessions::live::{LiveSession, Session};
use crate::store::sessions::{Scope, SessionRow};
use crate::store::{StoreError, now_ms};
use crate::webhooks::answers::Answer;

type Boxed<'a> = Pin<Box<dyn Future<Output = bool> + Send + 'a>>;

struct Exec<'a> {
    rt: &'a Inner,
    answer: &'a Answer,
    results: Mutex<Vec<Value>>,
    /// Milliseconds of waiting the run may still spend.
    delay_left: Mutex<u64>,
    /// How often each path ran so far (retries run an item again): the occurrence is part
    /// of the at-most-once key, and a rerun of the same answer counts the same way.
    seen: Mutex<HashMap<String, u32>>,
}

/// Runs the plan; returns one entry per executed (or refused) action, in completion order.
pub(super) async fn execute(rt: &Inner, answer: &Answer, plan: Plan) -> Vec<Value> {
    let limits = &rt.limits;
    let exec = Exec {
        rt,
        answer,
        results: Mutex::new(Vec::new()),
        delay_left: Mutex::new(limits.max_total_delay.as_millis() as u64),
        seen: Mutex::new(HashMap::new()),
    };
    let timed_out = tokio::time::timeout(limits.run_timeout, exec.steps(&plan.steps, plan.delay_ms)).await.is_err();
    let mut results = exec.results.into_inner().unwrap_or_else(|e| e.into_inner());
    if timed_out {
        results.push(failure(format!(
            "the run took longer than {} ms (WAREST_ACTIONS_TIMEOUT_MS); the remaining actions were not run",
            limits.run_timeout.as_millis()
        )));
    }
    results
}

/// "Truthy" as the original evaluates conditions: booleans, non-zero numbers, and strings
/// other than "", "false", "0", "no", "null", "undefined". A condition `{{a.b}}` was
/// already replaced by that value of the event when the answer was parsed (`template`).
fn truthy(cond: &Value) -> bool {
    match cond {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => {
            !matches!(s.trim().to_ascii_lowercase().as_str(), "" | "false" | "0" | "no" | "null" | "undefined")
        }
        Value::Array(a) => !a.is_empty(),
        Value::Object(_) => true,
    }
}

impl<'a> Exec<'a> {
    fn record(&self, step: &Step, outcome: &Result<Value, String>) {
        self.record_noted(step, outcome, None);
    }

    /// `note`: why the action did not run now (an earlier run of the event did it).
    fn record_noted(&self, step: &Step, outcome: &Result<Value, String>, note: Option<&str>) {
        let mut entry = json!({ "path": step.path, "type": step.kind, "ok": outcome.is_ok() });
        if let Some(n) = note {
            entry["skipped"] = Value::String(n.to_string());
        }
        match outcome {
            Ok(Value::Null) => {}
            Ok(v) => entry["result"] = v.clone(),
            Err(e) => entry["error"] = Value::String(e.clone()),
        }
        if let Some(s) = &step.session_id {
            entry["sessionId"] = Value::String(s.clone());
        }
        self.results.lock().unwrap_or_else(|e| e.into_inner()).push(entry);
    }

    /// Waits `ms` out of the run's delay budget.
    async fn wait(&self, ms: u64) -> Result<(), String> {
        if ms == 0 {
            return Ok(());
        }
        {
            let mut left = self.delay_left.lock().unwrap_or_else(|e| e.into_inner());
            if ms > *left {
                return Err(format!(
                    "the run's total delay limit of {} ms (WAREST_ACTIONS_MAX_DELAY_MS) would be exceeded",
                    self.rt.limits.max_total_delay.as_millis()
                ));
            }
            *left -= ms;
        }
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok(())
    }

    /// Steps in order with `gap_ms` between them; true when all succeeded.
    fn steps<'b>(&'b self, steps: &'b [Step], gap_ms: u64) -> Boxed<'b> {
        Box::pin(async move {
            let mut all = true;
            for (i, s) in steps.iter().enumerate() {
                if i > 0 && gap_ms > 0 && self.wait(gap_ms).await.is_err() {
                    // The budget is spent: the rest would have to run without their pauses.
                    for rest in &steps[i..] {
                        self.record(rest, &Err("skipped: the run's total delay limit was reached".into()));
                    }
                    return false;
                }
                all &= self.step(s).await;
            }
            all
        })
    }

    fn step<'b>(&'b self, s: &'b Step) -> Boxed<'b> {
        Box::pin(async move {
            let (outcome, note) = match &s.action {
                Err(e) => (Err(e.clone()), None),
                // Flow actions only arrange others; noops do nothing: neither needs a claim.
                Ok(
                    a @ (Action::Noop
                    | Action::Queue { .. }
                    | Action::Parallel { .. }
                    | Action::When { .. }
                    | Action::Retry { .. }),
                ) => (Box::pin(self.action(s, a, "")).await, None),
                // Boxed: the leaf futures (sends, WhatsApp calls) are deep, and nesting them
                // in this recursive one overflows the compiler's layout depth.
                Ok(a) => Box::pin(self.once(s, a)).await,
            };
            let ok = outcome.is_ok();
            crate::metrics::action_run(match (ok, note) {
                (_, Some(_)) => "skipped",
                (true, None) => "ok",
                (false, None) => "error",
            });
            self.record_noted(s, &outcome, note);
            ok
        })
    }

    /// Runs a side-effecting action unless an earlier run of this event's answer from this
    /// target claimed it: then its recorded outcome stands in, with a note.
    async fn once(&self, s: &Step, a: &Action) -> (Result<Value, String>, Option<&'static str>) {
        let n = {
            let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            let c = seen.entry(s.path.clone()).or_insert(0);
            *c += 1;
            *c
        };
        let key = format!("{}#{n}", s.path);
        let (db, ev, target) = (&self.rt.db, &self.answer.event_id, &self.answer.target);
        let session = s.session_id.as_deref().unwrap_or(&self.answer.session_id);
        match once::claim(db, ev, target, &key, session).await {
            // Without a claim there is no at-most-once: better not to act.
            Err(e) => (Err(format!("store error: {e}; the action was not run")), None),
            Ok(Claim::Done(prev)) => (prev, Some("already run for this event and target")),
            // A send is keyed in the queue too: enqueueing again returns the first send.
            Ok(Claim::Unfinished) if matches!(a, Action::Send(_)) => (self.action(s, a, &key).await, None),
            Ok(Claim::Unfinished) => (
                Err("an earlier run of this event started this action and did not finish; it is not repeated".into()),
                Some("unfinished earlier"),
            ),
            Ok(Claim::New) => {
                let outcome = self.action(s, a, &key).await;
                if let Err(e) = once::finish(db, ev, target, &key, &outcome).await {
                    tracing::warn!(error = %e, event = %ev, path = %key, "could not record an action's outcome");
                }
                (outcome, None)
            }
        }
    }

    /// The session an action addresses: the event's, or its `sessionId` if the webhook's
    /// owner owns that session too.
    async fn session(&self, s: &Step) -> Result<SessionRow, String> {
        let id = s.session_id.as_deref().unwrap_or(&self.answer.session_id);
        match self.rt.db.get_session(Scope::Registry(&self.answer.registry), id).await {
            Ok(row) => Ok(row),
            Err(StoreError::NotFound) => {
                tracing::warn!(session = %self.answer.session_id, target = %id, "webhook action refused: another tenant's session");
                Err(format!("refused: session {id:?} does not belong to this webhook's owner"))
            }
            Err(e) => Err(format!("store error: {e}")),
        }
    }

    /// The session linked and connected, for operations that need its socket.
    fn live(&self, row: SessionRow) -> Result<LiveSession, String> {
        let handle = self.rt.sessions.handle(&row);
        Session { row, handle }.live().map_err(|e| e.to_string())
    }

    fn jid(&self, raw: &str) -> Result<String, String> {
        crate::outbound::recipient::normalize(raw, self.rt.outbound.config().default_country_code.as_deref())
            .map(|r| r.jid)
            .map_err(|why| format!("to: {why}"))
    }

    /// The message a key names: from the store, else as the key describes it.
    async fn msg(&self, session_id: &str, k: &Key) -> Result<MsgRef, String> {
        let chat = k.remote_jid.as_deref().map(|r| self.jid(r)).transpose()?;
        if let Some(m) =
            lookup::find(&self.rt.db, session_id, &k.id, chat.as_deref()).await.map_err(|e| e.to_string())?
        {
            return Ok(m);
        }
        match (chat, k.from_me) {
            (Some(chat), Some(from_me)) => Ok(MsgRef {
                session_id: session_id.to_string(),
                chat,
                id: k.id.clone(),
                sender: k.participant.clone(),
                from_me,
                ts_ms: now_ms(),
                sent: true,
            }),
            _ => Err(message_ops::OpError::NotFound.to_string()),
        }
    }

    async fn chat_state(&self, live: &LiveSession, to: &str, state: ChatState) -> Result<(), String> {
        Box::pin(message_ops::chat_state(live, &self.jid(to)?, state)).await.map_err(|e| e.to_string())
    }

    /// `key`: the action's at-most-once key (`once`), empty for flow actions.
    async fn action(&self, s: &Step, a: &Action, key: &str) -> Result<Value, String> {
        match a {
            Action::Noop => Ok(Value::Null),
            Action::Queue { items, delay_ms } => {
                if self.steps(items, *delay_ms).await {
                    Ok(Value::Null)
                } else {
                    Err("an item failed".into())
                }
            }
            Action::Parallel { items } => {
                let all = futures_util::future::join_all(items.iter().map(|i| self.step(i))).await;
                if all.iter().all(|ok| *ok) { Ok(Value::Null) } else { Err("an item failed".into()) }
            }
            Action::When { cond, then, otherwise } => {
                let take = truthy(cond);
                let ok = self.steps(if take { then } else { otherwise }, 0).await;
                let branch = if take { "then" } else { "else" };
                if ok { Ok(json!({ "branch": branch })) } else { Err(format!("the {branch} branch failed")) }
            }
            Action::Retry { item, attempts, delay_ms, backoff, on_fail } => {
                let mut wait = *delay_ms as f64;
                for n in 1..=*attempts {
                    if self.step(item).await {
                        return Ok(json!({ "attempts": n }));
                    }
                    if n < *attempts {
                        self.wait(wait as u64).await?;
                        wait *= backoff;
                    }
                }
                self.steps(on_fail, 0).await;
                Err(format!("failed after {attempts} attempts"))
            }
            Action::Send(o) => Box::pin(self.send(s, o, key)).await,
            Action::Delay { ms, state, to } => {
                let cue = match (state, to) {
                    (Some(st), Some(to)) => {
                        let live = self.live(self.session(s).await?)?;
                        self.chat_state(&live, to, *st).await?;
                        Some((live, to))
                    }
                    _ => None,
                };
                self.wait(*ms).await?;
                if let Some((live, to)) = cue {
                    self.chat_state(&live, to, ChatState::Paused).await?;
                }
                Ok(Value::Null)
            }
            control => {
                let live = self.live(self.session(s).await?)?;
                Box::pin(self.control(&live, control)).await.map(|()| Value::Null)
            }
        }
    }

    async fn control(&self, live: &LiveSession, a: &Action) -> Result<(), String> {
        let e = |e: message_ops::OpError| e.to_string();
        match a {
            Action::Presence { available: Some(on), .. } => message_ops::presence(live, *on).await.map_err(e),
            Action::Presence { state: Some(st), to: Some(to), .. } => self.chat_state(live, to, *st).await,
            Action::React { key, emoji } => {
                message_ops::react(live, &self.msg(live.id(), key).await?, emoji).await.map(|_| ()).map_err(e)
            }
            Action::Star { key, on } => message_ops::star(live, &self.msg(live.id(), key).await?, *on).await.map_err(e),
            Action::Delete { key, media } => {
                message_ops::delete_for_me(live, &self.msg(live.id(), key).await?, *media).await.map_err(e)
            }
            Action::Revoke { key, for_me } => {
                let m = self.msg(live.id(), key).await?;
                message_ops::revoke(live, &m).await.map_err(e)?;
                if *for_me {
                    message_ops::delete_for_me(live, &m, true).await.map_err(e)?;
                }
                Ok(())
            }
            Action::Edit { key, text } => {
                message_ops::edit(live, &self.msg(live.id(), key).await?, text, now_ms()).await.map(|_| ()).map_err(e)
            }
            Action::Read { keys } => {
                for k in keys {
                    message_ops::mark_read(live, &self.msg(live.id(), k).await?).await.map_err(e)?;
                }
                Ok(())
            }
            _ => Err("this action cannot run here".into()),
        }
    }

    async fn send(&self, s: &Step, o: &serde_json::Map<String, Value>, key: &str) -> Result<Value, String> {
        let cfg = self.rt.outbound.config();
        let recipients = send::recipients(o, cfg)?;
        let row = self.session(s).await?;
        let content = send::content(&s.kind, o, cfg, &self.rt.db, &row.id).await?;
        let me = row.me.jid.clone().ok_or("the session is not linked to a WhatsApp account yet")?;
        let req = SendRequest {
            session_id: row.id.clone(),
            registry: row.registry.clone(),
            me_jid: Some(me),
            recipients,
            content,
            // Keyed like the claim (event, target, occurrence), not by delivery, which a
            // replay changes: a send whose run crashed before recording it is enqueued
            // again on redelivery, and this key makes that a replay of the first send.
            idempotency_key: Some(format!("action:{}:{}:{key}", self.answer.event_id, self.answer.target)),
        };
        let done = self.rt.outbound.enqueue(req).await.map_err(|e| e.to_string())?;
        let ids: Vec<&str> = done.messages.iter().map(|m| m.message_id.as_str()).collect();
        Ok(json!({ "messageIds": ids, "replayed": done.replayed }))
    }
}
