//! `/api/v1/webhook/preflight` (a signed test delivery) and
//! `/api/v1/session/{sessionId}/webhooks` (extra targets, event filters, custom headers).

pub mod ops;

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::auth::Tenant;
use crate::http::docs::AdminErrors;
use crate::http::envelope::{Envelope, Reply};
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::routes::sessions::views::validate_session_id;
use crate::sessions::live::SessionError;
use crate::store::sessions::Scope;
use crate::webhooks::preflight::{PreflightResult, PreflightTarget};
use crate::webhooks::targets::TargetSpec;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(preflight)).routes(routes!(get_targets, put_targets))
}

/// The events a filter may name.
pub const EVENTS: &[&str] = &[
    "session_status",
    "message_received",
    "message_reaction",
    "message_command",
    "message_edited",
    "message_revoked",
    "message_ack",
    "group_participants",
    "group_join",
    "group_leave",
    "group_update",
    "presence_update",
    "creds_update",
    "call",
];

const MAX_TARGETS: usize = 10;
const MAX_HEADERS: usize = 20;

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PreflightRequest {
    /// The URL to test; defaults to the session's webhook URL (or WEBHOOK_DEFAULT_URL).
    url: Option<String>,
    /// The secret to sign with; defaults to the session's (or WEBHOOK_DEFAULT_SECRET).
    secret: Option<String>,
    /// The session whose identity the test body carries (and whose URL/secret are defaults).
    session_id: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/webhook/preflight", tag = "Webhooks", operation_id = "postWebhookPreflight",
    summary = "Test a webhook receiver",
    description = "Sends one signed test delivery (`event: preflight`, header `X-WAREST-Preflight: 1`) and reports \
                   whether the receiver answered 2xx. Nothing is stored or retried.",
    request_body = PreflightRequest,
    responses((status = 200, description = "The attempt's result (`ok` false when the receiver failed)", body = Envelope<PreflightResult>), AdminErrors))]
async fn preflight(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiJson(req): ApiJson<PreflightRequest>,
) -> ApiResult<Reply<PreflightResult>> {
    let row = match &req.session_id {
        Some(id) => {
            validate_session_id(id)?;
            Some(state.db.get_session(Scope::of(&who), id).await.map_err(SessionError::from)?)
        }
        None => None,
    };
    let url = match req.url {
        Some(u) => validated_url("url", u)?,
        None => row
            .as_ref()
            .and_then(|r| r.webhook_url.clone())
            .or_else(|| state.config.webhook.default_url.clone())
            .ok_or_else(|| ApiError::field("url", "is required when the session has no webhook URL"))?,
    };
    if let Some(s) = &req.secret
        && s.chars().count() > 256
    {
        return Err(ApiError::field("secret", "must be at most 256 characters"));
    }
    let secret = req
        .secret
        .or_else(|| row.as_ref().and_then(|r| r.webhook_secret.clone()))
        .or_else(|| state.config.webhook.default_secret.as_ref().map(|s| s.expose().to_string()));
    // Signed as the session's owner would be (an admin may test another tenant's session).
    let username = match &row {
        Some(r) => state.db.get_user(&r.registry).await.map(|u| u.username).unwrap_or_else(|_| who.username.clone()),
        None => who.username.clone(),
    };
    let result = crate::webhooks::preflight::run(
        &state.webhooks,
        PreflightTarget {
            url: &url,
            secret: secret.as_deref(),
            session_id: row.as_ref().map_or("", |r| r.id.as_str()),
            registry: row.as_ref().map_or(who.registry.as_str(), |r| r.registry.as_str()),
            username: &username,
            label: row.as_ref().and_then(|r| r.label.as_deref()),
            detailed: who.is_admin,
        },
    )
    .await;
    let msg = if result.ok { "Webhook preflight succeeded" } else { "Webhook preflight failed" };
    Ok(Reply::ok(msg, result))
}

