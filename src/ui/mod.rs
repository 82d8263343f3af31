//! The dashboard: server-rendered pages at `/` and `/ui/…`, the `/login` page, its own
//! small JavaScript and stylesheet, and CSRF protection. It owns no business rule.
//!
//! Every read and every action goes through the REST API's own handlers, in process
//! ([`api::Api`]): the page's form is turned into the API request, dispatched to the same
//! router `/api/v1/*` uses (with the signed-in principal in place of a key), and the API's
//! envelope is rendered. So a form has exactly the API's validation, scoping (an admin
//! sees every tenant, a user only its own) and codes — by construction, not by a copy —
//! and the dashboard keeps working whichever component a route's logic moves into.
//!
//! Sign-in is the API explorer's: the `WAREST_DOCS_SESSION` cookie set by
//! `/api/auth/login`. Live updates come from the stored-event stream
//! (`/api/v1/events/stream`), relayed at `/ui/stream` for the browser's `EventSource`.
//!
//! Templates use minijinja: the pages render the API's JSON answers as they are
//! (askama and maud want a typed struct per page, which would mirror every wire type
//! here again), it auto-escapes HTML, and the templates are plain files embedded with
//! `include_str!` and parsed once at start. Pages carry a CSP without `'unsafe-inline'`:
//! scripts and styles are files served from here, and nothing is fetched from elsewhere.

mod api;
mod assets;
mod chart;
mod cookies;
mod csrf;
mod events;
mod forms;
mod login;
mod render;
mod server;
mod session;
mod session_actions;
mod sessions;
mod viewer;

use std::sync::Arc;

use axum::Router;
use axum::response::Redirect;
use axum::routing::{get, post};

use crate::app::AppState;

/// What every dashboard handler needs: the gateway, the in-process API, the templates.
pub struct Ui {
    pub(crate) state: AppState,
    pub(crate) api: api::Api,
    pub(crate) pages: render::Pages,
}

type Shared = Arc<Ui>;

/// The dashboard's routes, merged into the gateway's router (`crate::http::router`).
pub fn router(state: AppState) -> Router<AppState> {
    let state_for_cookies = state.clone();
    let ui =
        Arc::new(Ui { api: api::Api::new(state.clone()), pages: render::Pages::new(state.config.timezone), state });
    Router::new()
        .route("/", get(|| async { Redirect::to("/ui/sessions") }))
        .route("/ui", get(|| async { Redirect::to("/ui/sessions") }))
        .route("/ui/", get(|| async { Redirect::to("/ui/sessions") }))
        .route("/login", get(login::page))
        .route("/ui/login", post(login::submit))
        .route("/ui/logout", post(login::logout))
        .route("/ui/static/{file}", get(assets::serve))
        .route("/ui/sessions", get(sessions::list).post(sessions::create))
        .route("/ui/sessions.json", get(sessions::statuses))
        .route("/ui/messages/{id}", get(session::message_status))
        .route("/ui/sessions/{id}", get(session::page))
        .route("/ui/sessions/{id}/qr.png", get(session::qr_png))
        .route("/ui/sessions/{id}/chats/{chat}", get(session::chat))
        .route("/ui/sessions/{id}/{action}", post(session_actions::act))
        .route("/ui/events", get(events::page))
        .route("/ui/stream", get(events::stream))
        .route("/ui/preflight", post(events::preflight))
        .route("/ui/dlq/{id}/{action}", post(events::dlq))
        .route("/ui/server", get(server::page))
        .route("/ui/keys", post(server::create_key))
        .route("/ui/keys/{id}/revoke", post(server::revoke_key))
        .route("/ui/users", post(server::create_user))
        .route("/ui/users/{id}/{action}", post(server::user_action))
        .with_state(ui)
        .layer(axum::middleware::from_fn_with_state(state_for_cookies, cookies::secure_when_https))
}
