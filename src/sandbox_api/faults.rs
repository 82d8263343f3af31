//! `POST /api/v1/sandbox/faults/{sessionId}`: what the network or WhatsApp can do to a
//! session's linked device (drop it, refuse its logins, delay or drop acks, replace it,
//! log it out, ban it, call it outdated), so reconnect and failure paths can be seen
//! through the gateway's own API and events.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use utoipa::ToSchema;
use warest_sandbox::Fault;

use super::{failed, host};
use crate::app::AppState;
use crate::http::auth::Tenant;
use crate::http::docs::AdminErrors;
use crate::http::envelope::{Envelope, Reply};
use crate::http::error::{ApiError, ApiResult, Code};
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::session;
use crate::sessions::live::Session;

/// Longest refusal or ban the route accepts (a day): tests want seconds, not weeks.
const MAX_SECONDS: u64 = 86_400;
/// Longest ack delay (a minute).
const MAX_ACK_DELAY_MS: u64 = 60_000;
/// The ban length when `seconds` is not given.
const DEFAULT_BAN_SECONDS: u64 = 3_600;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultRequest {
    /// `drop` (network failure; the client reconnects), `refuse_logins` (+`seconds`: logins
    /// fail with 503 and are retried), `delay_acks` (+`ms`), `drop_acks`, `conflict`
    /// (another client replaced this one), `logout` (removed on the phone), `temp_ban`
    /// (+`seconds`, default 3600), `client_outdated`, or `clear` (lift lasting faults).
    #[schema(example = "drop")]
    kind: String,
    /// For `refuse_logins` (required) and `temp_ban`: 1-86400.
    seconds: Option<u64>,
    /// For `delay_acks` (required): 1-60000.
    ms: Option<u64>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FaultApplied {
    kind: String,
    /// The device the fault hit.
    device: String,
    /// Whether it had a live connection at that moment.
    was_connected: bool,
}

fn seconds(req: &FaultRequest, default: Option<u64>) -> ApiResult<Duration> {
    match req.seconds.or(default) {
        Some(s) if (1..=MAX_SECONDS).contains(&s) => Ok(Duration::from_secs(s)),
        _ => Err(ApiError::field("seconds", format!("must be 1-{MAX_SECONDS}"))),
    }
}

/// `None` for `clear`.
fn parse(req: &FaultRequest) -> ApiResult<Option<Fault>> {
    Ok(Some(match req.kind.as_str() {
        "drop" => Fault::Drop,
        "refuse_logins" => Fault::RefuseLogins(seconds(req, None)?),
        "delay_acks" => match req.ms {
            Some(ms) if (1..=MAX_ACK_DELAY_MS).contains(&ms) => Fault::DelayAcks(Duration::from_millis(ms)),
            _ => return Err(ApiError::field("ms", format!("must be 1-{MAX_ACK_DELAY_MS}"))),
        },
        "drop_acks" => Fault::DropAcks,
        "conflict" => Fault::Conflict,
        "logout" => Fault::Logout,
        "temp_ban" => Fault::TempBan(seconds(req, Some(DEFAULT_BAN_SECONDS))?),
        "client_outdated" => Fault::ClientOutdated,
        "clear" => return Ok(None),
        _ => {
            return Err(ApiError::field(
                "kind",
                "must be drop, refuse_logins, delay_acks, drop_acks, conflict, logout, temp_ban, client_outdated or clear",
            ));
        }
    }))
}

#[utoipa::path(post, path = "/api/v1/sandbox/faults/{sessionId}", tag = "Sandbox", operation_id = "sandboxInjectFault",
    summary = "Inject a fault into a session's device",
    description = "Does to the session's linked device what a flaky network or WhatsApp would: the session then \
                   reconnects (`drop`, `refuse_logins`) or fails with the reason (`conflict`, `logout`, `temp_ban`, \
                   `client_outdated`). 409 when the session has no linked device in this sandbox.",
    params(("sessionId" = String, Path)), request_body = FaultRequest,
    responses((status = 200, description = "Applied", body = Envelope<FaultApplied>), AdminErrors))]
pub(super) async fn inject_fault(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<FaultRequest>,
) -> ApiResult<Reply<FaultApplied>> {
    let host = host(&state)?;
    let fault = parse(&req)?;
    let Session { row, handle } = session::find(&state, &who, &id).await?;
    // The running client knows its device id; a stopped session is found by its number
    // when that account has exactly one device.
    let device = match handle.client().and_then(|c| c.pn()) {
        Some(jid) => Some((jid.user.to_string(), jid.device)),
        None => row.me.jid.as_deref().and_then(|j| j.split('@').next()).and_then(|phone| {
            match host.sandbox.devices(phone).as_slice() {
                [only] => Some((phone.to_string(), *only)),
                _ => None,
            }
        }),
    };
    let Some((phone, dev)) = device.filter(|(p, d)| host.sandbox.devices(p).contains(d)) else {
        return Err(ApiError::new(Code::Conflict, "the session has no linked device in this sandbox"));
    };
    let was_connected = match fault {
        Some(f) => host.sandbox.inject(&phone, dev, f).map_err(failed)?,
        None => {
            host.sandbox.clear_faults(&phone, dev);
            false
        }
    };
    Ok(Reply::ok(
        "Fault applied",
        FaultApplied { kind: req.kind, device: format!("{phone}:{dev}@s.whatsapp.net"), was_connected },
    ))
}
