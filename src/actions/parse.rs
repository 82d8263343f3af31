//! Parses a receiver's answer (`{"actions":[…], "delayMs":…}`) into steps, enforcing the
//! count and nesting limits. Parsing never fails as a whole: an invalid action becomes a
//! step that only records its error, so the others still run.

use serde_json::{Map, Value};

use super::ActionLimits;
use crate::message_ops::ChatState;

/// A message addressed by an action: `key` (`{id, remoteJid, fromMe, participant}`) or
/// `messageId` (+ `to`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub id: String,
    pub remote_jid: Option<String>,
    pub from_me: Option<bool>,
    pub participant: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// A send through the queue; the object is kept and turned into content at run time
    /// (media must be fetched first).
    Send(Map<String, Value>),
    Noop,
    Delay {
        ms: u64,
        state: Option<ChatState>,
        to: Option<String>,
    },
    Presence {
        available: Option<bool>,
        state: Option<ChatState>,
        to: Option<String>,
    },
    React {
        key: Key,
        emoji: String,
    },
    Star {
        key: Key,
        on: bool,
    },
    Delete {
        key: Key,
        media: bool,
    },
    Revoke {
        key: Key,
        for_me: bool,
    },
    Edit {
        key: Key,
        text: String,
    },
    Read {
        keys: Vec<Key>,
    },
    Queue {
        items: Vec<Step>,
        delay_ms: u64,
    },
    Parallel {
        items: Vec<Step>,
    },
    When {
        cond: Value,
        then: Vec<Step>,
        otherwise: Vec<Step>,
    },
    Retry {
        item: Box<Step>,
        attempts: u32,
        delay_ms: u64,
        backoff: f64,
        on_fail: Vec<Step>,
    },
}

/// One action of the tree: where it is (`0`, `2.items.1`), its type, the session it
/// addresses (None: the event's), and the action or why it is invalid.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub path: String,
    pub kind: String,
    pub session_id: Option<String>,
    pub action: Result<Action, String>,
}

/// The parsed answer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// Pause between top-level actions.
    pub delay_ms: u64,
}

pub const SEND_KINDS: &[&str] =
    &["text", "media", "document", "location", "sticker", "vcard", "button", "list", "poll", "forward", "raw"];

/// Longest delay one action may ask for; the run's total is capped separately.
const MAX_ONE_DELAY_MS: u64 = 600_000;
const MAX_RETRY_ATTEMPTS: u64 = 10;
const MAX_READ_KEYS: usize = 256;

/// What the answer's body amounts to.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// Not an answer with actions (empty, plain text, JSON without `actions`).
    Nothing,
    Plan(Plan),
    /// JSON that is broken, or `actions` that is not a list.
    Malformed(String),
}

/// Parses a body. Plain-text answers ("OK") are not actions; a body that looks like JSON
/// (or is declared JSON) and does not parse is reported. Templates in the actions are
/// rendered from `ctx` (`template::context`; `Null`: none are).
pub fn parse_body(body: &str, content_type: Option<&str>, limits: &ActionLimits, ctx: &Value) -> Parsed {
    let t = body.trim();
    if t.is_empty() {
        return Parsed::Nothing;
    }
    let declared_json = content_type.is_some_and(|c| c.to_ascii_lowercase().contains("json"));
    let v: Value = match serde_json::from_str(t) {
        Ok(v) => v,
        Err(e) if declared_json || t.starts_with('{') || t.starts_with('[') => {
            return Parsed::Malformed(format!("the answer is not valid JSON: {e}"));
        }
        Err(_) => return Parsed::Nothing,
    };
    let (list, delay) = match &v {
        Value::Object(o) => match o.get("actions") {
            None | Some(Value::Null) => return Parsed::Nothing,
            Some(Value::Array(a)) if ctx.is_null() => (a.clone(), o.get("delayMs").cloned()),
            Some(Value::Array(a)) => {
                // Four times the largest answer: room for names and texts, not for an
                // answer that multiplies the event into megabytes.
                let mut budget = limits.max_body.saturating_mul(4);
                match super::template::render(&Value::Array(a.clone()), ctx, &mut budget) {
                    Ok(Value::Array(rendered)) => (rendered, o.get("delayMs").cloned()),
                    Ok(_) => unreachable!("an array renders to an array"),
                    Err(why) => return Parsed::Malformed(why),
                }
            }
            Some(_) => return Parsed::Malformed("`actions` must be a list".into()),
        },
        _ => return Parsed::Nothing,
    };
    let delay_ms = match delay.as_ref().map(|d| ms(d, "delayMs")) {
        Some(Err(e)) => return Parsed::Malformed(e),
        Some(Ok(d)) => d,
        None => 0,
    };
    let mut counter = Counter { left: limits.max_actions, limit: limits.max_actions, max_depth: limits.max_depth };
    Parsed::Plan(Plan { steps: counter.list(&list, "", 1), delay_ms })
}

