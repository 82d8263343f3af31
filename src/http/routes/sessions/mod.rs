//! `/api/v1/session/*` as the original WAREST defines them: create (QR), pair code,
//! logout, reconnect, devices, config, list, delete. Same methods, parameters, envelope
//! and codes; sessions of another tenant are simply not found.

pub mod control;
pub mod flags;
pub mod proxy;
pub mod views;

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::auth::Tenant;
use crate::http::docs::AdminErrors;
use crate::http::envelope::{Envelope, Page, Reply};
use crate::http::error::{ApiError, ApiResult, Code};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::routes::sessions::views::{SessionQuery, SessionView, validate_session_id, wait_for};
use crate::http::session;
use crate::sessions::live::Session;
use crate::sessions::live::SessionError;
use crate::sessions::manager::NewSessionSpec;
use crate::sessions::status::Status;
use crate::store::StoreError;
use crate::store::sessions::{ConfigPatch, Scope};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(pair_code))
        .routes(routes!(logout))
        .routes(routes!(reconnect))
        .routes(routes!(devices))
        .routes(routes!(config))
        .routes(routes!(list))
        .routes(routes!(delete))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct CreateQuery {
    /// The session id to create or resume (1-64 of letters, digits, `_`, `-`).
    session_id: Option<String>,
    /// Optional human label (`X-WAREST-Label`), at most 128 characters.
    #[param(max_length = 128)]
    label: Option<String>,
    /// Phone number for `/create/pair-code`: digits with country code.
    #[param(pattern = "^[+ ()-]*[1-9](?:[+ ()-]*[0-9]){6,14}[+ ()-]*$")]
    phone: Option<String>,
    /// The session's proxy, `socks5://user:pass@host:port` or `http://…` (percent-encode
    /// special characters); stored, and used from this start on. `POST /session/{id}/config`
    /// takes WAHA's `{server, username, password}` too.
    proxy: Option<String>,
}

/// The query of `/create/pair-code` (documentation only: it is read as [`CreateQuery`],
/// where the phone is required by the handler).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct PairCodeQuery {
    /// The session id to create or resume.
    #[param(rename = "sessionId")]
    session_id: String,
    /// Optional human label (`X-WAREST-Label`), at most 128 characters.
    #[param(max_length = 128)]
    label: Option<String>,
    /// The phone's number with country code, 7-15 digits (`+`, spaces, dashes and brackets allowed).
    #[param(pattern = "^[+ ()-]*[1-9](?:[+ ()-]*[0-9]){6,14}[+ ()-]*$")]
    phone: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionCreateResult {
    registry_user: String,
    session_id: String,
    status: Status,
    /// The raw QR payload, for rendering it yourself.
    qr_string: Option<String>,
    /// The QR as a PNG `data:` URL.
    qr: Option<String>,
    /// Seconds this QR stays valid.
    qr_duration: Option<u64>,
    webhook_url: Option<String>,
    webhook_secret: Option<String>,
    last_error: Option<String>,
}

/// The caller's session, created (owned by the caller) when it does not exist yet.
async fn create_or_get(
    state: &AppState,
    who: &crate::auth::Principal,
    id: &str,
    label: Option<&str>,
    proxy: Option<Option<String>>,
) -> ApiResult<crate::store::sessions::SessionRow> {
    let found = match state.db.get_session(Scope::of(who), id).await {
        Ok(row) => Ok(row),
        Err(StoreError::NotFound) => {
            let max = state.config.tenant_max_sessions;
            if !who.is_admin && max > 0 && state.db.count_sessions_of(&who.registry).await? >= i64::from(max) {
                return Err(ApiError::new(
                    Code::SessionLimit,
                    format!(
                        "this user owns {max} sessions, the most WAREST_TENANT_MAX_SESSIONS allows; delete one first"
                    ),
                ));
            }
            if let Some(l) = label.filter(|l| l.chars().count() > 128) {
                return Err(ApiError::field(
                    "label",
                    format!("must be at most 128 characters, got {}", l.chars().count()),
                ));
            }
            let spec = NewSessionSpec {
                id,
                registry: &who.registry,
                label,
                auto_start: true,
                metadata: &Value::Object(Default::default()),
            };
            state.sessions.create(spec).await.map_err(|e| match e {
                // Taken by another tenant: ids are unique per gateway.
                StoreError::Conflict(_) => {
                    ApiError::new(Code::SessionIdTaken, "sessionId is already in use; choose another")
                }
                e => e.into(),
            })
        }
        Err(e) => Err(e.into()),
    };
    let mut row = found?;
    // The proxy given with a create (new or existing session) becomes its own.
    if let Some(p) = proxy.filter(|p| *p != row.proxy) {
        let patch = ConfigPatch { proxy: Some(p), ..Default::default() };
        row = state.db.update_session_config(Scope::of(who), id, patch).await?;
    }
    crate::http::session::note(row.label.as_deref());
    Ok(row)
}

