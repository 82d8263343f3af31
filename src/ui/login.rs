//! `/login` (the sign-in page of the dashboard and of the API explorer), its form post and
//! sign-out. The credentials are checked by `/api/auth/login`, which sets the
//! `WAREST_DOCS_SESSION` cookie; this file adds the login form's CSRF token and the page.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::forms::Form;
use super::viewer::Posted;
use super::{Shared, cookies, csrf, render};
use crate::http::routes::users::login::COOKIE;

/// The login form's own CSRF cookie (double submit: the form's hidden field must match).
const LOGIN_CSRF: &str = "WAREST_UI_LOGIN";

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// Only same-origin paths: an absolute or protocol-relative `next` would be an open redirect.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') && n.len() <= 512 => n.to_string(),
        _ => "/ui/sessions".into(),
    }
}

fn form_page(ui: &Shared, status: StatusCode, next: &str, error: Option<Value>, username: &str) -> Response {
    let token = crate::auth::generate_session_token();
    let ctx = json!({ "next": next, "csrf": token, "error": error, "username": username });
    let mut res = render::bare(ui, status, "login.html", &ctx);
    if let Some(v) = cookies::set(LOGIN_CSRF, &token, 3600) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

pub async fn page(State(ui): State<Shared>, Query(q): Query<NextQuery>) -> Response {
    form_page(&ui, StatusCode::OK, &safe_next(q.next.as_deref()), None, "")
}

pub async fn submit(
    State(ui): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let Ok(form) = Form::parse(&body, 20) else { return StatusCode::BAD_REQUEST.into_response() };
    let next = safe_next(form.get("next"));
    let expected = cookies::get(&headers, LOGIN_CSRF).unwrap_or_default();
    if !csrf::same_origin(&headers) || !csrf::matches(&expected, form.get(csrf::FIELD)) {
        let err = json!({ "code": crate::http::error::Code::CsrfRejected.number(),
                          "message": "The sign-in form expired; please try again" });
        return form_page(&ui, StatusCode::FORBIDDEN, &next, Some(err), "");
    }
    let username = form.text("username").unwrap_or_default();
    let body = json!({ "username": form.text("username"), "password": form.get("password").filter(|p| !p.is_empty()),
                       "apiKey": form.text("apiKey") });
    // The proxy headers go along, so the sign-in slow-down counts the client a trusted
    // proxy names and the cookie is Secure when that proxy says HTTPS.
    let forwarded: Vec<(&str, &str)> = ["x-forwarded-for", "x-forwarded-proto"]
        .into_iter()
        .flat_map(|name| headers.get_all(name).iter().filter_map(move |v| v.to_str().ok().map(|v| (name, v))))
        .collect();
    let ans = ui.api.anonymous(Some(peer), &forwarded, Method::POST, "/api/auth/login", Some(&body)).await;
    if !ans.ok() {
        let err = json!({ "code": ans.code(), "message": ans.message(), "field": ans.field() });
        return form_page(&ui, ans.http, &next, Some(err), &username);
    }
    let mut res = Redirect::to(&next).into_response();
    for v in ans.headers.get_all(header::SET_COOKIE) {
        res.headers_mut().append(header::SET_COOKIE, v.clone());
    }
    if let Some(v) = cookies::set(LOGIN_CSRF, "", 0) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

pub async fn logout(State(ui): State<Shared>, headers: HeaderMap, posted: Posted) -> Response {
    let cookie = cookies::get(&headers, COOKIE).map(|t| format!("{COOKIE}={t}")).unwrap_or_default();
    let res = ui.api.raw_as(&posted.viewer.who, Method::POST, "/api/auth/logout", &[("cookie", &cookie)]).await;
    let mut out = Redirect::to("/login").into_response();
    for v in res.headers().get_all(header::SET_COOKIE) {
        out.headers_mut().append(header::SET_COOKIE, v.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_limited_to_local_paths() {
        assert_eq!(safe_next(Some("/docs/")), "/docs/");
        for bad in ["https://evil.example", "//evil.example", "/\\evil", "docs"] {
            assert_eq!(safe_next(Some(bad)), "/ui/sessions", "{bad}");
        }
        assert_eq!(safe_next(None), "/ui/sessions");
    }
}
