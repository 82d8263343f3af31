//! The HTTP surface: router, layers, extractors, the envelope and error codes, OpenAPI.
//!
//! Layers, outermost first: request id → panic guard → trace span → CORS → security and
//! version headers → body limit → (per group) auth with per-key rate limit → handler.
//! Owns no WhatsApp calls and no SQL: handlers go through the store and component APIs.

pub mod auth;
pub mod client_ip;
pub mod docs;
pub mod envelope;
pub mod error;
pub mod extract;
pub mod rate_limit;
pub mod routes;
pub mod session;
pub mod wire;

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::app::AppState;
use crate::config::AllowedOrigins;
use error::{ApiError, Code};

/// When the gateway received the request; `ping` reports time spent since.
#[derive(Clone, Copy, Debug)]
pub struct RequestStart(pub Instant);

/// The route table, grouped by the auth each group needs. It is the one list: [`router`]
/// serves it and [`api_router`] documents it, so the two cannot drift.
struct Routes {
    /// Behind an API key (or the login cookie).
    key_required: OpenApiRouter<AppState>,
    /// An API key is read when present: probes, and media answering signed links.
    key_optional: OpenApiRouter<AppState>,
    /// No key at all: the login.
    public: OpenApiRouter<AppState>,
}

/// `sandbox`: include `/api/v1/sandbox/*` (sandbox builds serve and document it; the
/// committed document leaves it out, so it is the same whichever features built it).
fn routes(sandbox: bool) -> Routes {
    Routes {
        key_required: OpenApiRouter::new()
            .merge(routes::server::authed())
            .merge(routes::users::admin::router())
            .merge(routes::users::keys::router())
            .merge(routes::sessions::router())
            .merge(routes::sessions::control::router())
            .merge(routes::messages::router())
            .merge(routes::messages::actions::router())
            .merge(routes::groups::router())
            .merge(routes::chats::actions::router())
            .merge(routes::chats::router())
            .merge(routes::chats::ops::router())
            .merge(routes::chats::presence::router())
            .merge(routes::webhooks::router())
            .merge(routes::webhooks::ops::router())
            .merge(routes::profile::router())
            .merge(routes::misc::router())
            .merge(routes::misc::decrypt::router())
            .merge(if sandbox { sandbox_routes() } else { OpenApiRouter::new() }),
        key_optional: routes::server::probes().merge(routes::media::router()),
        public: routes::users::login::router().merge(routes::server::metrics::router()),
    }
}

/// Every documented route (with the sandbox's when `sandbox`). No state is needed to build
/// it, which is how `warest openapi` renders the document without a database.
pub fn api_router(sandbox: bool) -> OpenApiRouter<AppState> {
    let r = routes(sandbox);
    OpenApiRouter::with_openapi(docs::ApiDoc::openapi()).merge(r.key_required).merge(r.key_optional).merge(r.public)
}

pub fn router(state: AppState) -> Router {
    let r = routes(true);
    let key_required = r.key_required.route_layer(middleware::from_fn_with_state(state.clone(), auth::require_key));
    let key_optional = r.key_optional.route_layer(middleware::from_fn_with_state(state.clone(), auth::optional_key));
    let (api, _) = OpenApiRouter::new().merge(key_required).merge(key_optional).merge(r.public).split_for_parts();
    let doc = docs::document(true);

    let body_limit = state.config.body_limit_bytes;
    let cors = cors_layer(&state.config.allowed_origins);
    Router::new()
        .merge(api)
        .merge(docs::docs_router(state.clone(), doc))
        // The dashboard at `/` and `/ui/…`, and the `/login` page (src/ui/).
        .merge(crate::ui::router(state.clone()))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(axum::extract::DefaultBodyLimit::max(body_limit))
        .layer(middleware::map_response(security_headers))
        .layer(cors)
        .layer(middleware::from_fn(mark_start))
        .layer(middleware::from_fn(record_http))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    // The matched route pattern, never the raw URI: paths may carry ids.
                    let route = req.extensions().get::<MatchedPath>().map_or("<unmatched>", |p| p.as_str());
                    let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
                    tracing::info_span!("http", method = %req.method(), route, request_id = id)
                })
                .on_request(())
                .on_response(|res: &Response, latency: Duration, _span: &tracing::Span| {
                    tracing::info!(
                        status = res.status().as_u16(),
                        latency_ms = latency.as_secs_f64() * 1000.0,
                        "request"
                    );
                })
                .on_failure(()),
        )
        .layer(CatchPanicLayer::custom(|_: Box<dyn std::any::Any + Send>| {
            tracing::error!("handler panicked");
            ApiError::internal().into_response()
        }))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("x-warest-version"),
            HeaderValue::from_static(crate::VERSION),
        ))
}

/// `/api/v1/sandbox/*` exists only in sandbox builds.
fn sandbox_routes() -> OpenApiRouter<AppState> {
    #[cfg(feature = "sandbox")]
    return crate::sandbox_api::router();
    #[cfg(not(feature = "sandbox"))]
    OpenApiRouter::new()
}

async fn mark_start(mut req: Request, next: Next) -> Response {
    req.extensions_mut().insert(RequestStart(Instant::now()));
    next.run(req).await
}

/// Counts the request under its route template (never the raw path: it carries ids).
async fn record_http(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string());
    let method = req.method().clone();
    let start = Instant::now();
    let res = next.run(req).await;
    let route = route.as_deref().unwrap_or("unmatched");
    crate::metrics::http_request(method.as_str(), route, res.status().as_u16(), start.elapsed());
    res
}

async fn not_found() -> ApiError {
    ApiError::new(Code::NotFound, "Not found")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(Code::MethodNotAllowed, "Method not allowed")
}

/// Conservative defaults for a JSON API; routes serving HTML set their own CSP first.
async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    let defaults = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CONTENT_SECURITY_POLICY, "default-src 'none'; frame-ancestors 'none'"),
        (HeaderName::from_static("cross-origin-opener-policy"), "same-origin"),
        (HeaderName::from_static("cross-origin-resource-policy"), "same-origin"),
    ];
    for (name, value) in defaults {
        h.entry(name).or_insert(HeaderValue::from_static(value));
    }
    h.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    res
}

fn cors_layer(origins: &AllowedOrigins) -> CorsLayer {
    let allow = match origins {
        AllowedOrigins::Any => AllowOrigin::any(),
        AllowedOrigins::List(list) => AllowOrigin::list(list.iter().filter_map(|o| HeaderValue::from_str(o).ok())),
    };
    CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE, Method::OPTIONS])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            HeaderName::from_static(auth::API_KEY_HEADER),
            HeaderName::from_static("idempotency-key"),
            HeaderName::from_static("x-request-id"),
        ])
        .expose_headers([
            HeaderName::from_static("x-warest-registry"),
            HeaderName::from_static("x-warest-username"),
            HeaderName::from_static("x-warest-version"),
            HeaderName::from_static("x-warest-label"),
            HeaderName::from_static("x-request-id"),
            HeaderName::from_static("ratelimit-limit"),
            HeaderName::from_static("ratelimit-remaining"),
            HeaderName::from_static("ratelimit-reset"),
            header::RETRY_AFTER,
        ])
        .max_age(Duration::from_secs(600))
}