struct Counter {
    left: usize,
    limit: usize,
    max_depth: usize,
}

impl Counter {
    fn list(&mut self, items: &[Value], prefix: &str, depth: usize) -> Vec<Step> {
        items.iter().enumerate().map(|(i, v)| self.step(v, &format!("{prefix}{i}"), depth)).collect()
    }

    fn step(&mut self, v: &Value, path: &str, depth: usize) -> Step {
        let obj = v.as_object();
        let kind = obj
            .and_then(|o| o.get("type").or_else(|| o.get("act")).or_else(|| o.get("action")))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_lowercase();
        let session_id = obj.and_then(|o| o.get("sessionId")).and_then(Value::as_str).map(str::to_string);
        let mut step = Step { path: path.to_string(), kind: kind.clone(), session_id, action: Err(String::new()) };
        if self.left == 0 {
            step.action = Err(format!("too many actions: at most {} per answer (WAREST_ACTIONS_MAX)", self.limit));
            return step;
        }
        self.left -= 1;
        if depth > self.max_depth {
            step.action = Err(format!("nested too deep: at most {} levels (WAREST_ACTIONS_MAX_DEPTH)", self.max_depth));
            return step;
        }
        step.action = match obj {
            None => Err("an action must be an object".into()),
            Some(_) if kind.is_empty() => Err("`type` is required".into()),
            Some(o) => self.action(&kind, o, path, depth),
        };
        step
    }

