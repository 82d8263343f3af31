//! The server page: health, CPU history as a chart and sessions per state for everyone
//! allowed to see them; the viewer's API keys; users and their keys for an admin.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::api::{Answer, enc, query};
use super::forms::after;
use super::viewer::{Posted, Viewer};
use super::{Shared, chart, render, sessions};
use crate::http::error::ApiError;

const PERIODS: [(&str, i64, &str); 4] =
    [("1h", 3600, "1m"), ("6h", 21_600, "5m"), ("24h", 86_400, "15m"), ("7d", 604_800, "1h")];

#[derive(Deserialize, Default)]
pub struct PageQuery {
    period: Option<String>,
}

async fn render_page(
    ui: &Shared,
    viewer: &Viewer,
    headers: &HeaderMap,
    period: Option<&str>,
    created: Value,
    status: StatusCode,
) -> Response {
    let who = &viewer.who;
    let (name, secs, interval) = PERIODS.iter().find(|p| Some(p.0) == period).copied().unwrap_or(PERIODS[0]);
    let cpu_uri =
        format!("/api/v1/server/cpu-history{}", query(&[("period", Some(name)), ("interval", Some(interval))]));
    let (health, list, keys, info, cpu, users) = tokio::join!(
        ui.api.get(who, "/api/v1/server/healthz"),
        ui.api.get(who, "/api/v1/session/list"),
        ui.api.get(who, "/api/v1/keys"),
        admin_only(ui, viewer, "/api/v1/server/info"),
        admin_only(ui, viewer, &cpu_uri),
        admin_only(ui, viewer, "/api/v1/admin/users?limit=200"),
    );
    let all: Vec<Value> = list.items().as_array().cloned().unwrap_or_default();
    let ctx = json!({
        "title": "Server", "health": health.result(), "health_ok": health.ok(),
        "counts": sessions::counts(&all), "total": all.len(), "statuses": sessions::STATUSES,
        "keys": keys.items(), "info": info.result(),
        "cpu": if cpu.ok() { chart::of_history(&cpu.result(), secs) } else { Value::Null },
        "period": name, "periods": PERIODS.iter().map(|p| p.0).collect::<Vec<_>>(),
        "users": users.items(), "created": created,
    });
    let mut res = render::page(ui, viewer, headers, "server.html", "server", ctx);
    *res.status_mut() = status;
    res
}

/// Admin reads: a non-admin's page simply has no such block (the API would say 403).
async fn admin_only(ui: &Shared, viewer: &Viewer, uri: &str) -> Answer {
    if viewer.who.is_admin { ui.api.get(&viewer.who, uri).await } else { super::forms::refused(ApiError::forbidden()) }
}

pub async fn page(
    State(ui): State<Shared>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    render_page(&ui, &viewer, &headers, q.period.as_deref(), Value::Null, StatusCode::OK).await
}

/// A created key (or user) is shown on the answer page itself, once: it never travels in
/// a cookie or a URL.
async fn created_or_back(ui: &Shared, posted: Posted, ans: Answer, what: &str) -> Response {
    if posted.json || !ans.ok() {
        return after(posted.json, &ans, "/ui/server", Value::Null);
    }
    let r = ans.result();
    let key = r["key"].as_str().or_else(|| r["apiKey"]["key"].as_str()).unwrap_or_default();
    let created = json!({ "what": what, "key": key, "message": ans.message() });
    render_page(ui, &posted.viewer, &HeaderMap::new(), None, created, StatusCode::CREATED).await
}

pub async fn create_key(State(ui): State<Shared>, posted: Posted) -> Response {
    let body = json!({ "name": posted.form.text("name") });
    let ans = ui.api.post(&posted.viewer.who, "/api/v1/keys", &body).await;
    created_or_back(&ui, posted, ans, "API key").await
}

pub async fn revoke_key(State(ui): State<Shared>, Path(id): Path<String>, posted: Posted) -> Response {
    let ans = ui.api.call(&posted.viewer.who, Method::DELETE, &format!("/api/v1/keys/{}", enc(&id)), None).await;
    after(posted.json, &ans, "/ui/server", Value::Null)
}

pub async fn create_user(State(ui): State<Shared>, posted: Posted) -> Response {
    let f = &posted.form;
    let body = json!({ "username": f.text("username").unwrap_or_default(), "password": f.get("password").filter(|p| !p.is_empty()),
                       "isAdmin": f.checked("isAdmin"), "keyName": f.text("keyName") });
    let ans = ui.api.post(&posted.viewer.who, "/api/v1/admin/users", &body).await;
    created_or_back(&ui, posted, ans, "user").await
}

pub async fn user_action(
    State(ui): State<Shared>,
    Path((id, action)): Path<(String, String)>,
    posted: Posted,
) -> Response {
    let who = &posted.viewer.who;
    let uid = enc(&id);
    let ans = match action.as_str() {
        "disable" | "enable" => {
            ui.api.call(who, Method::POST, &format!("/api/v1/admin/users/{uid}/{action}"), None).await
        }
        "delete" if posted.form.get("confirm") == Some("yes") => {
            ui.api.call(who, Method::DELETE, &format!("/api/v1/admin/users/{uid}"), None).await
        }
        "delete" if posted.json => super::forms::refused(ApiError::field("confirm", "must be \"yes\" to confirm")),
        "delete" => {
            let ctx = json!({ "title": "Confirm", "question": format!("Delete user {id} with its keys and sessions?"),
                              "button": "Delete", "target": format!("/ui/users/{uid}/delete"), "back": "/ui/server" });
            return render::page(&ui, &posted.viewer, &HeaderMap::new(), "confirm.html", "server", ctx);
        }
        _ => return render::error_page(&ui, StatusCode::NOT_FOUND, &ApiError::not_found("action")),
    };
    after(posted.json, &ans, "/ui/server", Value::Null)
}