#[utoipa::path(get, path = "/api/v1/session/create", tag = "Sessions", operation_id = "getSessionCreate",
    summary = "Start a session",
    description = "Creates the session if needed and starts it. Returns the QR (code 1107) when the phone must scan it, \
                   1104 when already open, 202/1106 when no QR arrived within WAREST_SESSION_QR_WAIT_SEC (poll \
                   `GET /api/v1/session/{sessionId}/qr`), 502/1108 when the session failed.",
    params(CreateQuery),
    responses((status = 200, description = "QR to scan, or already open", body = Envelope<SessionCreateResult>),
              (status = 202, description = "Still starting", body = Envelope<SessionCreateResult>),
              (status = 409, description = "sessionId taken (1102)", body = crate::http::envelope::ErrorEnvelope), AdminErrors))]
async fn create(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiQuery(q): ApiQuery<CreateQuery>,
) -> ApiResult<Reply<SessionCreateResult>> {
    let id = SessionQuery { session_id: q.session_id, ..Default::default() }.required()?;
    let proxy = q.proxy.map(|p| proxy::parse("proxy", &Value::String(p))).transpose()?;
    let row = create_or_get(&state, &who, &id, q.label.as_deref(), proxy).await?;
    let handle = state.sessions.handle(&row);
    if handle.snapshot().status == Status::Working {
        return Ok(Reply::with_code(
            Code::SessionAlreadyOpen,
            "Session already open",
            create_result(&row, &handle.snapshot())?,
        ));
    }
    if !handle.snapshot().status.is_running() {
        handle.start(None).await;
    }
    let snap = wait_for(&handle, state.config.session_qr_wait, |s| {
        s.qr.is_some() || matches!(s.status, Status::Working | Status::Failed | Status::Stopped)
    })
    .await;
    let result = create_result(&row, &snap)?;
    Ok(match snap.status {
        Status::Working => Reply::with_code(Code::SessionAlreadyOpen, "Session already open", result),
        Status::Failed => Reply::with_code(Code::SessionFailed, "Session failed to start", result),
        _ if snap.qr.is_some() => Reply::with_code(Code::ScanQr, "Scan the QR to continue", result),
        _ => Reply::with_code(Code::SessionStarting, "Session is starting; poll its QR", result),
    })
}

fn create_result(
    row: &crate::store::sessions::SessionRow,
    snap: &crate::sessions::actor::Snapshot,
) -> ApiResult<SessionCreateResult> {
    let qr = snap.qr.as_ref().filter(|_| snap.status != Status::Working);
    Ok(SessionCreateResult {
        registry_user: row.registry.clone(),
        session_id: row.id.clone(),
        status: snap.status,
        qr_string: qr.map(|q| q.code.clone()),
        qr: qr.map(|q| crate::sessions::qr::data_url(&q.code)).transpose().map_err(|_| ApiError::internal())?,
        qr_duration: qr.map(|q| q.duration.as_secs()),
        webhook_url: row.webhook_url.clone(),
        webhook_secret: row.webhook_secret.clone(),
        last_error: snap.last_error.clone(),
    })
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionPairCodeResult {
    registry_user: String,
    session_id: String,
    status: Status,
    /// Enter this on the phone: WhatsApp → Linked devices → Link with phone number.
    pair_code: Option<String>,
}

/// Digits only (a leading `+`, spaces and dashes are dropped), 7–15 of them (E.164).
pub fn normalize_phone(raw: &str) -> ApiResult<String> {
    let digits: String = raw.chars().filter(|c| !matches!(c, '+' | ' ' | '-' | '(' | ')')).collect();
    if (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0') {
        Ok(digits)
    } else {
        Err(ApiError::field("phone", "must be 7-15 digits with the country code, no leading zero"))
    }
}

#[utoipa::path(get, path = "/api/v1/session/create/pair-code", tag = "Sessions", operation_id = "getSessionCreatePairCode",
    summary = "Request a pairing code",
    description = "Links the session by phone number instead of QR: returns the code to enter on the phone (1000), \
                   1104 when already open, or 202/1110 while the code is still being generated (poll again).",
    params(PairCodeQuery),
    responses((status = 200, description = "Pair code", body = Envelope<SessionPairCodeResult>),
              (status = 202, description = "Pending", body = Envelope<SessionPairCodeResult>), AdminErrors))]
