//! Who is looking: the `WAREST_DOCS_SESSION` cookie resolved to its principal, with the
//! CSRF token of that sign-in. Pages take a [`Viewer`]; state-changing requests take a
//! [`Posted`], which also checks the CSRF token and the origin before any handler runs.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::forms::Form;
use super::{Shared, cookies, csrf, render};
use crate::auth::Principal;
use crate::http::error::{ApiError, Code};
use crate::http::routes::users::login::{COOKIE, cookie_principal};

/// The most fields a dashboard form may carry.
const MAX_FIELDS: usize = 300;

pub struct Viewer {
    pub who: Principal,
    /// The CSRF token every form of this sign-in carries.
    pub csrf: String,
}

impl FromRequestParts<Shared> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, ui: &Shared) -> Result<Self, Response> {
        let found = match cookies::get(&parts.headers, COOKIE) {
            Some(token) => cookie_principal(&ui.state, &parts.headers).await.map(|(who, _)| (who, token)),
            None => None,
        };
        let Some((who, token)) = found else { return Err(sign_in_first(parts)) };
        // The API's per-key request budget, per user here: dashboard calls skip the key
        // middleware, not the limit.
        let d = ui.state.limiter.check(&format!("ui:{}", who.registry));
        if !d.allowed {
            let mut err = ApiError::new(Code::RateLimited, "Too many requests");
            err.retry_after = Some(d.reset_secs);
            return Err(err.into_response());
        }
        Ok(Viewer { who, csrf: csrf::token_for(&token) })
    }
}

/// Browsers go to the login page (and come back); other clients get the 401 envelope.
fn sign_in_first(parts: &Parts) -> Response {
    if parts.method == Method::GET && wants_html(&parts.headers) {
        let here = parts.uri.path_and_query().map_or("/ui/sessions", |p| p.as_str());
        return Redirect::to(&format!("/login{}", super::api::query(&[("next", Some(here))]))).into_response();
    }
    ApiError::unauthorized().into_response()
}

pub fn wants_html(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"))
}

/// Whether the caller asked for the API's JSON answer instead of a redirect.
pub fn wants_json(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.starts_with("application/json"))
}

/// A state-changing request: signed in, CSRF token and origin checked, form read.
pub struct Posted {
    pub viewer: Viewer,
    pub form: Form,
    /// Answer with the API's envelope (scripts, tests) rather than a redirect.
    pub json: bool,
}

impl FromRequest<Shared> for Posted {
    type Rejection = Response;

    async fn from_request(req: Request, ui: &Shared) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let viewer = Viewer::from_request_parts(&mut parts, ui).await?;
        let json = wants_json(&parts.headers);
        let bytes = axum::body::to_bytes(body, ui.state.config.body_limit_bytes)
            .await
            .map_err(|_| ApiError::new(Code::PayloadTooLarge, "Request body is too large").into_response())?;
        let form = Form::parse(&bytes, MAX_FIELDS)
            .map_err(|_| ApiError::field("body", format!("at most {MAX_FIELDS} form fields")).into_response())?;
        let presented = csrf::from_header(&parts.headers).or_else(|| form.get(csrf::FIELD));
        if !csrf::same_origin(&parts.headers) || !csrf::matches(&viewer.csrf, presented) {
            let err = ApiError::new(Code::CsrfRejected, "Missing or invalid CSRF token; reload the page and try again");
            return Err(if json || !wants_html(&parts.headers) {
                err.into_response()
            } else {
                render::error_page(ui, StatusCode::FORBIDDEN, &err)
            });
        }
        Ok(Posted { viewer, form, json })
    }
}
