//! `GET /metrics`: the Prometheus exposition. Anonymous unless `WAREST_METRICS_TOKEN` is
//! set (then `Authorization: Bearer <token>`); not found when metrics are off, or on the
//! API listener when `WAREST_METRICS_LISTEN` gives them their own.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::error::{ApiError, Code};

crate::error_set!(
    /// A missing or wrong metrics token; metrics off.
    pub MetricsErrors = [Unauthorized, NotFound]
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
                   when that is set; 404 when `WAREST_METRICS=false`, or here when `WAREST_METRICS_LISTEN` serves it on its own address.",
    security((), ("MetricsToken" = [])),
    responses((status = 200, description = "Prometheus text format 0.0.4",
               content_type = "text/plain; version=0.0.4; charset=utf-8", body = String), MetricsErrors))]
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if state.config.metrics.listen.is_some() {
        return ApiError::new(Code::NotFound, "Not found").into_response();
    }
    scrape(State(state), headers).await
}

async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> Response {
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
