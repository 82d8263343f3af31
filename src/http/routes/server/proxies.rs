//! `GET /api/v1/server/proxies` (admin): the managed proxy pool as the gateway sees it —
//! each proxy with its credentials masked, healthy or cooling off (until when), the
//! sessions on it and its recent failures. Sessions with their own proxy are not listed
//! here; each session's view shows its proxy.

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::auth::Admin;
use crate::http::docs::AdminErrors;
use crate::http::envelope::{Envelope, Reply};
use crate::http::error::ApiResult;
use crate::sessions::proxy::pool::ProxyStatusView;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(proxies))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerProxies {
    /// Whether `WAREST_PROXY_URLS` configured a pool.
    enabled: bool,
    /// `failover`, `round_robin` or `random`.
    strategy: Option<String>,
    sticky: Option<bool>,
    proxies: Vec<ProxyStatusView>,
}

#[utoipa::path(get, path = "/api/v1/server/proxies", tag = "Server", operation_id = "getServerProxies",
    summary = "Proxy pool status",
    description = "Each pool proxy (password masked): `healthy` or `cooling_off` (with `coolingOffUntil`), the sessions \
                   assigned to it and its recent failures. Requires an admin key.",
    responses((status = 200, description = "The pool", body = Envelope<ServerProxies>), AdminErrors))]
async fn proxies(State(state): State<AppState>, _a: Admin) -> ApiResult<Reply<ServerProxies>> {
    let pool = state.sessions.deps().proxies.clone();
    let result = match pool {
        None => ServerProxies { enabled: false, strategy: None, sticky: None, proxies: Vec::new() },
        Some(p) => ServerProxies {
            enabled: true,
            strategy: Some(p.settings().strategy.as_str().to_string()),
            sticky: Some(p.settings().sticky),
            proxies: p.view(),
        },
    };
    Ok(Reply::ok("Proxies fetched", result))
}