/// One target's filter and headers.
#[derive(Debug, Deserialize, Serialize, ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TargetOptions {
    /// Events this target receives; empty or absent: all.
    #[serde(default)]
    events: Vec<String>,
    /// Extra request headers (not `X-WAREST-*`, signature or content headers).
    #[serde(default)]
    #[schema(value_type = Object)]
    headers: Map<String, Value>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExtraTarget {
    url: String,
    /// Signs this target's deliveries; absent: the session's secret.
    secret: Option<String>,
    /// `parallel` (default): delivered at once; `sequential`: an event reaches this target
    /// only after its deliveries to the targets listed before it ended (delivered or dead).
    #[schema(pattern = "^(parallel|sequential)$")]
    fanout: Option<String>,
    #[serde(flatten)]
    options: TargetOptions,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TargetsRequest {
    /// Filter and headers of the session's own webhook URL (or WEBHOOK_DEFAULT_URL).
    #[serde(default)]
    primary: TargetOptions,
    /// Further targets (at most 10), delivered in parallel with the primary one unless
    /// their `fanout` is `sequential`.
    #[serde(default)]
    targets: Vec<ExtraTarget>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TargetView {
    kind: String,
    url: Option<String>,
    has_secret: bool,
    #[schema(value_type = Vec<String>)]
    events: Value,
    #[schema(value_type = Object)]
    headers: Value,
    /// `parallel` or `sequential`.
    fanout: &'static str,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TargetsView {
    session_id: String,
    /// The session's own webhook URL, else WEBHOOK_DEFAULT_URL.
    primary_url: Option<String>,
    targets: Vec<TargetView>,
}

async fn view(state: &AppState, id: &str, session_url: Option<String>) -> ApiResult<TargetsView> {
    let rows = state.db.webhook_targets(id).await?;
    Ok(TargetsView {
        session_id: id.to_string(),
        primary_url: session_url.or_else(|| state.config.webhook.default_url.clone()),
        targets: rows
            .into_iter()
            .map(|r| TargetView {
                kind: r.kind,
                url: r.url,
                has_secret: r.has_secret,
                events: r.events,
                headers: r.headers,
                fanout: if r.sequential { "sequential" } else { "parallel" },
            })
            .collect(),
    })
}

#[utoipa::path(get, path = "/api/v1/session/{sessionId}/webhooks", tag = "Webhooks", operation_id = "getSessionWebhooks",
    summary = "Webhook targets of a session", params(("sessionId" = String, Path)),
    responses((status = 200, description = "Targets (secrets are never shown)", body = Envelope<TargetsView>), AdminErrors))]
async fn get_targets(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Reply<TargetsView>> {
    validate_session_id(&id)?;
    let row = state.db.get_session(Scope::of(&who), &id).await.map_err(SessionError::from)?;
    Ok(Reply::ok("Webhook targets", view(&state, &id, row.webhook_url).await?))
}

#[utoipa::path(put, path = "/api/v1/session/{sessionId}/webhooks", tag = "Webhooks", operation_id = "putSessionWebhooks",
    summary = "Replace a session's webhook targets",
    description = "Sets the event filter and custom headers of the primary target and replaces the extra targets. \
                   Applies to events stored from now on.",
    params(("sessionId" = String, Path)), request_body = TargetsRequest,
    responses((status = 200, description = "Targets saved", body = Envelope<TargetsView>), AdminErrors))]
async fn put_targets(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<TargetsRequest>,
) -> ApiResult<Reply<TargetsView>> {
    validate_session_id(&id)?;
    let row = state.db.get_session(Scope::of(&who), &id).await.map_err(SessionError::from)?;
    if req.targets.len() > MAX_TARGETS {
        return Err(ApiError::field("targets", format!("at most {MAX_TARGETS} targets")));
    }
    let mut specs = vec![TargetSpec {
        kind: "primary",
        url: None,
        secret: None,
        events: validated_events("primary.events", req.primary.events)?,
        headers: validated_headers("primary.headers", req.primary.headers)?,
        sequential: false,
    }];
    for (i, t) in req.targets.into_iter().enumerate() {
        let url = validated_url(&format!("targets[{i}].url"), t.url)?;
        if let Some(s) = &t.secret
            && (s.is_empty() || s.chars().count() > 256)
        {
            return Err(ApiError::field(format!("targets[{i}].secret"), "must be 1-256 characters"));
        }
        specs.push(TargetSpec {
            kind: "extra",
            url: Some(url),
            secret: t.secret,
            events: validated_events(&format!("targets[{i}].events"), t.options.events)?,
            headers: validated_headers(&format!("targets[{i}].headers"), t.options.headers)?,
            sequential: match t.fanout.as_deref() {
                None | Some("parallel") => false,
                Some("sequential") => true,
                Some(other) => {
                    return Err(ApiError::field(
                        format!("targets[{i}].fanout"),
                        format!("{other:?} must be parallel or sequential"),
                    ));
                }
            },
        });
    }
    state.db.replace_webhook_targets(&id, &specs).await?;
    Ok(Reply::ok("Webhook targets saved", view(&state, &id, row.webhook_url).await?))
}

