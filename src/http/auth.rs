//! Authentication middleware and the `Tenant` / `Admin` extractors.
//!
//! The middleware resolves `X-WAREST-API-KEY` or `Authorization: Bearer` to a
//! [`Principal`], applies the per-key rate limit, and stamps the `X-WAREST-*` identity
//! headers on the response. Handlers state what they need by extractor type.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, Code};
use super::rate_limit::Decision;
use super::session;
use crate::app::AppState;
use crate::auth::{self, Principal};

pub const API_KEY_HEADER: &str = "x-warest-api-key";

/// Any authenticated caller; handlers scope their queries to `registry`.
#[derive(Debug, Clone)]
pub struct Tenant(pub Principal);

/// An authenticated admin; anyone else gets 403.
#[derive(Debug, Clone)]
pub struct Admin(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Tenant {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts.extensions.get::<Principal>().cloned().map(Tenant).ok_or_else(ApiError::unauthorized)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Admin {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let p = parts.extensions.get::<Principal>().cloned().ok_or_else(ApiError::unauthorized)?;
        if p.is_admin { Ok(Admin(p)) } else { Err(ApiError::forbidden()) }
    }
}

/// Optionally authenticated (health probes): `None` for anonymous callers.
#[derive(Debug, Clone)]
pub struct MaybeTenant(pub Option<Principal>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeTenant {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Ok(MaybeTenant(parts.extensions.get::<Principal>().cloned()))
    }
}

/// The key presented in either header, if any.
pub fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers.get(API_KEY_HEADER).and_then(|v| v.to_str().ok()) {
        return Some(v.trim());
    }
    let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = auth.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The rate-limit bucket counting one client's failed authentications: keyed by the peer
/// address, or the client a trusted proxy names ([`super::client_ip`]).
pub(crate) fn authfail_bucket(state: &AppState, req: &Request) -> String {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    authfail_bucket_for(state, peer, req.headers())
}

pub(crate) fn authfail_bucket_for(state: &AppState, peer: Option<IpAddr>, headers: &HeaderMap) -> String {
    match peer {
        Some(peer) => format!("authfail:{}", state.config.trusted_proxies.client(peer, headers)),
        None => "authfail:unknown".into(),
    }
}

/// Counts one failed authentication for `bucket`: 401 while the client is within its
/// allowance, 429 once it is over. Only failures are counted, and only after the lookup,
/// so a valid key behind the same address is never refused for someone else's guesses
/// (keys are 256-bit random: the slow-down spares the database, it is not what stops
/// guessing).
pub(crate) fn refuse(state: &AppState, bucket: &str, unauthorized: ApiError) -> Response {
    let decision = state.limiter.check(bucket);
    if decision.allowed { unauthorized.into_response() } else { too_many(decision) }
}

/// Requires a valid key.
pub async fn require_key(State(state): State<AppState>, req: Request, next: Next) -> Response {
    authenticate(state, req, next, true).await
}

/// Accepts anonymous callers; a key, when given, must be valid.
pub async fn optional_key(State(state): State<AppState>, req: Request, next: Next) -> Response {
    authenticate(state, req, next, false).await
}

async fn authenticate(state: AppState, mut req: Request, next: Next, required: bool) -> Response {
    let key = presented_key(req.headers()).map(str::to_owned);
    let principal = match key {
        None if required => return ApiError::unauthorized().into_response(),
        None => None,
        Some(key) => match auth::authenticate_key(&state.db, &key).await {
            Ok(Some(p)) => Some(p),
            Ok(None) => return refuse(&state, &authfail_bucket(&state, &req), ApiError::unauthorized()),
            Err(e) => return ApiError::from(e).into_response(),
        },
    };
    let Some(principal) = principal else {
        return next.run(req).await;
    };
    let key_id = principal.key_id.clone().unwrap_or_default();
    let decision = state.limiter.check(&format!("key:{key_id}"));
    if !decision.allowed {
        let mut res = too_many(decision);
        stamp_identity(res.headers_mut(), &principal);
        return res;
    }
    // One tenant's keys together: more keys buy no more requests (admins run the gateway).
    if let Some(tenant) = state.tenant_limiter.as_ref().filter(|_| !principal.is_admin) {
        let combined = tenant.check(&format!("tenant:{}", principal.registry));
        if !combined.allowed {
            let mut res = too_many(combined);
            stamp_identity(res.headers_mut(), &principal);
            return res;
        }
    }
    state.note_key_use(&key_id);
    req.extensions_mut().insert(principal.clone());
    let (mut res, label) = session::scope(next.run(req)).await;
    session::stamp(res.headers_mut(), label);
    stamp_rate_headers(res.headers_mut(), decision);
    stamp_identity(res.headers_mut(), &principal);
    res
}

pub(crate) fn too_many(decision: Decision) -> Response {
    let mut err = ApiError::new(Code::RateLimited, "Too many requests");
    err.retry_after = Some(decision.reset_secs);
    let mut res = err.into_response();
    stamp_rate_headers(res.headers_mut(), decision);
    res
}

fn stamp_rate_headers(h: &mut HeaderMap, d: Decision) {
    h.insert(HeaderName::from_static("ratelimit-limit"), HeaderValue::from(d.limit));
    h.insert(HeaderName::from_static("ratelimit-remaining"), HeaderValue::from(d.remaining));
    h.insert(HeaderName::from_static("ratelimit-reset"), HeaderValue::from(d.reset_secs));
}

pub fn stamp_identity(h: &mut HeaderMap, p: &Principal) {
    if let Ok(v) = HeaderValue::from_str(&p.registry) {
        h.insert(HeaderName::from_static("x-warest-registry"), v);
    }
    if let Ok(v) = HeaderValue::from_str(&p.username) {
        h.insert(HeaderName::from_static("x-warest-username"), v);
    }
}