    #[expect(clippy::too_many_lines, reason = "one arm per action kind: the match is the catalog")]
    fn action(&mut self, kind: &str, o: &Map<String, Value>, path: &str, depth: usize) -> Result<Action, String> {
        let sub = |name: &str| format!("{path}.{name}.");
        Ok(match kind {
            k if SEND_KINDS.contains(&k) => Action::Send(o.clone()),
            "noop" => Action::Noop,
            "delay" => {
                let ms = match (o.get("ms"), o.get("seconds")) {
                    (Some(v), _) => ms(v, "ms")?,
                    (None, Some(s)) => ms(s, "seconds")?.saturating_mul(1000),
                    (None, None) => return Err("`ms` or `seconds` is required".into()),
                };
                if ms > MAX_ONE_DELAY_MS {
                    return Err(format!("ms: at most {MAX_ONE_DELAY_MS}"));
                }
                Action::Delay { ms, state: state(o)?, to: string(o, "to") }
            }
            "typing" => {
                let ms = o.get("ms").map(|v| ms(v, "ms")).transpose()?.unwrap_or(1000).min(MAX_ONE_DELAY_MS);
                let to = string(o, "to").ok_or("`to` is required")?;
                Action::Delay { ms, state: Some(state(o)?.unwrap_or(ChatState::Composing)), to: Some(to) }
            }
            "presence" => {
                let raw = string(o, "state").or_else(|| string(o, "presence")).ok_or("`state` is required")?;
                let available = match raw.to_ascii_lowercase().as_str() {
                    "available" | "online" => Some(true),
                    "unavailable" | "offline" => Some(false),
                    _ => None,
                };
                let chat = if available.is_none() {
                    Some(ChatState::parse(&raw).ok_or_else(|| format!("state: unknown presence {raw:?}"))?)
                } else {
                    None
                };
                let to = string(o, "to");
                if chat.is_some() && to.is_none() {
                    return Err("`to` is required for a chat presence".into());
                }
                Action::Presence { available, state: chat, to }
            }
            "react" => Action::React {
                key: key(o)?,
                emoji: o
                    .get("emoji")
                    .or_else(|| o.get("text"))
                    .or_else(|| o.get("reaction"))
                    .and_then(Value::as_str)
                    .ok_or("`emoji` is required")?
                    .to_string(),
            },
            "star" | "unstar" => Action::Star { key: key(o)?, on: kind == "star" },
            "delete" => {
                Action::Delete { key: key(o)?, media: o.get("deleteMedia").and_then(Value::as_bool).unwrap_or(false) }
            }
            "revoke" => {
                Action::Revoke { key: key(o)?, for_me: o.get("deleteForMe").and_then(Value::as_bool).unwrap_or(false) }
            }
            "edit" => Action::Edit {
                key: key(o)?,
                text: string(o, "text")
                    .or_else(|| {
                        o.get("message").and_then(|m| m.get("text")).and_then(Value::as_str).map(str::to_string)
                    })
                    .or_else(|| string(o, "message"))
                    .ok_or("`text` is required")?,
            },
            "read" => {
                let keys = match o.get("keys") {
                    Some(Value::Array(a)) => {
                        if a.len() > MAX_READ_KEYS {
                            return Err(format!("keys: at most {MAX_READ_KEYS}"));
                        }
                        a.iter()
                            .map(|k| k.as_object().ok_or("keys: each must be an object".to_string()).and_then(key_of))
                            .collect::<Result<Vec<_>, _>>()?
                    }
                    Some(_) => return Err("keys: must be a list".into()),
                    None => vec![key(o)?],
                };
                Action::Read { keys }
            }
            "queue" => Action::Queue {
                items: self.list(items(o, "items")?, &sub("items"), depth + 1),
                delay_ms: o.get("delayMs").map(|v| ms(v, "delayMs")).transpose()?.unwrap_or(0),
            },
            "parallel" => Action::Parallel { items: self.list(items(o, "items")?, &sub("items"), depth + 1) },
            "when" => {
                let cond = o.get("cond").or_else(|| o.get("condition")).cloned().unwrap_or(Value::Null);
                let then = match o.get("then") {
                    Some(_) => self.list(items(o, "then")?, &sub("then"), depth + 1),
                    None => vec![],
                };
                let otherwise = match o.get("else") {
                    Some(_) => self.list(items(o, "else")?, &sub("else"), depth + 1),
                    None => vec![],
                };
                Action::When { cond, then, otherwise }
            }
            "retry" => {
                let item = match (o.get("item"), o.get("items")) {
                    (Some(v), _) => v.clone(),
                    (None, Some(Value::Array(a))) if !a.is_empty() => a[0].clone(),
                    _ => return Err("`item` (or a non-empty `items`) is required".into()),
                };
                let attempts = o.get("attempts").map(|v| ms(v, "attempts")).transpose()?.unwrap_or(3);
                if !(1..=MAX_RETRY_ATTEMPTS).contains(&attempts) {
                    return Err(format!("attempts: must be 1-{MAX_RETRY_ATTEMPTS}"));
                }
                let backoff = o.get("backoffMs").or_else(|| o.get("backoff")).and_then(Value::as_f64).unwrap_or(1.0);
                let on_fail = match o.get("onFail") {
                    Some(_) => self.list(items(o, "onFail")?, &sub("onFail"), depth + 1),
                    None => vec![],
                };
                Action::Retry {
                    item: Box::new(self.step(&item, &format!("{path}.item"), depth + 1)),
                    attempts: attempts as u32,
                    delay_ms: o.get("delayMs").map(|v| ms(v, "delayMs")).transpose()?.unwrap_or(0),
                    // `backoffMs` of the original is a multiplier when small, so both read as one.
                    backoff: if backoff.is_finite() && (1.0..=10.0).contains(&backoff) { backoff } else { 1.0 },
                    on_fail,
                }
            }
            other => return Err(format!("unknown action type {other:?}")),
        })
    }
}

fn items<'a>(o: &'a Map<String, Value>, name: &str) -> Result<&'a [Value], String> {
    match o.get(name) {
        Some(Value::Array(a)) => Ok(a),
        _ => Err(format!("`{name}` must be a list of actions")),
    }
}

fn string(o: &Map<String, Value>, name: &str) -> Option<String> {
    o.get(name).and_then(Value::as_str).map(str::to_string)
}

fn ms(v: &Value, name: &str) -> Result<u64, String> {
    v.as_u64()
        .or_else(|| v.as_f64().filter(|f| f.is_finite() && *f >= 0.0).map(|f| f as u64))
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        .ok_or_else(|| format!("{name}: must be a non-negative number"))
}

