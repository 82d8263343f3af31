//! Queue introspection and control: depth, in-flight, retries and failures per session,
//! and per-session pause, resume and clear.

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::auth::Tenant;
use crate::http::docs::AdminErrors;
use crate::http::envelope::{Envelope, Page, Reply};
use crate::http::error::ApiResult;
use crate::http::extract::ApiPath;
use crate::http::session;
use crate::outbound::store::QueueStats;
use crate::sessions::live::Session;
use crate::store::sessions::Scope;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(queue)).routes(routes!(pause)).routes(routes!(resume)).routes(routes!(clear))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueueView {
    pub session_id: String,
    /// Waiting to be sent (including those waiting for a retry).
    pub depth: i64,
    pub in_flight: i64,
    /// Waiting for a retry after a transient failure.
    pub retries: i64,
    /// Failed for good (kept as status records).
    pub failures: i64,
    pub paused: bool,
}

impl From<QueueStats> for QueueView {
    fn from(s: QueueStats) -> Self {
        QueueView {
            session_id: s.session_id,
            depth: s.queued,
            in_flight: s.in_flight,
            retries: s.retrying,
            failures: s.failed,
            paused: s.paused,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/server/queue", tag = "Server", operation_id = "getServerQueue",
    summary = "Send queue per session", description = "Your sessions (an admin sees all): depth, in flight, retries, failures, paused.",
    responses((status = 200, description = "One entry per session with queue activity", body = Envelope<Page<QueueView>>), AdminErrors))]
async fn queue(State(state): State<AppState>, Tenant(who): Tenant) -> ApiResult<Reply<Page<QueueView>>> {
    let stats = state.db.outbound_stats(Scope::of(&who)).await?;
    Ok(Reply::ok("Queue fetched", Page::all(stats.into_iter().map(QueueView::from).collect())))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueueControl {
    pub session_id: String,
    pub paused: bool,
    /// Jobs removed by a clear.
    pub cleared: u64,
}

#[utoipa::path(post, path = "/api/v1/session/{sessionId}/queue/pause", tag = "Sessions", operation_id = "pauseSessionQueue",
    summary = "Pause the session's send queue", description = "Sends are still accepted and wait; nothing goes out until resume. Survives restarts.",
    params(("sessionId" = String, Path)),
    responses((status = 200, description = "Paused", body = Envelope<QueueControl>), AdminErrors))]
async fn pause(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Reply<QueueControl>> {
    let Session { row, .. } = session::find(&state, &who, &id).await?;
    state.outbound.set_paused(&row.id, true).await?;
    Ok(Reply::ok("Queue paused", QueueControl { session_id: row.id, paused: true, cleared: 0 }))
}

#[utoipa::path(post, path = "/api/v1/session/{sessionId}/queue/resume", tag = "Sessions", operation_id = "resumeSessionQueue",
    summary = "Resume the session's send queue", params(("sessionId" = String, Path)),
    responses((status = 200, description = "Resumed", body = Envelope<QueueControl>), AdminErrors))]
async fn resume(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Reply<QueueControl>> {
    let Session { row, .. } = session::find(&state, &who, &id).await?;
    state.outbound.set_paused(&row.id, false).await?;
    Ok(Reply::ok("Queue resumed", QueueControl { session_id: row.id, paused: false, cleared: 0 }))
}

#[utoipa::path(post, path = "/api/v1/session/{sessionId}/queue/clear", tag = "Sessions", operation_id = "clearSessionQueue",
    summary = "Drop the session's waiting sends", description = "In-flight sends finish; the dropped ones stay as failed records (\"cleared from the queue\").",
    params(("sessionId" = String, Path)),
    responses((status = 200, description = "Cleared", body = Envelope<QueueControl>), AdminErrors))]
async fn clear(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Reply<QueueControl>> {
    let Session { row, .. } = session::find(&state, &who, &id).await?;
    let cleared = state.db.outbound_clear(&row.id).await?;
    // They end as failed records, so the send counter says so too.
    crate::metrics::send("failed", cleared);
    Ok(Reply::ok(
        "Queue cleared",
        QueueControl { paused: state.outbound.is_paused(&row.id), session_id: row.id, cleared },
    ))
}
