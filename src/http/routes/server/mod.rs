//! `/api/v1/server/*`: ping, runtime info, health, readiness and CPU history (restarts are
//! in `server_restart.rs`).

pub mod metrics;
pub mod proxies;
pub mod restart;

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::RequestStart;
use crate::http::auth::{Admin, MaybeTenant, Tenant};
use crate::http::docs::{AdminErrors, CommonErrors};
use crate::http::envelope::{Envelope, Reply};
use crate::http::error::{ApiError, ApiResult, Code};
use crate::http::extract::ApiQuery;
use crate::system::{self, cpu, health};

pub fn authed() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(ping))
        .routes(routes!(info))
        .routes(routes!(cpu_history))
        .merge(crate::http::routes::server::restart::router())
        .merge(crate::http::routes::server::proxies::router())
}

/// Health probes answer anonymous callers too (container health checks carry no key),
/// with details only for authenticated ones.
pub fn probes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(ready))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerPing {
    #[schema(example = "pong")]
    ping: &'static str,
    /// Time spent in the gateway on this request so far, in milliseconds.
    latency_ms: f64,
    /// Local time in `GENERIC_TIMEZONE`, `YYYY-MM-DD HH:MM:SS`.
    server_time: String,
    #[serde(rename = "serverTimeISO")]
    server_time_iso: String,
    #[serde(rename = "serverTimeUTC")]
    server_time_utc: String,
    timezone: String,
    timezone_locale: String,
    timestamp: i64,
}

#[utoipa::path(get, path = "/api/v1/server/ping", tag = "Server", operation_id = "getServerPing",
    summary = "Ping the API", description = "Returns server timestamps plus process latency.",
    responses((status = 200, description = "Pong", body = Envelope<ServerPing>), CommonErrors))]
async fn ping(
    State(state): State<AppState>,
    _t: Tenant,
    Extension(start): Extension<RequestStart>,
) -> Reply<ServerPing> {
    let now = Utc::now();
    let local = now.with_timezone(&state.config.timezone);
    Reply::ok(
        "Server is alive",
        ServerPing {
            ping: "pong",
            latency_ms: (start.0.elapsed().as_secs_f64() * 1000.0 * 100.0).round() / 100.0,
            server_time: local.format("%Y-%m-%d %H:%M:%S").to_string(),
            server_time_iso: local.to_rfc3339_opts(chrono::SecondsFormat::Millis, false),
            server_time_utc: now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            timezone: state.config.timezone.name().to_string(),
            timezone_locale: state.config.locale.clone(),
            timestamp: now.timestamp(),
        },
    )
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerInfo {
    server_name: String,
    server_version: &'static str,
    environment: String,
    uptime_seconds: u64,
    #[schema(value_type = Object)]
    system: serde_json::Value,
    #[schema(value_type = Object)]
    cpu: serde_json::Value,
    memory: system::MemoryInfo,
    process: system::ProcessInfo,
    disk: Vec<system::DiskInfo>,
    load_average: [f64; 3],
    timezone: String,
    #[schema(value_type = Vec<Object>)]
    runtime: serde_json::Value,
    #[schema(value_type = Object)]
    sessions: serde_json::Value,
    database: &'static str,
    timestamp: i64,
}

#[utoipa::path(get, path = "/api/v1/server/info", tag = "Server", operation_id = "getServerInfo",
    summary = "Get runtime info", description = "Process, system, disk and session statistics. Requires an admin key.",
    responses((status = 200, description = "Runtime snapshot", body = Envelope<ServerInfo>), AdminErrors))]
