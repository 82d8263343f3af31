//! What a session page's buttons and forms do, each as one API call: start, stop,
//! restart, logout, delete (those four after a confirmation), pairing code, config,
//! webhook targets, preflight, a test message and the queue controls.

use std::sync::OnceLock;

use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::api::{enc, query};
use super::forms::{Form, after, json_field, refused};
use super::viewer::Posted;
use super::{Shared, render};
use crate::http::error::ApiError;

/// Actions that ask first.
const CONFIRM: &[&str] = &["stop", "restart", "logout", "delete", "queue-clear"];

pub async fn act(State(ui): State<Shared>, Path((id, action)): Path<(String, String)>, posted: Posted) -> Response {
    let f = &posted.form;
    if CONFIRM.contains(&action.as_str()) && f.get("confirm") != Some("yes") {
        if posted.json {
            return after(true, &refused(ApiError::field("confirm", "must be \"yes\" to confirm")), "", Value::Null);
        }
        let question = match action.as_str() {
            "stop" => format!("Stop session {id}? It keeps its link; start it again at any time."),
            "restart" => format!("Restart session {id}? Its connection drops for a moment."),
            "logout" => format!("Log session {id} out? The phone unlinks it; linking again needs a new QR."),
            "delete" => format!("Delete session {id}? It is logged out and removed with its data."),
            _ => format!("Drop the messages waiting in session {id}'s queue?"),
        };
        let ctx = json!({ "title": "Confirm", "question": question, "button": action,
                          "target": format!("/ui/sessions/{}/{}", enc(&id), enc(&action)),
                          "back": format!("/ui/sessions/{}", enc(&id)) });
        return render::page(&ui, &posted.viewer, &Default::default(), "confirm.html", "sessions", ctx);
    }
    let who = &posted.viewer.who;
    let path_id = enc(&id);
    let sid = Some(id.as_str());
    let page = format!("/ui/sessions/{path_id}");
    let api = &ui.api;
    let (ans, back, extra) = match action.as_str() {
        "start" | "stop" | "restart" => {
            (api.call(who, Method::POST, &format!("/api/v1/session/{path_id}/{action}"), None).await, page, Value::Null)
        }
        "logout" => {
            (api.get(who, &format!("/api/v1/session/logout{}", query(&[("sessionId", sid)]))).await, page, Value::Null)
        }
        "delete" => {
            let ans = api
                .call(who, Method::DELETE, &format!("/api/v1/session/delete{}", query(&[("sessionId", sid)])), None)
                .await;
            let back = if ans.ok() { "/ui/sessions".to_string() } else { page };
            (ans, back, Value::Null)
        }
        "pair" => {
            let phone = f.text("phone");
            let uri = format!(
                "/api/v1/session/create/pair-code{}",
                query(&[("sessionId", sid), ("phone", phone.as_deref())])
            );
            let ans = api.get(who, &uri).await;
            let extra = json!({ "pairCode": ans.result()["pairCode"] });
            (ans, page, extra)
        }
        "qr" => {
            (api.get(who, &format!("/api/v1/session/create{}", query(&[("sessionId", sid)]))).await, page, Value::Null)
        }
        "config" => match config_body(f) {
            Ok(body) => (api.post(who, &format!("/api/v1/session/{path_id}/config"), &body).await, page, Value::Null),
            Err(err) => (refused(err), page, Value::Null),
        },
        "webhooks" => match webhooks_body(f) {
            Ok(body) => (
                api.call(who, Method::PUT, &format!("/api/v1/session/{path_id}/webhooks"), Some(&body)).await,
                page,
                Value::Null,
            ),
            Err(err) => (refused(err), page, Value::Null),
        },
        "preflight" => {
            let ans = api.post(who, "/api/v1/webhook/preflight", &json!({ "sessionId": id })).await;
            let extra = json!({ "preflight": ans.result() });
            (ans, page, extra)
        }
        "send" => {
            let body = json!({ "sessionId": id, "to": f.text("to").unwrap_or_default(), "message": f.get("message").unwrap_or_default() });
            let ans = api.post(who, "/api/v1/messages/send/text", &body).await;
            let back = match ans.result()["messageId"].as_str() {
                Some(m) => format!("{page}{}", query(&[("sent", Some(m))])),
                None => page,
            };
            (ans, back, Value::Null)
        }
        "queue-pause" | "queue-resume" | "queue-clear" => {
            let what = action.trim_start_matches("queue-");
            (
                api.call(who, Method::POST, &format!("/api/v1/session/{path_id}/queue/{what}"), None).await,
                page,
                Value::Null,
            )
        }
        _ => return render::error_page(&ui, StatusCode::NOT_FOUND, &ApiError::not_found("action")),
    };
    after(posted.json, &ans, &back, extra)
}

