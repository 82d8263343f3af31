//! WAHA-style control of one session: get, start, stop, restart (all idempotent), its
//! current QR in several formats, and who it is logged in as.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::auth::Tenant;
use crate::http::docs::AdminErrors;
use crate::http::envelope::{Envelope, Reply};
use crate::http::error::{ApiError, ApiResult, Code};
use crate::http::extract::{ApiPath, ApiQuery};
use crate::http::routes::sessions::views::{MeView, SessionView, wait_for};
use crate::http::session;
use crate::sessions::live::Session;
use crate::sessions::status::Status;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_session))
        .routes(routes!(start))
        .routes(routes!(stop))
        .routes(routes!(restart))
        .routes(routes!(qr))
        .routes(routes!(me))
}

/// How long start/restart wait for the session to settle before answering.
const SETTLE: std::time::Duration = std::time::Duration::from_secs(2);

fn settled(s: &crate::sessions::actor::Snapshot) -> bool {
    s.status != Status::Starting || s.qr.is_some()
}

#[utoipa::path(get, path = "/api/v1/session/{sessionId}", tag = "Sessions", operation_id = "getSession",
    summary = "Get a session", description = "Status (STOPPED, STARTING, SCAN_QR_CODE, WORKING, FAILED), lastError, me, config and metadata.",
    params(("sessionId" = String, Path)),
    responses((status = 200, description = "The session", body = Envelope<SessionView>), AdminErrors))]
async fn get_session(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Reply<SessionView>> {
    let Session { row, handle } = session::find(&state, &who, &id).await?;
    Ok(Reply::ok("Session fetched", SessionView::of(&row, &handle.snapshot())))
}

#[utoipa::path(post, path = "/api/v1/session/{sessionId}/start", tag = "Sessions", operation_id = "startSession",
    summary = "Start a session", description = "Idempotent: a running session is left as it is.",
    params(("sessionId" = String, Path)),
    responses((status = 200, description = "Started", body = Envelope<SessionView>), AdminErrors))]
async fn start(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Reply<SessionView>> {
    let Session { row, handle } = session::find(&state, &who, &id).await?;
    if !handle.snapshot().status.is_running() {
        handle.start(None).await;
    }
    let snap = wait_for(&handle, SETTLE, settled).await;
    Ok(Reply::ok("Session started", SessionView::of(&row, &snap)))
}

#[utoipa::path(post, path = "/api/v1/session/{sessionId}/stop", tag = "Sessions", operation_id = "stopSession",
    summary = "Stop a session", description = "Idempotent. Keeps the credentials: a later start reconnects without a QR.",
    params(("sessionId" = String, Path)),
    responses((status = 200, description = "Stopped", body = Envelope<SessionView>), AdminErrors))]
async fn stop(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Reply<SessionView>> {
    let Session { row, handle } = session::find(&state, &who, &id).await?;
    if handle.snapshot().status != Status::Stopped {
        handle.stop().await;
    }
    Ok(Reply::ok("Session stopped", SessionView::of(&row, &handle.snapshot())))
}

#[utoipa::path(post, path = "/api/v1/session/{sessionId}/restart", tag = "Sessions", operation_id = "restartSession",
    summary = "Restart a session", description = "Stops the client (waiting until it has fully stopped) and starts a new one.",
    params(("sessionId" = String, Path)),
    responses((status = 200, description = "Restarted", body = Envelope<SessionView>), AdminErrors))]
async fn restart(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Reply<SessionView>> {
    let Session { row, handle } = session::find(&state, &who, &id).await?;
    handle.restart().await;
    let snap = wait_for(&handle, SETTLE, settled).await;
    Ok(Reply::ok("Session restarted", SessionView::of(&row, &snap)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QrQuery {
    /// `json` (default), `png` (image/png) or `raw` (the QR payload as text/plain).
    #[param(pattern = "^(?:json|png|raw)$")]
    format: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QrResult {
    session_id: String,
    qr_string: String,
    /// PNG `data:` URL.
    qr: String,
    qr_duration: u64,
    /// Unix milliseconds after which the code is replaced.
    expires_at: i64,
}

#[utoipa::path(get, path = "/api/v1/session/{sessionId}/qr", tag = "Sessions", operation_id = "getSessionQr",
    summary = "The current QR code", description = "404 when the session shows no QR (not started, or already linked).",
    params(("sessionId" = String, Path), QrQuery),
    responses((status = 200, description = "The QR (json); with format=png an image/png body, with format=raw text/plain",
               content((Envelope<QrResult> = "application/json"), (Vec<u8> = "image/png"), (String = "text/plain"))),
              AdminErrors))]
async fn qr(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<QrQuery>,
) -> ApiResult<Response> {
    let format = q.format.unwrap_or_else(|| "json".into());
    if !matches!(format.as_str(), "json" | "png" | "raw") {
        return Err(ApiError::field("format", "must be json, png or raw"));
    }
    let Session { handle, .. } = session::find(&state, &who, &id).await?;
    let snap = handle.snapshot();
    let qr = snap.qr.filter(|_| snap.status == Status::ScanQrCode).ok_or_else(|| {
        ApiError::new(Code::NotFound, format!("no QR code right now (status {})", snap.status.as_str()))
    })?;
    Ok(match format.as_str() {
        "png" => {
            let png = crate::sessions::qr::png(&qr.code).map_err(|_| ApiError::internal())?;
            ([(header::CONTENT_TYPE, "image/png")], png).into_response()
        }
        "raw" => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], qr.code).into_response(),
        _ => Reply::ok(
            "QR fetched",
            QrResult {
                session_id: id,
                qr: crate::sessions::qr::data_url(&qr.code).map_err(|_| ApiError::internal())?,
                qr_string: qr.code,
                qr_duration: qr.duration.as_secs(),
                expires_at: qr.expires_at,
            },
        )
        .into_response(),
    })
}

#[utoipa::path(get, path = "/api/v1/session/{sessionId}/me", tag = "Sessions", operation_id = "getSessionMe",
    summary = "Who the session is logged in as", description = "404 until the session has been linked.",
    params(("sessionId" = String, Path)),
    responses((status = 200, description = "The account", body = Envelope<MeView>), AdminErrors))]
async fn me(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Reply<MeView>> {
    let Session { row, handle } = session::find(&state, &who, &id).await?;
    let snap = handle.snapshot();
    let me = MeView::of(&snap.me)
        .or_else(|| MeView::of(&row.me))
        .ok_or_else(|| ApiError::new(Code::NotFound, "session is not linked yet"))?;
    Ok(Reply::ok("Account fetched", me))
}