async fn info(State(state): State<AppState>, _a: Admin) -> ApiResult<Reply<ServerInfo>> {
    let uptime = state.started.elapsed().as_secs();
    let snap = tokio::task::spawn_blocking(move || system::snapshot(uptime)).await.map_err(|_| ApiError::internal())?;
    let usage = state.cpu.latest().map(|s| s.usage);
    let total_sessions = state.db.count_sessions().await?;
    Ok(Reply::ok(
        "Server information fetched",
        ServerInfo {
            server_name: state.config.server_name.clone(),
            server_version: crate::VERSION,
            environment: state.config.environment.clone(),
            uptime_seconds: uptime,
            system: json!({
                "platform": std::env::consts::OS,
                "arch": std::env::consts::ARCH,
                "os": system::os_name(),
                "release": system::kernel_version(),
            }),
            cpu: json!({ "cores": snap.cores, "usagePercent": usage }),
            memory: snap.memory,
            process: snap.process,
            disk: snap.disks,
            load_average: snap.load_average,
            timezone: state.config.timezone.name().to_string(),
            runtime: json!([{ "name": "warest", "version": crate::VERSION }]),
            sessions: json!({ "active": state.sessions.active_count(), "total": total_sessions }),
            database: state.db.kind().as_str(),
            timestamp: Utc::now().timestamp(),
        },
    ))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerHealth {
    /// `healthy`, `degraded` (serving, something needs an operator) or `unhealthy` (the database is down).
    #[schema(example = "healthy")]
    status: &'static str,
    /// Per-dependency status; present for authenticated callers only.
    #[schema(value_type = Option<Object>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    services: Option<serde_json::Value>,
    /// Each check by name (`database`, `dataDir`, `ffmpeg`, `sendQueue`, `webhookOutbox`,
    /// `sessions`) with its `state` (`ok`, `degraded`, `error`); authenticated callers also
    /// get its `detail`.
    #[schema(value_type = Object, example = json!({"database": {"state": "ok"}, "sessions": {"state": "degraded"}}))]
    checks: serde_json::Value,
    uptime_seconds: u64,
    timestamp: i64,
}

#[utoipa::path(get, path = "/api/v1/server/healthz", tag = "Server", operation_id = "getServerHealthz",
    summary = "Check dependency health",
    description = "Checks the database (a query), the data directory (a file written and removed), ffmpeg, the send queue and \
                   the webhook outbox (oldest waiting item under WAREST_HEALTH_MAX_QUEUE_AGE_SEC) and the sessions (none FAILED). \
                   Anonymous callers (container probes) get the overall status and each check's state; callers with a key also \
                   get each check's detail. 503 when the database is down; anything else only degrades.",
    security((), ("ApiKeyAuth" = [])),
    responses((status = 200, description = "Healthy or degraded", body = Envelope<ServerHealth>),
              (status = 503, description = "Unhealthy", body = Envelope<ServerHealth>), CommonErrors))]
async fn healthz(State(state): State<AppState>, MaybeTenant(who): MaybeTenant) -> Response {
    let report = health::check(&state).await;
    let status = report.status();
    let db_ok = report.database_ok();
    let ok = |name: &str| if report.state_of(name) == Some(health::State::Ok) { "ok" } else { "error" };
    let body = ServerHealth {
        status,
        services: who.as_ref().map(|_| {
            json!({
                "database": { "status": ok("database"), "databaseType": state.db.kind().as_str() },
                "fileSystem": ok("dataDir"),
            })
        }),
        checks: report.to_json(who.is_some()),
        uptime_seconds: state.started.elapsed().as_secs(),
        timestamp: Utc::now().timestamp(),
    };
    let (http, code, msg) = match status {
        "healthy" => (StatusCode::OK, Code::Ok, "All services healthy"),
        _ if db_ok => (StatusCode::OK, Code::Ok, "Some services degraded"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, Code::NotReady, "Database unavailable"),
    };
    envelope_with_status(http, code, msg, body)
}

#[derive(Serialize, ToSchema)]
pub struct ServerReady {
    ready: bool,
    #[schema(value_type = Object)]
    dependencies: serde_json::Value,
    /// `database` and `bootstrap` (`ok`, or `error` while migrations or the session bootstrap run).
    #[schema(value_type = Object, example = json!({"database": {"state": "ok"}, "bootstrap": {"state": "ok"}}))]
    checks: serde_json::Value,
    timestamp: i64,
}

#[utoipa::path(get, path = "/api/v1/server/ready", tag = "Server", operation_id = "getServerReady",
    summary = "Check readiness",
    description = "Ready once migrations ran and session bootstrap was attempted, and the database answers a query. 503 otherwise.",
    security((), ("ApiKeyAuth" = [])),
    responses((status = 200, description = "Ready", body = Envelope<ServerReady>),
              (status = 503, description = "Not ready", body = Envelope<ServerReady>), CommonErrors))]