pub fn validated_url(field: &str, v: String) -> ApiResult<String> {
    let v = v.trim().to_string();
    let ok = v.len() <= 2048
        && (v.starts_with("https://") || v.starts_with("http://"))
        && reqwest::Url::parse(&v).is_ok_and(|u| u.host_str().is_some_and(|h| !h.is_empty()));
    if !ok {
        return Err(ApiError::field(field, "must be an http(s) URL of at most 2048 characters"));
    }
    Ok(v)
}

fn validated_events(field: &str, events: Vec<String>) -> ApiResult<Vec<String>> {
    for (i, e) in events.iter().enumerate() {
        if !EVENTS.contains(&e.as_str()) {
            return Err(ApiError::field(format!("{field}[{i}]"), format!("unknown event {e:?}")));
        }
    }
    Ok(events)
}

fn validated_headers(field: &str, headers: Map<String, Value>) -> ApiResult<Map<String, Value>> {
    if headers.len() > MAX_HEADERS {
        return Err(ApiError::field(field, format!("at most {MAX_HEADERS} headers")));
    }
    for (k, v) in &headers {
        let lower = k.to_ascii_lowercase();
        let reserved = lower.starts_with("x-warest-")
            || lower.starts_with("webhook-")
            || ["content-type", "content-length", "host", "transfer-encoding", "connection"].contains(&lower.as_str());
        let valid_name = axum::http::HeaderName::from_bytes(k.as_bytes()).is_ok();
        let valid_value = v.as_str().is_some_and(|s| s.len() <= 1024 && axum::http::HeaderValue::from_str(s).is_ok());
        if reserved || !valid_name || !valid_value {
            return Err(ApiError::field(
                format!("{field}.{k}"),
                "must be a valid, non-reserved header name with a string value of at most 1024 characters",
            ));
        }
    }
    Ok(headers)
}

/// The preflight of `POST /session/{id}/config` with `preflight: true`: tests the URL and
/// secret the patch would leave in place; an error means nothing may be saved.
pub async fn preflight_before_save(
    state: &AppState,
    who: &crate::auth::Principal,
    cur: &crate::store::sessions::SessionRow,
    patch: &crate::store::sessions::ConfigPatch,
) -> ApiResult<()> {
    let url = match &patch.webhook_url {
        Some(u) => u.clone(),
        None => cur.webhook_url.clone(),
    }
    .or_else(|| state.config.webhook.default_url.clone())
    .ok_or_else(|| ApiError::field("webhookUrl", "is required for a preflight"))?;
    let secret = match &patch.webhook_secret {
        Some(s) => s.clone(),
        None => cur.webhook_secret.clone(),
    }
    .or_else(|| state.config.webhook.default_secret.as_ref().map(|s| s.expose().to_string()));
    let username = state.db.get_user(&cur.registry).await.map(|u| u.username).unwrap_or_else(|_| who.username.clone());
    let result = crate::webhooks::preflight::run(
        &state.webhooks,
        PreflightTarget {
            url: &url,
            secret: secret.as_deref(),
            session_id: &cur.id,
            registry: &cur.registry,
            username: &username,
            label: cur.label.as_deref(),
            detailed: who.is_admin,
        },
    )
    .await;
    if result.ok {
        return Ok(());
    }
    let why = result.error.unwrap_or_default();
    Err(ApiError::new(crate::http::error::Code::RequestFailed, format!("Webhook preflight failed: {why}")))
}