async fn pair_code(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiQuery(q): ApiQuery<CreateQuery>,
) -> ApiResult<Reply<SessionPairCodeResult>> {
    let id = SessionQuery { session_id: q.session_id, ..Default::default() }.required()?;
    let phone = normalize_phone(q.phone.as_deref().ok_or_else(|| ApiError::field("phone", "phone is required"))?)?;
    let proxy = q.proxy.map(|p| proxy::parse("proxy", &Value::String(p))).transpose()?;
    let row = create_or_get(&state, &who, &id, q.label.as_deref(), proxy).await?;
    let handle = state.sessions.handle(&row);
    let result = |snap: &crate::sessions::actor::Snapshot| SessionPairCodeResult {
        registry_user: row.registry.clone(),
        session_id: row.id.clone(),
        status: snap.status,
        pair_code: snap.pairing_code.clone(),
    };
    let snap = handle.snapshot();
    if snap.status == Status::Working {
        return Ok(Reply::with_code(Code::SessionAlreadyOpen, "Session already open", result(&snap)));
    }
    if snap.pairing_code.is_none() {
        // A client started for QR asks for no code; start one that does.
        if snap.status.is_running() {
            handle.stop().await;
        }
        handle.start(Some(phone)).await;
    }
    let snap = wait_for(&handle, state.config.session_qr_wait, |s| {
        s.pairing_code.is_some() || matches!(s.status, Status::Working | Status::Failed | Status::Stopped)
    })
    .await;
    Ok(match (snap.status, &snap.pairing_code) {
        (Status::Working, _) => Reply::with_code(Code::SessionAlreadyOpen, "Session already open", result(&snap)),
        (Status::Failed, _) => Reply::with_code(Code::SessionFailed, "Session failed to start", result(&snap)),
        (_, Some(_)) => Reply::ok("Pair code generated", result(&snap)),
        _ => Reply::with_code(Code::PairCodePending, "Pair code pending", result(&snap)),
    })
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepsResult {
    session_id: String,
    /// Which teardown steps ran: `runtime` (client stopped), `creds` (device keys wiped),
    /// `meta` (registry row removed, on delete).
    #[schema(value_type = Object)]
    steps: Value,
}

#[utoipa::path(get, path = "/api/v1/session/logout", tag = "Sessions", operation_id = "getSessionLogout",
    summary = "Sign out", description = "Unlinks the device from the phone, stops the client and wipes its keys; the session stays registered (STOPPED).",
    params(SessionQuery),
    responses((status = 200, description = "Logged out", body = Envelope<StepsResult>), AdminErrors))]
async fn logout(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiQuery(q): ApiQuery<SessionQuery>,
) -> ApiResult<Reply<StepsResult>> {
    let id = q.required()?;
    let Session { handle, .. } = session::find(&state, &who, &id).await?;
    handle.logout().await;
    let steps = serde_json::json!({ "runtime": true, "creds": true });
    Ok(Reply::ok("Logout success", StepsResult { session_id: id, steps }))
}

