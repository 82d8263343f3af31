//! `X-WAREST-Label` on answers that involve a session. Handlers do not stamp it
//! themselves: the session loader notes the label in a request-scoped slot, and the auth
//! middleware copies it into the response, so every session route (present and future)
//! gets the header by loading its session the usual way.

use std::cell::RefCell;
use std::future::Future;

use axum::http::{HeaderMap, HeaderName, HeaderValue};

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
