//! The sessions list (live status, counts per status, search) and creating a session
//! (QR or pairing code), through `/api/v1/session/list`, `/create` and `/create/pair-code`.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::api::{enc, query};
use super::forms::after;
use super::viewer::{Posted, Viewer};
use super::{Shared, render};

pub const STATUSES: [&str; 5] = ["WORKING", "SCAN_QR_CODE", "STARTING", "FAILED", "STOPPED"];
/// The longest search text.
const MAX_SEARCH: usize = 100;

#[derive(Deserialize)]
pub struct ListQuery {
    q: Option<String>,
}

/// Whether a session matches the search: its id, label, phone or metadata contains it.
fn matches(s: &Value, needle: &str) -> bool {
    let needle = needle.to_lowercase();
    let hay = [
        s["sessionId"].as_str().unwrap_or_default().to_string(),
        s["label"].as_str().unwrap_or_default().to_string(),
        s["me"]["id"].as_str().unwrap_or_default().to_string(),
        s["metadata"].to_string(),
    ];
    hay.iter().any(|h| h.to_lowercase().contains(&needle))
}

/// How many sessions are in each status.
pub fn counts(sessions: &[Value]) -> Value {
    let mut out = serde_json::Map::new();
    for st in STATUSES {
        let n = sessions.iter().filter(|s| s["status"] == st).count();
        out.insert(st.to_string(), json!(n));
    }
    Value::Object(out)
}

pub async fn list(
    State(ui): State<Shared>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Response {
    let ans = ui.api.get(&viewer.who, "/api/v1/session/list").await;
    if !ans.ok() {
        return render::answer_page(&ui, &ans);
    }
    let all: Vec<Value> = ans.items().as_array().cloned().unwrap_or_default();
    let search: Option<String> =
        q.q.map(|s| s.trim().chars().take(MAX_SEARCH).collect()).filter(|s: &String| !s.is_empty());
    let shown: Vec<&Value> = all.iter().filter(|s| search.as_deref().is_none_or(|n| matches(s, n))).collect();
    let ctx = json!({
        "title": "Sessions", "sessions": shown, "counts": counts(&all), "total": all.len(),
        "statuses": STATUSES, "q": search,
    });
    render::page(&ui, &viewer, &headers, "sessions.html", "sessions", ctx)
}

/// The API's session list as it is, for the page script to catch up after (re)connecting
/// to the stream.
pub async fn statuses(State(ui): State<Shared>, viewer: Viewer) -> Response {
    let ans = ui.api.get(&viewer.who, "/api/v1/session/list").await;
    (ans.http, Json(ans.body)).into_response()
}

pub async fn create(State(ui): State<Shared>, posted: Posted) -> Response {
    let f = &posted.form;
    let id = f.text("sessionId");
    let label = f.text("label");
    let pair = f.get("mode") == Some("pair");
    let uri = if pair {
        let phone = f.text("phone");
        format!(
            "/api/v1/session/create/pair-code{}",
            query(&[("sessionId", id.as_deref()), ("label", label.as_deref()), ("phone", phone.as_deref())])
        )
    } else {
        format!("/api/v1/session/create{}", query(&[("sessionId", id.as_deref()), ("label", label.as_deref())]))
    };
    let ans = ui.api.get(&posted.viewer.who, &uri).await;
    let back = match (&id, ans.ok()) {
        (Some(id), true) => format!("/ui/sessions/{}", enc(id)),
        _ => "/ui/sessions".to_string(),
    };
    let extra = json!({ "pairCode": ans.result()["pairCode"] });
    after(posted.json, &ans, &back, extra)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_looks_at_id_label_phone_and_metadata() {
        let s = json!({ "sessionId": "Sales-1", "label": "Front desk", "me": { "id": "6281234@s.whatsapp.net" },
                        "metadata": { "team": "north" }, "status": "WORKING" });
        for hit in ["sales", "FRONT", "81234", "north"] {
            assert!(matches(&s, hit), "{hit}");
        }
        assert!(!matches(&s, "south"));
        let c = counts(&[s.clone(), json!({ "status": "STOPPED" }), s]);
        assert_eq!((c["WORKING"].as_u64(), c["STOPPED"].as_u64(), c["FAILED"].as_u64()), (Some(2), Some(1), Some(0)));
    }
}
