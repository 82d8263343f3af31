//! `button` and `list` actions that carry a prebuilt `message`, as receivers of the
//! original WAREST send them: a Baileys message object (`text`/`contentText`,
//! `footer`/`footerText`, `buttons[].buttonId` + `buttonText.displayText`,
//! `sections[].rows[].rowId`). It is read into the fields of our REST bodies, so the same
//! builders and limits apply as to `/messages/send/button` and `/send/list`.

use serde_json::{Map, Value};

fn first<'a>(m: &'a Map<String, Value>, names: &[&str]) -> Option<&'a Value> {
    names.iter().find_map(|n| m.get(*n)).filter(|v| !v.is_null())
}

fn button(b: &Value) -> Value {
    let mut out = Map::new();
    if let Some(o) = b.as_object() {
        for (ours, theirs) in [("id", &["id", "buttonId"][..]), ("url", &["url"]), ("phoneNumber", &["phoneNumber"])] {
            if let Some(v) = first(o, theirs) {
                out.insert(ours.into(), v.clone());
            }
        }
        let text = first(o, &["displayText"]).or_else(|| o.get("buttonText").and_then(|t| t.get("displayText")));
        if let Some(t) = text {
            out.insert("displayText".into(), t.clone());
        }
        if let Some(k) = o.get("type").filter(|t| t.is_string()) {
            out.insert("type".into(), k.clone());
        }
    }
    Value::Object(out)
}

fn section(s: &Value) -> Value {
    let rows: Vec<Value> = s["rows"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| {
                    let mut row = r.as_object().cloned().unwrap_or_default();
                    if let Some(id) = row.remove("rowId").filter(|_| !row.contains_key("id")) {
                        row.insert("id".into(), id);
                    }
                    Value::Object(row)
                })
                .collect()
        })
        .unwrap_or_default();
    serde_json::json!({ "title": s["title"], "rows": rows })
}

/// The action with its prebuilt `message` (when it is an object) read into our fields;
/// fields the action gives itself win. Anything else is returned as it is.
pub fn expand(o: &Map<String, Value>) -> Map<String, Value> {
    let Some(m) = o.get("message").and_then(Value::as_object) else { return o.clone() };
    let mut out = o.clone();
    out.remove("message");
    let mut put = |ours: &str, v: Option<Value>| {
        if let Some(v) = v
            && !out.contains_key(ours)
        {
            out.insert(ours.into(), v);
        }
    };
    put("text", first(m, &["text", "contentText", "caption", "description"]).cloned());
    put("footer", first(m, &["footer", "footerText"]).cloned());
    put("title", first(m, &["title"]).cloned());
    put("buttonText", first(m, &["buttonText"]).filter(|v| v.is_string()).cloned());
    put("buttons", m.get("buttons").and_then(Value::as_array).map(|b| Value::Array(b.iter().map(button).collect())));
    put("sections", m.get("sections").and_then(Value::as_array).map(|s| Value::Array(s.iter().map(section).collect())));
    out
}

#[cfg(test)]
mod tests {
    use super::expand;
    use serde_json::json;

    #[test]
    fn baileys_buttons_and_lists_become_our_fields() {
        let b = json!({ "type": "button", "to": "62812", "message": { "text": "Pick", "footer": "f",
            "buttons": [{ "buttonId": "yes", "buttonText": { "displayText": "Yes" }, "type": 1 }] } });
        let out = expand(b.as_object().unwrap());
        assert_eq!(
            serde_json::Value::Object(out),
            json!({ "type": "button", "to": "62812", "text": "Pick", "footer": "f",
                    "buttons": [{ "id": "yes", "displayText": "Yes" }] })
        );
        let l = json!({ "type": "list", "to": "62812", "text": "mine wins", "message": { "text": "Menu",
            "buttonText": "Open", "sections": [{ "title": "S", "rows": [{ "rowId": "r1", "title": "One" }] }] } });
        let out = expand(l.as_object().unwrap());
        assert_eq!(out["text"], "mine wins");
        assert_eq!(out["buttonText"], "Open");
        assert_eq!(out["sections"], json!([{ "title": "S", "rows": [{ "id": "r1", "title": "One" }] }]));
        // A string `message` is the text field of our list body, not a prebuilt message.
        let plain = json!({ "type": "list", "message": "hello" });
        assert_eq!(expand(plain.as_object().unwrap()), *plain.as_object().unwrap());
    }
}