#[utoipa::path(get, path = "/api/v1/session/reconnect", tag = "Sessions", operation_id = "getSessionReconnect",
    summary = "Restart a session runtime", description = "Stops the client and starts a fresh one, in the background (202, code 1109).",
    params(SessionQuery),
    responses((status = 202, description = "Reconnect scheduled", body = Envelope<SessionView>), AdminErrors))]
async fn reconnect(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiQuery(q): ApiQuery<SessionQuery>,
) -> ApiResult<Reply<SessionView>> {
    let id = q.required()?;
    let Session { row, handle } = session::find(&state, &who, &id).await?;
    let h = handle.clone();
    tokio::spawn(async move { h.restart().await });
    Ok(Reply::with_code(Code::ReconnectScheduled, "Reconnect scheduled", SessionView::of(&row, &handle.snapshot())))
}

#[derive(Serialize, ToSchema)]
pub struct SessionDevicesResult {
    /// The account's push name.
    name: Option<String>,
    /// The account's phone number (digits).
    phone: Option<String>,
    /// The platform the phone reported at pairing, or `WAREST` when not linked.
    device: String,
    lid: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/session/devices", tag = "Sessions", operation_id = "getSessionDevices",
    summary = "Linked device info", params(SessionQuery),
    responses((status = 200, description = "Device info", body = Envelope<SessionDevicesResult>), AdminErrors))]
async fn devices(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiQuery(q): ApiQuery<SessionQuery>,
) -> ApiResult<Reply<SessionDevicesResult>> {
    let id = q.required()?;
    let Session { row, handle } = session::find(&state, &who, &id).await?;
    let me = handle.snapshot().me;
    let me = if me.jid.is_some() { me } else { row.me };
    let phone = me.jid.as_deref().map(|j| j.split(['@', ':']).next().unwrap_or_default().to_string());
    Ok(Reply::ok(
        "Device Info",
        SessionDevicesResult {
            name: me.push_name,
            phone,
            device: me.platform.unwrap_or_else(|| "WAREST".into()),
            lid: me.lid,
        },
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionConfigRequest {
    /// Webhook URL (http or https); empty string removes it.
    #[schema(max_length = 2048, pattern = "^\\s*(?:https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:[/?#]\\S*)?)?\\s*$")]
    webhook_url: Option<String>,
    /// HMAC secret for webhook signatures, at most 256 characters; empty string removes it.
    #[schema(max_length = 256, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    webhook_secret: Option<String>,
    /// Send a signed test delivery (`X-WAREST-Preflight: 1`) first; when the receiver does
    /// not answer 2xx nothing is saved (400, code 2000 "Webhook preflight failed").
    preflight: Option<bool>,
    label: Option<String>,
    auto_start: Option<bool>,
    /// Free-form JSON object (at most 16 KiB serialized).
    #[schema(value_type = Option<Object>)]
    metadata: Option<Value>,
    flags: Option<crate::http::routes::sessions::flags::SessionFlags>,
    /// The session's proxy for its WhatsApp socket and media (not webhooks): a URL
    /// (`socks5://user:pass@host:port`, `http://host:port`) or WAHA's
    /// `{server, username, password}`; `""` removes it. Used from the next start or
    /// `/session/reconnect`; answers show it with the password masked.
    #[schema(value_type = Option<proxy::ProxyInput>)]
    proxy: Option<Value>,
}

#[utoipa::path(post, path = "/api/v1/session/{sessionId}/config", tag = "Sessions", operation_id = "postSessionSessionIdConfig",
    summary = "Update session config", description = "Webhook URL and secret, flags, label, auto-start, metadata and proxy. Omitted fields are kept.",
    params(("sessionId" = String, Path)), request_body = SessionConfigRequest,
    responses((status = 200, description = "Config updated", body = Envelope<SessionView>), AdminErrors))]
async fn config(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<SessionConfigRequest>,
) -> ApiResult<Reply<SessionView>> {
    validate_session_id(&id)?;
    if let Some(msg) = req.flags.as_ref().and_then(|f| f.reject_call_message.as_ref()) {
        validated_len("flags.rejectCallMessage", msg.clone(), 1024)?;
    }
    let patch = ConfigPatch {
        label: req
            .label
            .map(|l| validated_len("label", l, 128))
            .transpose()?
            .map(|l| Some(l).filter(|x| !x.is_empty())),
        auto_start: req.auto_start,
        metadata: req.metadata.map(validated_metadata).transpose()?,
        webhook_url: req.webhook_url.map(validated_webhook_url).transpose()?,
        webhook_secret: req
            .webhook_secret
            .map(|s| validated_len("webhookSecret", s, 256))
            .transpose()?
            .map(|s| Some(s).filter(|x| !x.is_empty())),
        flags: req.flags.map(|f| serde_json::to_value(f).unwrap_or_default()),
        proxy: req.proxy.as_ref().map(|p| proxy::parse("proxy", p)).transpose()?,
    };
    if req.preflight == Some(true) {
        // Tested before anything is saved: a failing receiver leaves the config unchanged.
        let cur = state.db.get_session(Scope::of(&who), &id).await.map_err(SessionError::from)?;
        crate::http::routes::webhooks::preflight_before_save(&state, &who, &cur, &patch).await?;
    }
    let row = state.db.update_session_config(Scope::of(&who), &id, patch).await.map_err(SessionError::from)?;
    crate::http::session::note(row.label.as_deref());
    let snap = state.sessions.snapshot(&row);
    Ok(Reply::ok("Config updated", SessionView::of(&row, &snap)))
}

fn validated_len(field: &str, v: String, max: usize) -> ApiResult<String> {
    if v.chars().count() > max || v.chars().any(char::is_control) {
        return Err(ApiError::field(field, format!("must be at most {max} printable characters")));
    }
    Ok(v)
}

fn validated_metadata(v: Value) -> ApiResult<Value> {
    if !v.is_object() {
        return Err(ApiError::field("metadata", "must be a JSON object"));
    }
    if v.to_string().len() > 16 * 1024 {
        return Err(ApiError::field("metadata", "must be at most 16 KiB serialized"));
    }
    Ok(v)
}

fn validated_webhook_url(v: String) -> ApiResult<Option<String>> {
    let v = v.trim().to_string();
    if v.is_empty() {
        return Ok(None);
    }
    let ok = v.len() <= 2048
        && (v.starts_with("https://") || v.starts_with("http://"))
        && v.split("://").nth(1).is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'));
    if !ok {
        return Err(ApiError::field("webhookUrl", "must be an http(s) URL of at most 2048 characters"));
    }
    Ok(Some(v))
}

#[utoipa::path(get, path = "/api/v1/session/list", tag = "Sessions", operation_id = "getSessionList",
    summary = "List sessions", description = "The caller's sessions (an admin sees every registry's).",
    responses((status = 200, description = "Sessions", body = Envelope<Page<SessionView>>), AdminErrors))]
