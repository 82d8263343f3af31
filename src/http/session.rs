//! How a handler reaches the caller's session: [`find`] and [`live`] validate the id, go
//! through `SessionManager::find`/`live` scoped to the caller, and note the session's label
//! for `X-WAREST-Label`.
//!
//! Handlers do not stamp that header themselves: the loader notes the label in a
//! request-scoped slot and the auth middleware copies it into the response, so every
//! session route (present and future) gets the header by loading its session here.

use std::cell::RefCell;
use std::future::Future;

use axum::http::{HeaderMap, HeaderName, HeaderValue};

use crate::app::AppState;
use crate::auth::Principal;
use crate::http::error::ApiResult;
use crate::http::routes::sessions::views::validate_session_id;
use crate::sessions::live::{LiveSession, Session};
use crate::store::sessions::Scope;

/// The caller's session (another tenant's is not found) and its actor.
pub async fn find(state: &AppState, who: &Principal, id: &str) -> ApiResult<Session> {
    validate_session_id(id)?;
    let session = state.sessions.find(Scope::of(who), id).await?;
    note(session.row.label.as_deref());
    Ok(session)
}

/// The caller's session, linked to WhatsApp and connected right now.
pub async fn live(state: &AppState, who: &Principal, id: &str) -> ApiResult<LiveSession> {
    Ok(find(state, who, id).await?.live()?)
}

tokio::task_local! {
    static LABEL: RefCell<Option<String>>;
}

/// Runs a request with an empty label slot and returns the label noted during it.
pub async fn scope<F: Future>(fut: F) -> (F::Output, Option<String>) {
    LABEL
        .scope(RefCell::new(None), async move {
            let out = fut.await;
            let label = LABEL.with(|l| l.borrow_mut().take());
            (out, label)
        })
        .await
}

/// Notes the session's label for this request's response (no-op outside a request).
pub fn note(label: Option<&str>) {
    let _ = LABEL.try_with(|l| *l.borrow_mut() = label.map(str::to_string));
}

pub fn stamp(h: &mut HeaderMap, label: Option<String>) {
    // A label that is not a valid header value (control characters) is left out, not mangled.
    if let Some(v) = label.and_then(|l| HeaderValue::from_str(&l).ok()) {
        h.insert(HeaderName::from_static("x-warest-label"), v);
    }
}
