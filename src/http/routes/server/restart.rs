//! `/api/v1/server/restart` and `/restart/scheduled` (admin only: one restart stops every
//! tenant's sessions). The process stops gracefully and exits with code 75 for its
//! supervisor to start it again; see `crate::system::restart`.

use std::time::Duration;

use axum::extract::State;
use chrono::{SecondsFormat, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::auth::Admin;
use crate::http::docs::AdminErrors;
use crate::http::envelope::{Envelope, Reply};
use crate::http::error::{ApiError, ApiResult, Code};
use crate::http::extract::{ApiJson, OptionalJson};
use crate::system::restart::{RESTART_EXIT_CODE, Schedule, parse_time};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(restart)).routes(routes!(get_scheduled, set_scheduled))
}

/// How it restarts: the process exits with this code and the supervisor starts it.
const STRATEGY: &str = "exit-75";
const MAX_DELAY_SECS: f64 = 3600.0;

#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RestartRequest {
    /// Grace period before the restart starts, 0-3600 seconds (default 0).
    delay_seconds: Option<f64>,
    /// Audit reason, logged (at most 200 characters).
    reason: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerRestart {
    restart_initiated: bool,
    scheduled_at: String,
    restart_strategy: &'static str,
    /// The code the process exits with; the supervisor must restart on it.
    exit_code: u8,
    timestamp: i64,
}

#[utoipa::path(post, path = "/api/v1/server/restart", tag = "Server", operation_id = "postServerRestart",
    summary = "Restart the server",
    description = "Admin only. Stops gracefully — no new sends are taken, sends already handed to WhatsApp finish (bounded by WAREST_SHUTDOWN_TIMEOUT), sessions stop cleanly — and exits with code 75, which a supervisor (systemd, Docker restart policy, PM2) answers by starting the process again. A second request while one is pending answers 1005.",
    request_body(content = Option<RestartRequest>),
    responses((status = 200, description = "Restart scheduled (1000) or already pending (1005)", body = Envelope<ServerRestart>), AdminErrors))]
async fn restart(
    State(state): State<AppState>,
    Admin(who): Admin,
    OptionalJson(body): OptionalJson<RestartRequest>,
) -> ApiResult<Reply<ServerRestart>> {
    let delay = body.delay_seconds.unwrap_or(0.0);
    if !(0.0..=MAX_DELAY_SECS).contains(&delay) {
        return Err(ApiError::field("delaySeconds", format!("must be between 0 and {MAX_DELAY_SECS}")));
    }
    let reason = body.reason.unwrap_or_default();
    if reason.chars().count() > 200 {
        return Err(ApiError::field("reason", "must be at most 200 characters"));
    }
    let label =
        format!("api by {}{}", who.username, if reason.is_empty() { String::new() } else { format!(": {reason}") });
    let (code, message, pending, initiated) = match state.restart.request(Duration::from_secs_f64(delay), &label) {
        Ok(p) => (Code::Ok, format!("Restart scheduled via {STRATEGY} strategy"), p, true),
        Err(p) => (Code::AlreadyPending, "A restart is already pending".to_string(), p, false),
    };
    let result = ServerRestart {
        restart_initiated: initiated,
        scheduled_at: pending.at.to_rfc3339_opts(SecondsFormat::Millis, true),
        restart_strategy: STRATEGY,
        exit_code: RESTART_EXIT_CODE,
        timestamp: Utc::now().timestamp(),
    };
    Ok(Reply::with_code(code, message, result))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScheduleRequest {
    /// `HH:MM` (24-hour) for a daily restart, or `"0"` to clear it.
    #[schema(pattern = "^\\s*(?:(?:[01]?[0-9]|2[0-3]):[0-5][0-9]|0)\\s*$")]
    schedule: String,
    /// IANA timezone of the time; defaults to GENERIC_TIMEZONE.
    #[schema(schema_with = crate::http::wire::timezone)]
    timezone: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerRestartSchedule {
    scheduled_restart: String,
    timezone: String,
    next_restart_at: String,
    timestamp: i64,
}

fn view(s: &Schedule) -> ServerRestartSchedule {
    let next = s.next_after(Utc::now()).with_timezone(&s.timezone);
    ServerRestartSchedule {
        scheduled_restart: s.time.format("%H:%M").to_string(),
        timezone: s.timezone.name().to_string(),
        next_restart_at: next.to_rfc3339_opts(SecondsFormat::Millis, false),
        timestamp: Utc::now().timestamp(),
    }
}

#[utoipa::path(post, path = "/api/v1/server/restart/scheduled", tag = "Server", operation_id = "postServerRestartScheduled",
    summary = "Schedule restarts",
    description = "Admin only. Stores a daily restart time (kept in the database, so it survives restarts) or clears it with `\"0\"` (then `results` is null). At that time the gateway restarts as `POST /server/restart` does.",
    request_body = ScheduleRequest,
    responses((status = 200, description = "Stored schedule, or null when cleared", body = Envelope<ServerRestartSchedule>), AdminErrors))]
async fn set_scheduled(
    State(state): State<AppState>,
    _a: Admin,
    ApiJson(body): ApiJson<ScheduleRequest>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    if body.schedule.trim() == "0" {
        state.db.set_restart_schedule(None).await?;
        state.restart.schedule_changed();
        let env =
            Envelope::<()> { status: true, code: 1000, message: "Scheduled restart cleared".into(), results: None };
        return Ok(axum::Json(env).into_response());
    }
    let time =
        parse_time(&body.schedule).ok_or_else(|| ApiError::field("schedule", "must be HH:MM (24-hour) or \"0\""))?;
    let tz: Tz = match body.timezone.as_deref() {
        Some(t) => t.parse().map_err(|_| ApiError::field("timezone", format!("{t:?} is not an IANA timezone")))?,
        None => state.config.timezone,
    };
    state.db.set_restart_schedule(Some((time, tz))).await?;
    state.restart.schedule_changed();
    let stored = state.db.restart_schedule().await?.ok_or_else(ApiError::internal)?;
    let v = view(&stored);
    let message = format!("Restart scheduled daily at {} ({})", v.scheduled_restart, v.timezone);
    Ok(Reply::ok(message, v).into_response())
}

#[utoipa::path(get, path = "/api/v1/server/restart/scheduled", tag = "Server", operation_id = "getServerRestartScheduled",
    summary = "Show the scheduled restart", description = "WAREST addition, admin only: the stored daily restart, or `results: null` when none.",
    responses((status = 200, description = "The schedule or null", body = Envelope<ServerRestartSchedule>), AdminErrors))]
async fn get_scheduled(State(state): State<AppState>, _a: Admin) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    Ok(match state.db.restart_schedule().await? {
        Some(s) => Reply::ok("Scheduled restart", view(&s)).into_response(),
        None => {
            let env =
                Envelope::<()> { status: true, code: 1000, message: "No scheduled restart".into(), results: None };
            axum::Json(env).into_response()
        }
    })
}
