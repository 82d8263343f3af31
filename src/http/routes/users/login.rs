//! `/api/auth/*`: browser login for the API explorer, kept in the `WAREST_DOCS_SESSION`
//! cookie (HttpOnly, SameSite=Strict, expiring). API calls themselves still need a key.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::{self, Principal};
use crate::http::docs::CommonErrors;
use crate::http::envelope::{Envelope, Reply};
use crate::http::error::{ApiError, ApiResult, Code};
use crate::http::extract::parse_json;
use crate::store::now_ms;

pub const COOKIE: &str = "WAREST_DOCS_SESSION";

crate::error_set!(
    /// Sign-in answers: besides the common ones, a full password-check gate.
    pub LoginErrors = [LoginBusy]
);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(login)).routes(routes!(session)).routes(routes!(logout))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginRequest {
    /// With `password`: a user's credentials.
    username: Option<String>,
    password: Option<String>,
    /// Or an API key instead of username and password.
    api_key: Option<String>,
    /// Form posts only: where to go after login (a path on this server).
    #[schema(example = "/docs/")]
    next: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DocsSession {
    username: String,
    registry: String,
    is_admin: bool,
    /// Unix milliseconds.
    expires_at: i64,
}

/// Accepts JSON or an HTML form post.
struct LoginBody {
    req: LoginRequest,
    from_form: bool,
}

impl<S: Send + Sync> FromRequest<S> for LoginBody {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let ct =
            req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| ApiError::field("body", "could not read the request body"))?;
        if ct.starts_with("application/x-www-form-urlencoded") {
            let req = serde_urlencoded::from_bytes(&bytes).map_err(|e| ApiError::field("body", e))?;
            Ok(LoginBody { req, from_form: true })
        } else {
            Ok(LoginBody { req: parse_json(&bytes)?, from_form: false })
        }
    }
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

#[utoipa::path(post, path = "/api/auth/login", tag = "Auth", operation_id = "postAuthLogin",
    summary = "Sign in to the API explorer",
    description = "Checks a username and password, or an API key, and sets the WAREST_DOCS_SESSION cookie. \
                   Form posts are redirected to `next`.",
    security(()),
    request_body(content = LoginRequest, content_type = "application/json"),
    responses((status = 200, description = "Signed in; cookie set", body = Envelope<DocsSession>),
              (status = 303, description = "Form post: signed in, redirected"), LoginErrors))]
async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    LoginBody { req, from_form }: LoginBody,
) -> ApiResult<Response> {
    let bucket = crate::http::auth::authfail_bucket_for(&state, Some(peer.ip()), &headers);
    let principal = match (non_empty(&req.api_key), non_empty(&req.username), req.password.as_deref()) {
        // A key is checked first and only a failure counts, as on the API: a valid key is
        // never refused for its neighbours' guesses.
        (Some(key), _, _) => match auth::authenticate_key(&state.db, key).await? {
            Some(p) => p,
            None => return Ok(crate::http::auth::refuse(&state, &bucket, invalid())),
        },
        // A password can be guessed: the attempt is counted before argon2 runs (so a burst
        // cannot all pass the check before the first failure is counted), and given back
        // when it succeeds.
        (None, Some(user), Some(pw)) if !pw.is_empty() => {
            let decision = state.limiter.check(&bucket);
            if !decision.allowed {
                let mut err = ApiError::new(Code::RateLimited, "Too many failed sign-in attempts");
                err.retry_after = Some(decision.reset_secs);
                return Err(err);
            }
            match state.login_gate.check_password(&state.db, user, pw).await {
                Ok(Some(p)) => {
                    state.limiter.refund(&bucket);
                    p
                }
                Ok(None) => return Err(invalid()),
                Err(e) => {
                    // A busy gate verified nothing: it is not a failed guess.
                    state.limiter.refund(&bucket);
                    return Err(e.into());
                }
            }
        }
        (None, None, _) => return Err(ApiError::field("username", "give username and password, or apiKey")),
        (None, Some(_), _) => return Err(ApiError::field("password", "is required with username")),
    };

    let token = auth::generate_session_token();
    let ttl = state.config.docs_session_ttl;
    let expires_at = now_ms() + ttl.as_millis() as i64;
    state.db.create_docs_session(&auth::sha256_hex(&token), &principal.registry, expires_at).await?;
    // Secure when a trusted proxy says the browser came over HTTPS; not otherwise, since a
    // browser does not send a Secure cookie back over plain HTTP.
    let secure = if state.config.trusted_proxies.https(peer.ip(), &headers) { "; Secure" } else { "" };
    let cookie = format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}", ttl.as_secs());

    let mut res = if from_form {
        Redirect::to(safe_next(req.next.as_deref())).into_response()
    } else {
        Reply::ok(
            "Signed in",
            DocsSession {
                username: principal.username.clone(),
                registry: principal.registry.clone(),
                is_admin: principal.is_admin,
                expires_at,
            },
        )
        .into_response()
    };
    res.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).map_err(|_| ApiError::internal())?);
    Ok(res)
}

fn invalid() -> ApiError {
    ApiError::new(Code::Unauthorized, "Invalid credentials")
}

/// Only same-origin paths: an absolute or protocol-relative `next` would be an open redirect.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n,
        _ => "/docs/",
    }
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

/// The principal behind a valid docs cookie, if any.
pub async fn cookie_principal(state: &AppState, headers: &HeaderMap) -> Option<(Principal, i64)> {
    let token = cookie_token(headers)?;
    let found = state.db.find_docs_session(&auth::sha256_hex(&token)).await.ok()??;
    Some((Principal::from_user(&found.0, None), found.1))
}

#[utoipa::path(get, path = "/api/auth/session", tag = "Auth", operation_id = "getAuthSession",
    summary = "The current explorer session", description = "Who the WAREST_DOCS_SESSION cookie belongs to; 401 without a valid cookie.",
    security(()),
    responses((status = 200, description = "Signed in", body = Envelope<DocsSession>), CommonErrors))]
async fn session(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Reply<DocsSession>> {
    let (p, expires_at) = cookie_principal(&state, &headers).await.ok_or_else(ApiError::unauthorized)?;
    Ok(Reply::ok(
        "Session active",
        DocsSession { username: p.username, registry: p.registry, is_admin: p.is_admin, expires_at },
    ))
}

#[utoipa::path(post, path = "/api/auth/logout", tag = "Auth", operation_id = "postAuthLogout",
    summary = "Sign out of the explorer", description = "Ends the session and clears the cookie. Always succeeds.",
    security(()),
    responses((status = 200, description = "Signed out", body = Envelope<bool>)))]
async fn logout(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    if let Some(token) = cookie_token(&headers) {
        state.db.delete_docs_session(&auth::sha256_hex(&token)).await?;
    }
    let mut res = Reply::ok("Signed out", true).into_response();
    let clear = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    res.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&clear).map_err(|_| ApiError::internal())?);
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_limited_to_local_paths() {
        assert_eq!(safe_next(Some("/docs/")), "/docs/");
        for bad in ["https://evil.example", "//evil.example", "/\\evil", "docs"] {
            assert_eq!(safe_next(Some(bad)), "/docs/", "{bad}");
        }
        assert_eq!(safe_next(None), "/docs/");
    }

    #[test]
    fn cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; WAREST_DOCS_SESSION=tok; b=2"));
        assert_eq!(cookie_token(&h).as_deref(), Some("tok"));
    }
}
