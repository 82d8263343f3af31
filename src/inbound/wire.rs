//! The parts of a payload that come from whatsapp-rust's own types (a group
//! notification's details, a call's signal, a push-name change) in the names and shapes
//! the rest of the payload uses, as the original's Baileys objects had them: camelCase
//! keys, and JIDs as strings (`user@server`, `user:device@server` for a device) instead
//! of whatsapp-rust's `{user, server, agent, device, integrator}` objects.

use serde_json::{Map, Value};

/// `group_jid` → `groupJid`.
fn camel(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        if c == '_' {
            upper = !out.is_empty();
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// A serialized whatsapp-rust JID, as its string.
fn jid(o: &Map<String, Value>) -> Option<String> {
    let known = ["user", "server", "agent", "device", "integrator"];
    if !o.keys().all(|k| known.contains(&k.as_str())) {
        return None;
    }
    let (user, server) = (o.get("user")?.as_str()?, o.get("server")?.as_str()?);
    Some(match o.get("device").and_then(Value::as_u64).filter(|d| *d != 0) {
        Some(d) => format!("{user}:{d}@{server}"),
        None if user.is_empty() => server.to_string(),
        None => format!("{user}@{server}"),
    })
}

/// `v` with camelCase keys and string JIDs, all the way down. A key that is already
/// there in camelCase keeps its value (the payload's own fields win).
pub fn normalized(v: Value) -> Value {
    match v {
        Value::Object(o) => {
            if let Some(s) = jid(&o) {
                return Value::String(s);
            }
            let mut out = Map::with_capacity(o.len());
            let (own, raw): (Vec<_>, Vec<_>) = o.into_iter().partition(|(k, _)| !k.contains('_'));
            for (k, v) in own {
                out.insert(k, normalized(v));
            }
            for (k, v) in raw {
                out.entry(camel(&k)).or_insert_with(|| normalized(v));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.into_iter().map(normalized).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_become_camel_case_and_jids_strings() {
        let raw = json!({
            "group_jid": { "agent": 0, "device": 0, "integrator": 0, "server": "g.us", "user": "1203" },
            "call_creator": { "agent": 0, "device": 7, "integrator": 0, "server": "s.whatsapp.net", "user": "628" },
            "action": { "subject_owner": { "server": "lid", "user": "165" }, "type": "subject" },
            "list": [{ "from_server": true }],
            "fromOffline": false, "from_offline": true,
        });
        assert_eq!(
            normalized(raw),
            json!({
                "groupJid": "1203@g.us", "callCreator": "628:7@s.whatsapp.net",
                "action": { "subjectOwner": "165@lid", "type": "subject" },
                "list": [{ "fromServer": true }], "fromOffline": false,
            })
        );
    }
}