async fn ready(State(state): State<AppState>) -> Response {
    let booted = state.is_ready();
    let database = health::database_only(&state).await;
    let db = database.state == health::State::Ok;
    let ready = booted && db;
    let state_of = |ok: bool| if ok { "ok" } else { "error" };
    let body = ServerReady {
        ready,
        dependencies: json!({ "db": db, "bootstrap": booted }),
        checks: json!({ "database": { "state": state_of(db) }, "bootstrap": { "state": state_of(booted) } }),
        timestamp: Utc::now().timestamp(),
    };
    if ready {
        envelope_with_status(StatusCode::OK, Code::Ok, "Server is ready for traffic", body)
    } else {
        envelope_with_status(StatusCode::SERVICE_UNAVAILABLE, Code::NotReady, "Server is not ready", body)
    }
}

fn envelope_with_status<T: Serialize>(http: StatusCode, code: Code, msg: &str, body: T) -> Response {
    let env = Envelope {
        status: http.is_success(),
        code: code.number(),
        message: msg.to_string(),
        results: Some(vec![body]),
    };
    (http, axum::Json(env)).into_response()
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CpuHistoryQuery {
    /// Time window: 1h, 6h, 12h, 24h, 7d or 30d.
    #[param(example = "1h")]
    #[param(pattern = "^(?:1h|6h|12h|24h|7d|30d)$")]
    period: Option<String>,
    /// Bucket size: 1m, 5m, 15m, 30m or 1h.
    #[param(example = "5m")]
    interval: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CpuPoint {
    timestamp: i64,
    #[serde(rename = "usagePercent")]
    usage_percent: f32,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerCpuHistory {
    period: String,
    interval: String,
    data: Vec<CpuPoint>,
    average_usage_percent: Option<f32>,
    max_usage_percent: Option<f32>,
    timestamp: i64,
}

fn seconds_of(field: &str, value: &str, allowed: &[(&str, i64)]) -> ApiResult<i64> {
    allowed.iter().find(|(name, _)| *name == value).map(|(_, s)| *s).ok_or_else(|| {
        let names: Vec<&str> = allowed.iter().map(|(n, _)| *n).collect();
        ApiError::field(field, format!("must be one of {}", names.join(", ")))
    })
}

#[utoipa::path(get, path = "/api/v1/server/cpu-history", tag = "Server", operation_id = "getServerCpuHistory",
    summary = "Get CPU history", description = "In-memory CPU samples, averaged per interval, over up to thirty days. Requires an admin key.",
    params(CpuHistoryQuery),
    responses((status = 200, description = "CPU samples", body = Envelope<ServerCpuHistory>), AdminErrors))]
async fn cpu_history(
    State(state): State<AppState>,
    _a: Admin,
    ApiQuery(q): ApiQuery<CpuHistoryQuery>,
) -> ApiResult<Reply<ServerCpuHistory>> {
    let period = q.period.unwrap_or_else(|| "1h".into());
    let interval = q.interval.unwrap_or_else(|| "5m".into());
    let period_s = seconds_of(
        "period",
        &period,
        &[("1h", 3600), ("6h", 21_600), ("12h", 43_200), ("24h", 86_400), ("7d", 604_800), ("30d", 2_592_000)],
    )?;
    let interval_s =
        seconds_of("interval", &interval, &[("1m", 60), ("5m", 300), ("15m", 900), ("30m", 1800), ("1h", 3600)])?;
    let now = Utc::now().timestamp();
    let samples = state.cpu.since(now - period_s);
    let buckets = cpu::aggregate(&samples, interval_s);
    let avg =
        (!samples.is_empty()).then(|| cpu::round1(samples.iter().map(|s| s.usage).sum::<f32>() / samples.len() as f32));
    let max = samples.iter().map(|s| s.usage).reduce(f32::max);
    Ok(Reply::ok(
        "CPU history fetched",
        ServerCpuHistory {
            period,
            interval,
            data: buckets.into_iter().map(|b| CpuPoint { timestamp: b.ts, usage_percent: b.usage }).collect(),
            average_usage_percent: avg,
            max_usage_percent: max,
            timestamp: now,
        },
    ))
}