/// `POST /session/{id}/config` from the config form. Inputs are named after the API's
/// fields, so a 400 naming a field points at its input.
fn config_body(f: &Form) -> Result<Value, ApiError> {
    let mut body = Map::new();
    body.insert("label".into(), json!(f.get("label").unwrap_or_default()));
    body.insert("autoStart".into(), json!(f.checked("autoStart")));
    body.insert("metadata".into(), json_field(f, "metadata")?.unwrap_or_else(|| json!({})));
    body.insert("webhookUrl".into(), json!(f.get("webhookUrl").unwrap_or_default()));
    if f.checked("webhookSecretClear") {
        body.insert("webhookSecret".into(), json!(""));
    } else if let Some(s) = f.text("webhookSecret") {
        body.insert("webhookSecret".into(), json!(s));
    }
    body.insert("preflight".into(), json!(f.checked("preflight")));
    let mut flags = Map::new();
    for field in flag_schema() {
        let key = format!("flags.{}", field.name);
        if field.boolean {
            flags.insert(field.name.clone(), json!(f.checked(&key)));
        } else if let Some(v) = f.text(&key) {
            flags.insert(field.name.clone(), json!(v));
        }
    }
    body.insert("flags".into(), Value::Object(flags));
    Ok(Value::Object(body))
}

/// `PUT /session/{id}/webhooks` from the targets form: the primary target's event filter
/// (checkboxes) and headers, and the extra targets as the API's JSON array.
fn webhooks_body(f: &Form) -> Result<Value, ApiError> {
    let headers = json_field(f, "primary.headers")?.unwrap_or_else(|| json!({}));
    let targets = json_field(f, "targets")?.unwrap_or_else(|| json!([]));
    Ok(json!({ "primary": { "events": f.all("primary.events"), "headers": headers }, "targets": targets }))
}

/// One session flag as the config form shows it.
#[derive(Clone)]
struct FlagField {
    name: String,
    boolean: bool,
    description: String,
}

/// The session flags as the API documents them (`SessionFlags` in the OpenAPI document),
/// so the form follows the API when a flag is added.
fn flag_schema() -> &'static [FlagField] {
    static FIELDS: OnceLock<Vec<FlagField>> = OnceLock::new();
    FIELDS.get_or_init(|| {
        let doc: Value = serde_json::from_str(&crate::http::docs::openapi_json()).unwrap_or_default();
        let props = doc["components"]["schemas"]["SessionFlags"]["properties"].as_object().cloned().unwrap_or_default();
        props
            .into_iter()
            .map(|(name, p)| {
                let ty = &p["type"];
                let boolean = ty == "boolean" || ty.as_array().is_some_and(|t| t.iter().any(|x| x == "boolean"));
                FlagField { name, boolean, description: p["description"].as_str().unwrap_or_default().to_string() }
            })
            .collect()
    })
}

/// The flags with their current values, for the template.
pub fn flag_fields(current: &Value) -> Value {
    flag_schema()
        .iter()
        .map(|f| json!({ "name": f.name, "boolean": f.boolean, "description": f.description, "value": current[&f.name] }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flags_come_from_the_api_document() {
        let names: Vec<&str> = flag_schema().iter().map(|f| f.name.as_str()).collect();
        assert!(names.contains(&"ignoreGroups") && names.contains(&"rejectCallMessage"), "{names:?}");
        assert!(flag_schema().iter().find(|f| f.name == "ignoreGroups").unwrap().boolean);
        assert!(!flag_schema().iter().find(|f| f.name == "rejectCallMessage").unwrap().boolean);
    }

    #[test]
    fn the_config_form_becomes_the_api_body() {
        let f =
            Form::parse(b"label=Desk&autoStart=on&metadata=%7B%22a%22%3A1%7D&webhookUrl=&flags.ignoreGroups=on", 50)
                .unwrap();
        let b = config_body(&f).unwrap();
        assert_eq!(b["label"], "Desk");
        assert_eq!(b["autoStart"], true);
        assert_eq!(b["metadata"], json!({ "a": 1 }));
        assert_eq!(b["webhookUrl"], "");
        assert!(b.get("webhookSecret").is_none(), "a blank secret keeps the stored one");
        assert_eq!(b["flags"]["ignoreGroups"], true);
        assert_eq!(b["flags"]["rejectCalls"], false);
        assert!(b["flags"].get("rejectCallMessage").is_none());
        let bad = Form::parse(b"metadata=nope", 5).unwrap();
        assert_eq!(config_body(&bad).unwrap_err().field.as_deref(), Some("metadata"));
    }
}
