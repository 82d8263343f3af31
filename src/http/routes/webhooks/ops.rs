//! Webhook operations: the dead-letter table (list, get, replay, delete), the delivery
//! attempt log, replay of a stored event range, and `GET /api/v1/events/stream` (SSE,
//! resumable with `Last-Event-ID`; the stream itself is `webhooks::stream`). Tenant-scoped:
//! a tenant sees its own registry only.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::auth::Tenant;
use crate::http::docs::AdminErrors;
use crate::http::envelope::{Envelope, Page, Reply};
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::sessions::live::SessionError;
use crate::webhooks::StoredEvent;
use crate::webhooks::ops::{Attempt, DeadLetter, Filter};
use crate::webhooks::stream::Scope;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_dlq))
        .routes(routes!(get_dlq, delete_dlq))
        .routes(routes!(replay_dlq))
        .routes(routes!(attempts))
        .routes(routes!(replay))
        .routes(routes!(stream))
}

fn registry(who: &crate::auth::Principal) -> Option<&str> {
    if who.is_admin { None } else { Some(&who.registry) }
}

#[derive(Deserialize, utoipa::IntoParams, Default)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListQuery {
    session_id: Option<String>,
    event: Option<String>,
    /// Only this target URL (delivery log).
    url: Option<String>,
    /// From this time (Unix ms, inclusive).
    from: Option<i64>,
    /// Up to this time (Unix ms, inclusive).
    to: Option<i64>,
    /// Page size, 1–500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
    #[param(minimum = 0)]
    offset: Option<i64>,
}

impl ListQuery {
    fn filter<'a>(&'a self, who: &'a crate::auth::Principal) -> Filter<'a> {
        Filter {
            registry: registry(who),
            session_id: self.session_id.as_deref(),
            event: self.event.as_deref(),
            url: self.url.as_deref(),
            from: self.from,
            to: self.to,
        }
    }

    fn page(&self) -> ApiResult<(i64, i64)> {
        // A filter that could match no session is a mistake worth saying, not an empty page.
        if let Some(id) = self.session_id.as_deref() {
            crate::http::routes::sessions::views::validate_session_id(id)?;
        }
        let (limit, offset) = (self.limit.unwrap_or(100), self.offset.unwrap_or(0));
        if !(1..=500).contains(&limit) {
            return Err(ApiError::field("limit", "must be from 1 to 500"));
        }
        if offset < 0 {
            return Err(ApiError::field("offset", "must not be negative"));
        }
        Ok((limit, offset))
    }
}

#[utoipa::path(get, path = "/api/v1/webhook/dlq", tag = "Webhooks", operation_id = "getWebhookDlq",
    summary = "Dead-lettered events", params(ListQuery),
    responses((status = 200, description = "Dead letters, oldest first", body = Envelope<Page<DeadLetter>>), AdminErrors))]
async fn list_dlq(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Reply<Page<DeadLetter>>> {
    let (limit, offset) = q.page()?;
    let (items, total) = state.db.list_dead_letters(&q.filter(&who), limit, offset).await?;
    Ok(Reply::ok("Dead letters", Page { items, total, limit, offset }))
}

#[utoipa::path(get, path = "/api/v1/webhook/dlq/{id}", tag = "Webhooks", operation_id = "getWebhookDlqId",
    summary = "One dead letter", params(("id" = String, Path)),
    responses((status = 200, description = "The dead letter", body = Envelope<DeadLetter>), AdminErrors))]
async fn get_dlq(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Reply<DeadLetter>> {
    let d = state.db.dead_letter(registry(&who), &id).await.map_err(|_| ApiError::not_found("dead letter"))?;
    Ok(Reply::ok("Dead letter", d))
}

#[utoipa::path(delete, path = "/api/v1/webhook/dlq/{id}", tag = "Webhooks", operation_id = "deleteWebhookDlqId",
    summary = "Discard a dead letter", params(("id" = String, Path)),
    responses((status = 200, description = "Deleted", body = Envelope<DeadLetter>), AdminErrors))]
async fn delete_dlq(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Reply<DeadLetter>> {
    let d = state.db.dead_letter(registry(&who), &id).await.map_err(|_| ApiError::not_found("dead letter"))?;
    state.db.delete_dead_letter(registry(&who), &id).await?;
    Ok(Reply::ok("Dead letter deleted", d))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Queued {
    /// Deliveries queued (one per current target of each event).
    queued: u64,
}

#[utoipa::path(post, path = "/api/v1/webhook/dlq/{id}/replay", tag = "Webhooks", operation_id = "postWebhookDlqIdReplay",
    summary = "Replay a dead letter",
    description = "Queues the event again (same event id and body) to its session's current targets and removes the dead letter.",
    params(("id" = String, Path)),
    responses((status = 200, description = "Queued", body = Envelope<Queued>), AdminErrors))]
