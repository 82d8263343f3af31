//! The templates (embedded, parsed once) and rendering a page with the dashboard's CSP.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use minijinja::value::Serde;
use minijinja::{Environment, Value as Tpl};
use serde_json::{Value, json};

use super::viewer::Viewer;
use super::{Shared, cookies, forms};
use crate::http::error::ApiError;

/// No inline script or style anywhere: both come from `/ui/static/`, as do images (the
/// QR), and the live stream is same-origin.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                       connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

macro_rules! templates {
    ($($name:literal),* $(,)?) => { &[$(($name, include_str!(concat!("templates/", $name)))),*] };
}

const TEMPLATES: &[(&str, &str)] = templates![
    "base.html",
    "login.html",
    "error.html",
    "confirm.html",
    "sessions.html",
    "session.html",
    "session_config.html",
    "chat.html",
    "events.html",
    "server.html",
];

pub struct Pages {
    env: Environment<'static>,
}

impl Pages {
    pub fn new(tz: chrono_tz::Tz) -> Pages {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            // A template that does not parse is a build defect; the unit test below
            // catches it before any release.
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "dashboard template does not parse");
            }
        }
        env.add_filter("ms", move |ms: Option<i64>| fmt_time(ms, 1, tz));
        env.add_filter("secs", move |s: Option<i64>| fmt_time(s, 1000, tz));
        // A JID's user part: "6281234567890" of "6281234567890:3@s.whatsapp.net".
        env.add_filter("phone", |jid: Option<String>| {
            jid.and_then(|j| j.split(['@', ':']).next().map(str::to_string)).unwrap_or_else(|| "—".into())
        });
        env.add_global("asset_version", format!("{:016x}", super::assets::VERSION));
        Pages { env }
    }

    fn render(&self, name: &str, ctx: &Value) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(Tpl::from(Serde(ctx)))
    }
}

fn fmt_time(v: Option<i64>, to_ms: i64, tz: chrono_tz::Tz) -> String {
    v.and_then(|v| chrono::DateTime::from_timestamp_millis(v.saturating_mul(to_ms)))
        .map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| "—".into())
}

/// Adds the dashboard's headers to an HTML answer.
pub fn html(status: StatusCode, body: String) -> Response {
    let mut res = (status, Html(body)).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The API's `no-referrer` would make the browser send `Origin: null` on the forms'
    // posts, which the origin check refuses; `same-origin` still tells other sites nothing.
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    res
}

/// Renders page `name` for `viewer`. `ctx` is merged over the layout's values (who, the
/// CSRF token, the navigation, the flash the last action left, which is then cleared).
pub fn page(
    ui: &Shared,
    viewer: &Viewer,
    headers: &axum::http::HeaderMap,
    name: &str,
    nav: &str,
    mut ctx: Value,
) -> Response {
    let flash = forms::take_flash(headers);
    if let Value::Object(map) = &mut ctx {
        map.insert(
            "who".into(),
            json!({ "username": viewer.who.username, "registry": viewer.who.registry, "is_admin": viewer.who.is_admin }),
        );
        map.insert("csrf".into(), json!(viewer.csrf));
        map.insert("nav".into(), json!(nav));
        map.insert("flash".into(), flash.clone().unwrap_or(Value::Null));
    }
    let mut res = match ui.pages.render(name, &ctx) {
        Ok(body) => html(StatusCode::OK, body),
        Err(e) => {
            tracing::error!(template = name, error = %e, "dashboard page failed to render");
            error_page(ui, StatusCode::INTERNAL_SERVER_ERROR, &ApiError::internal())
        }
    };
    if flash.is_some()
        && let Some(v) = cookies::set(forms::FLASH, "", 0)
    {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

/// A plain page that says what went wrong, with the API's code.
pub fn error_page(ui: &Shared, status: StatusCode, err: &ApiError) -> Response {
    let ctx = json!({ "status": status.as_u16(), "code": err.code.number(), "message": err.message });
    let body = ui.pages.render("error.html", &ctx).unwrap_or_else(|_| err.message.clone());
    html(status, body)
}

/// An error page from an API answer (a session that is not the viewer's, say).
pub fn answer_page(ui: &Shared, ans: &super::api::Answer) -> Response {
    let ctx = json!({ "status": ans.http.as_u16(), "code": ans.code(), "message": ans.message() });
    let body = ui.pages.render("error.html", &ctx).unwrap_or_else(|_| ans.message().to_string());
    html(ans.http, body)
}

/// Renders a template without the signed-in layout (login).
pub fn bare(ui: &Shared, status: StatusCode, name: &str, ctx: &Value) -> Response {
    match ui.pages.render(name, ctx) {
        Ok(body) => html(status, body),
        Err(e) => {
            tracing::error!(template = name, error = %e, "dashboard page failed to render");
            html(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses() {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        }
    }

    #[test]
    fn values_are_escaped_and_times_formatted() {
        let pages = Pages::new(chrono_tz::UTC);
        let out = pages
            .render("error.html", &json!({ "status": 400, "code": 2001, "message": "<script>alert(1)</script>" }))
            .unwrap();
        assert!(out.contains("&lt;script&gt;") && !out.contains("<script>alert"), "{out}");
        assert_eq!(fmt_time(Some(0), 1, chrono_tz::UTC), "1970-01-01 00:00:00");
        assert_eq!(fmt_time(None, 1, chrono_tz::UTC), "—");
    }
}