fn state(o: &Map<String, Value>) -> Result<Option<ChatState>, String> {
    match string(o, "state") {
        None => Ok(None),
        Some(s) => ChatState::parse(&s).map(Some).ok_or_else(|| format!("state: unknown chat state {s:?}")),
    }
}

fn key(o: &Map<String, Value>) -> Result<Key, String> {
    match o.get("key") {
        Some(Value::Object(k)) => key_of(k),
        Some(_) => Err("key: must be an object".into()),
        None => {
            let id = string(o, "messageId").or_else(|| string(o, "id")).ok_or("`key` or `messageId` is required")?;
            Ok(Key {
                id,
                remote_jid: string(o, "to").or_else(|| string(o, "remoteJid")).or_else(|| string(o, "jid")),
                from_me: o.get("fromMe").and_then(Value::as_bool),
                participant: string(o, "participant"),
            })
        }
    }
}

fn key_of(k: &Map<String, Value>) -> Result<Key, String> {
    let id = string(k, "id").filter(|s| !s.is_empty() && s.len() <= 128).ok_or("key.id: 1-128 characters required")?;
    Ok(Key {
        id,
        remote_jid: string(k, "remoteJid"),
        from_me: k.get("fromMe").and_then(Value::as_bool),
        participant: string(k, "participant"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn limits() -> ActionLimits {
        ActionLimits { max_actions: 5, max_depth: 2, ..ActionLimits::default() }
    }

    fn plan(v: Value) -> Plan {
        match parse_body(&v.to_string(), None, &limits(), &Value::Null) {
            Parsed::Plan(p) => p,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn plain_text_and_bodies_without_actions_are_not_actions() {
        assert_eq!(parse_body("OK", Some("text/plain"), &limits(), &Value::Null), Parsed::Nothing);
        assert_eq!(parse_body("{}", None, &limits(), &Value::Null), Parsed::Nothing);
        assert!(matches!(parse_body("{\"actions\": [", None, &limits(), &Value::Null), Parsed::Malformed(_)));
        assert!(matches!(parse_body("{\"actions\": 3}", None, &limits(), &Value::Null), Parsed::Malformed(_)));
    }

    #[test]
    fn an_invalid_action_is_only_itself_invalid() {
        let p = plan(json!({"actions": [{"type": "bogus"}, {"type": "text", "to": "1", "text": "x"}, 7]}));
        assert!(p.steps[0].action.as_ref().unwrap_err().contains("unknown action type"));
        assert!(matches!(p.steps[1].action, Ok(Action::Send(_))));
        assert!(p.steps[2].action.is_err());
    }

    #[test]
    fn count_and_depth_limits_mark_the_excess() {
        let p = plan(json!({"actions": [
            {"type": "queue", "items": [{"type": "queue", "items": [{"type": "noop"}]}]},
            {"type": "noop"}, {"type": "noop"}, {"type": "noop"}, {"type": "noop"}
        ]}));
        let Ok(Action::Queue { items, .. }) = &p.steps[0].action else { panic!() };
        let Ok(Action::Queue { items: deepest, .. }) = &items[0].action else { panic!() };
        assert_eq!(deepest[0].path, "0.items.0.items.0");
        assert!(deepest[0].action.as_ref().unwrap_err().contains("nested too deep"));
        // Five counted: the two queues, the too-deep noop, then two top-level noops.
        assert!(p.steps[2].action.is_ok());
        assert!(p.steps[3].action.as_ref().unwrap_err().contains("too many actions"));
    }

    #[test]
    fn control_actions_take_the_original_shapes() {
        let p = plan(json!({"delayMs": 800, "actions": [
            {"act": "read", "keys": [{"remoteJid": "1@s.whatsapp.net", "id": "A", "fromMe": false}]},
            {"act": "delay", "ms": 1200, "state": "composing", "to": "1@s.whatsapp.net"},
            {"type": "react", "key": {"id": "A", "remoteJid": "1@s.whatsapp.net"}, "emoji": "👍"}
        ]}));
        assert_eq!(p.delay_ms, 800);
        assert!(matches!(&p.steps[0].action, Ok(Action::Read { keys }) if keys[0].id == "A"));
        assert!(matches!(&p.steps[1].action, Ok(Action::Delay { ms: 1200, state: Some(ChatState::Composing), .. })));
        assert!(matches!(&p.steps[2].action, Ok(Action::React { emoji, .. }) if emoji == "👍"));
    }
}