async fn replay_dlq(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Reply<Queued>> {
    let d = state.db.dead_letter(registry(&who), &id).await.map_err(|_| ApiError::not_found("dead letter"))?;
    let ev = state.db.webhook_event(d.event_seq).await?;
    let queued = state.db.requeue_events(&state.webhooks.cfg, &[ev]).await?;
    state.db.delete_dead_letter(registry(&who), &id).await?;
    state.webhooks.wake();
    Ok(Reply::ok("Dead letter queued again", Queued { queued }))
}

#[utoipa::path(get, path = "/api/v1/webhook/deliveries", tag = "Webhooks", operation_id = "getWebhookDeliveries",
    summary = "Delivery attempt log", description = "Every attempt, newest first, per session and target.", params(ListQuery),
    responses((status = 200, description = "Attempts", body = Envelope<Page<Attempt>>), AdminErrors))]
async fn attempts(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Reply<Page<Attempt>>> {
    let (limit, offset) = q.page()?;
    let (items, total) = state.db.list_attempts(&q.filter(&who), limit, offset).await?;
    Ok(Reply::ok("Delivery attempts", Page { items, total, limit, offset }))
}

/// Most events one replay call queues.
const REPLAY_MAX: i64 = 10_000;

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplayRequest {
    session_id: String,
    event: Option<String>,
    /// From this time (Unix ms, inclusive).
    from: Option<i64>,
    /// Up to this time (Unix ms, inclusive).
    to: Option<i64>,
    /// Only events after this stream id (`seq`).
    after_id: Option<i64>,
    /// At most this many events (1-10000, default 1000).
    #[schema(minimum = 1, maximum = 10000)]
    limit: Option<i64>,
}

#[utoipa::path(post, path = "/api/v1/webhook/replay", tag = "Webhooks", operation_id = "postWebhookReplay",
    summary = "Replay stored events",
    description = "Queues a range of a session's stored events again (same event ids and bodies) to its current targets.",
    request_body = ReplayRequest,
    responses((status = 200, description = "Queued", body = Envelope<Queued>), AdminErrors))]
async fn replay(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiJson(req): ApiJson<ReplayRequest>,
) -> ApiResult<Reply<Queued>> {
    crate::http::routes::sessions::views::validate_session_id(&req.session_id)?;
    state.db.get_session(crate::store::sessions::Scope::of(&who), &req.session_id).await.map_err(SessionError::from)?;
    let limit = req.limit.unwrap_or(1000);
    if !(1..=REPLAY_MAX).contains(&limit) {
        return Err(ApiError::field("limit", format!("must be from 1 to {REPLAY_MAX}")));
    }
    let f = Filter {
        registry: registry(&who),
        session_id: Some(&req.session_id),
        event: req.event.as_deref(),
        url: None,
        from: req.from,
        to: req.to,
    };
    let events = state.db.events_after(&f, req.after_id.unwrap_or(0), limit).await?;
    let queued = state.db.requeue_events(&state.webhooks.cfg, &events).await?;
    state.webhooks.wake();
    Ok(Reply::ok("Events queued again", Queued { queued }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StreamQuery {
    session_id: Option<String>,
    event: Option<String>,
}

crate::error_set!(
    /// The stream's answers: besides a tenant route's, the per-key cap on open streams.
    pub StreamErrors = [Forbidden, NotFound, StreamLimit]
);

fn sse_event(e: &StoredEvent) -> SseEvent {
    SseEvent::default().id(e.seq.to_string()).event(e.event.clone()).data(e.body.clone())
}

#[utoipa::path(get, path = "/api/v1/events/stream", tag = "Webhooks", operation_id = "getEventsStream",
    summary = "Live event stream (SSE)",
    description = "Stored events as Server-Sent Events: `id` is the event's stream id, `event` its name, `data` the \
                   webhook body. Every stored event is sent once, in stream-id order. Send `Last-Event-ID` to resume \
                   after a stored event (missed ones are sent first). The stream ends when its key is revoked or its \
                   user disabled; a key holds at most `WAREST_SSE_MAX_PER_KEY` streams at once.",
    params(StreamQuery),
    responses((status = 200, description = "text/event-stream"), StreamErrors))]
async fn stream(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<StreamQuery>,
) -> ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    let bad = || ApiError::field("Last-Event-ID", "must be a stream id (a non-negative integer)");
    let last = match headers.get("last-event-id").map(|v| v.to_str().map(str::trim)) {
        None => None,
        Some(Ok(v)) => Some(v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(bad)?),
        Some(Err(_)) => return Err(bad()),
    };
    let scope = Scope { registry: registry(&who).map(str::to_string), session_id: q.session_id, event: q.event };
    let events = state.webhooks.open_stream(who, scope, last).await?;
    let frames = events.map(|e| Ok(sse_event(&e)));
    Ok(Sse::new(frames).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
