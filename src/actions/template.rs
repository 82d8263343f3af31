//! Templates in a receiver's actions, as the original WAREST renders them: `{{path}}` in
//! any string of an action is replaced by that value of the event the receiver answered
//! (`{{data.sender.chatId}}`, `{{data.text}}`, `{{event}}`; the payload's own fields also at
//! the top, `{{text}}`). A string that is one template becomes the value itself, so
//! `"key": "{{data.message.key}}"` is the key object; inside longer text a value is
//! written as text (strings as they are, anything else as JSON); a missing path is empty.
//!
//! Rendering only reads the event, and its output is capped: a receiver cannot make the
//! gateway build more than `budget` bytes of actions out of a small answer.

use serde_json::{Map, Value};

/// The values templates may name: the event's data fields, and `event`, `data`,
/// `sessionId` (the original's context was the delivered body merged with its data).
pub fn context(event: &str, data: &Value, session_id: &str) -> Value {
    let mut root = match data {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    root.insert("event".into(), Value::String(event.into()));
    root.insert("data".into(), data.clone());
    root.insert("sessionId".into(), Value::String(session_id.into()));
    Value::Object(root)
}

/// `v` with its templates rendered from `ctx`; Err when the result would pass `budget`
/// bytes of rendered text.
pub fn render(v: &Value, ctx: &Value, budget: &mut usize) -> Result<Value, String> {
    match v {
        Value::String(s) if s.contains("{{") => string(s, ctx, budget),
        Value::Array(a) => a.iter().map(|x| render(x, ctx, budget)).collect::<Result<_, _>>().map(Value::Array),
        Value::Object(o) => {
            let mut out = Map::with_capacity(o.len());
            for (k, x) in o {
                out.insert(k.clone(), render(x, ctx, budget)?);
            }
            Ok(Value::Object(out))
        }
        other => Ok(other.clone()),
    }
}

fn lookup<'a>(ctx: &'a Value, path: &str) -> Option<&'a Value> {
    path.trim().split('.').try_fold(ctx, |v, k| match v {
        Value::Array(a) => a.get(k.parse::<usize>().ok()?),
        _ => v.get(k),
    })
}

fn spend(budget: &mut usize, n: usize) -> Result<(), String> {
    *budget = budget.checked_sub(n).ok_or("templates render to more than the answer size limit allows")?;
    Ok(())
}

fn string(s: &str, ctx: &Value, budget: &mut usize) -> Result<Value, String> {
    let t = s.trim();
    if let Some(path) = t.strip_prefix("{{").and_then(|r| r.strip_suffix("}}")).filter(|p| !p.contains("{{")) {
        let value = lookup(ctx, path).cloned().unwrap_or(Value::String(String::new()));
        spend(budget, value.to_string().len())?;
        return Ok(value);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start + 2..].find("}}") else { break };
        out.push_str(&rest[..start]);
        let piece = match lookup(ctx, &rest[start + 2..start + 2 + len]) {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(v)) => v.clone(),
            Some(v) => v.to_string(),
        };
        spend(budget, piece.len())?;
        out.push_str(&piece);
        rest = &rest[start + 2 + len + 2..];
    }
    out.push_str(rest);
    Ok(Value::String(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx() -> Value {
        let data = json!({ "text": "hi there", "sender": { "chatId": "62812@s.whatsapp.net" },
                           "message": { "key": { "id": "ABC", "fromMe": false } }, "mentions": ["a", "b"] });
        context("message_received", &data, "main")
    }

    #[test]
    fn templates_take_values_from_the_event() {
        let mut budget = 10_000;
        let v = json!({ "to": "{{data.sender.chatId}}", "text": "You said: {{ data.text }} ({{event}}, {{text}})",
                        "key": "{{data.message.key}}", "first": "{{data.mentions.0}}", "none": "[{{data.nope}}]",
                        "n": 3, "plain": "no templates" });
        let out = render(&v, &ctx(), &mut budget).unwrap();
        assert_eq!(
            out,
            json!({ "to": "62812@s.whatsapp.net", "text": "You said: hi there (message_received, hi there)",
                    "key": { "id": "ABC", "fromMe": false }, "first": "a", "none": "[]", "n": 3,
                    "plain": "no templates" })
        );
    }

    #[test]
    fn rendering_is_capped() {
        let many = "{{data.text}}".repeat(100);
        let mut budget = 500;
        assert!(render(&json!({ "text": many }), &ctx(), &mut budget).is_err());
        let mut budget = 5_000;
        assert!(render(&json!({ "text": "{{data.text}} {{unclosed" }), &ctx(), &mut budget).is_ok());
    }
}