async fn list(State(state): State<AppState>, Tenant(who): Tenant) -> ApiResult<Reply<Page<SessionView>>> {
    let rows = state.db.list_sessions(Scope::of(&who)).await?;
    let items: Vec<SessionView> = rows.iter().map(|r| SessionView::of(r, &state.sessions.snapshot(r))).collect();
    Ok(Reply::ok("Sessions fetched", Page::all(items)))
}

#[utoipa::path(delete, path = "/api/v1/session/delete", tag = "Sessions", operation_id = "deleteSessionDelete",
    summary = "Delete a session", description = "Logs out (when linked), stops the client, wipes its keys and removes the session.",
    params(SessionQuery),
    responses((status = 200, description = "Deleted", body = Envelope<StepsResult>), AdminErrors))]
async fn delete(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiQuery(q): ApiQuery<SessionQuery>,
) -> ApiResult<Reply<StepsResult>> {
    let id = q.required()?;
    state.sessions.delete(Scope::of(&who), &id).await.map_err(SessionError::from)?;
    let steps = serde_json::json!({ "runtime": true, "creds": true, "meta": true });
    Ok(Reply::ok("Session deleted", StepsResult { session_id: id, steps }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_normalized_to_digits() {
        assert_eq!(normalize_phone("+62 812-3456-7890").unwrap(), "6281234567890");
        for bad in ["0812345678", "12345", "62abc4567890", "1234567890123456"] {
            assert!(normalize_phone(bad).is_err(), "{bad}");
        }
    }
}
