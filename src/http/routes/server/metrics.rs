//! `GET /metrics`: the Prometheus exposition; not found when metrics are off, or on the
//! API listener when `WAREST_METRICS_LISTEN` gives them their own.
//!
//! Who may scrape: with `WAREST_METRICS_TOKEN`, whoever sends `Authorization: Bearer
//! <token>`; with `WAREST_METRICS_ALLOW`, only those addresses (both apply when both are
//! set). With neither, the API listener answers loopback clients only, and not what a
//! local reverse proxy relays — the families tell a stranger how many sessions and tenants
//! run and what fails — while a listener of its own is open: binding it is the operator's
//! choice of who reaches it.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::error::{ApiError, Code};

crate::error_set!(
    /// A missing or wrong metrics token; an address not allowed; metrics off.
    pub MetricsErrors = [Unauthorized, Forbidden, NotFound]
);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(metrics))
}

/// The route alone, for the listener of `WAREST_METRICS_LISTEN`.
pub fn own_listener(state: AppState) -> Router {
    Router::new().route("/metrics", axum::routing::get(scrape)).with_state(state)
}

#[utoipa::path(get, path = "/metrics", tag = "Server", operation_id = "getMetrics",
    summary = "Prometheus metrics",
    description = "The Prometheus text exposition (families prefixed `warest_`). Needs `Authorization: Bearer <WAREST_METRICS_TOKEN>` \
                   when that is set, and a client address in `WAREST_METRICS_ALLOW` when that is set; with neither, only loopback \
                   clients are answered (403 otherwise). 404 when `WAREST_METRICS=false`, or here when `WAREST_METRICS_LISTEN` serves it on its own address.",
    security((), ("MetricsToken" = [])),
    responses((status = 200, description = "Prometheus text format 0.0.4",
               content_type = "text/plain; version=0.0.4; charset=utf-8", body = String), MetricsErrors))]
async fn metrics(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if state.config.metrics.listen.is_some() {
        return ApiError::new(Code::NotFound, "Not found").into_response();
    }
    let m = &state.config.metrics;
    let client = state.config.trusted_proxies.client(peer.ip(), &headers);
    // A loopback peer that forwards for someone (a reverse proxy on this host) is not a
    // local client: what it relays may come from anywhere.
    let relayed = ["x-forwarded-for", "forwarded", "x-real-ip"].iter().any(|h| headers.contains_key(*h));
    let local = client.is_loopback() && !relayed;
    if m.token.is_none() && m.allow.is_empty() && !local {
        return refused();
    }
    scrape(State(state), ConnectInfo(peer), headers).await
}

fn refused() -> Response {
    ApiError::new(Code::Forbidden, "Metrics are served to loopback or WAREST_METRICS_ALLOW addresses only")
        .into_response()
}

async fn scrape(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let m = &state.config.metrics;
    if !m.allow.is_empty() && !m.allow.contains(state.config.trusted_proxies.client(peer.ip(), &headers)) {
        return refused();
    }
    if let Some(token) = &state.config.metrics.token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !bool::from(given.as_bytes().ct_eq(token.expose().as_bytes())) {
            return ApiError::unauthorized().into_response();
        }
    }
    match crate::metrics::scrape(&state).await {
        Some(text) => ([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text).into_response(),
        None => ApiError::new(Code::NotFound, "Not found").into_response(),
    }
}
