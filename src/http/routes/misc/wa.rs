//! `/api/v1/misc/whatsapp/{validate/phone,validate/jid,resolve/jid-or-lid}`: parse and
//! classify numbers and JIDs offline; with a `sessionId`, ask WhatsApp (usync) whether
//! the account exists and what its phone JID and LID are (`crate::contacts`).

use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::Principal;
use crate::contacts::{self, Identified};
use crate::http::auth::Tenant;
use crate::http::docs::SessionErrors;
use crate::http::envelope::{Envelope, Reply};
use crate::http::error::ApiResult;
use crate::http::extract::ApiJson;
use crate::http::routes::misc::MiscData;
use crate::http::session;
use crate::sessions::live::LiveSession;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(validate_phone)).routes(routes!(validate_jid)).routes(routes!(resolve))
}

/// The session, when the request names one.
async fn optional_live(state: &AppState, who: &Principal, id: Option<&str>) -> ApiResult<Option<LiveSession>> {
    match id {
        Some(id) => Ok(Some(session::live(state, who, id).await?)),
        None => Ok(None),
    }
}

fn answer(message: &str, found: Identified) -> Reply<MiscData> {
    Reply::ok(message, MiscData::of(found.0))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ValidatePhone {
    /// With a session, WhatsApp is asked whether the number exists; without, `exists` is null.
    session_id: Option<String>,
    #[schema(schema_with = crate::http::wire::phone)]
    phone: String,
    /// ISO country whose calling code replaces a leading 0 (e.g. `ID`).
    country: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/misc/whatsapp/validate/phone", tag = "Misc", operation_id = "postMiscWhatsappValidatePhone",
    summary = "Check a phone number", description = "Normalizes a phone number (E.164, country); with `sessionId`, asks WhatsApp whether it exists and returns its JID and LID.",
    request_body = ValidatePhone,
    responses((status = 200, description = "Phone existence and resolved JID/LID", body = Envelope<MiscData>), SessionErrors))]
async fn validate_phone(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiJson(body): ApiJson<ValidatePhone>,
) -> ApiResult<Reply<MiscData>> {
    let default_cc = state.config.outbound.default_country_code.as_deref();
    let phone = contacts::validate_phone(&body.phone, body.country.as_deref(), default_cc)?;
    let live = optional_live(&state, &who, body.session_id.as_deref()).await?;
    Ok(answer("Phone validation complete", phone.describe(live.as_ref()).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ValidateJid {
    /// With a session, user JIDs are checked with WhatsApp; without, `exists` is null.
    session_id: Option<String>,
    jid: String,
}

#[utoipa::path(post, path = "/api/v1/misc/whatsapp/validate/jid", tag = "Misc", operation_id = "postMiscWhatsappValidateJid",
    summary = "Validate a JID", description = "Validates a JID and names its type (user, lid, group, broadcast, newsletter); with `sessionId`, user and LID JIDs are checked with WhatsApp (`exists`), other types give `exists: null`.",
    request_body = ValidateJid,
    responses((status = 200, description = "JID validity and type", body = Envelope<MiscData>), SessionErrors))]
async fn validate_jid(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiJson(body): ApiJson<ValidateJid>,
) -> ApiResult<Reply<MiscData>> {
    let check = contacts::validate_jid(&body.jid)?;
    let live = optional_live(&state, &who, body.session_id.as_deref()).await?;
    Ok(answer("JID validation complete", check.describe(live.as_ref()).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Resolve {
    /// With a session, the other half (LID for a number, number for a LID) is asked from WhatsApp.
    session_id: Option<String>,
    /// A JID, a LID (`123@lid` or `lid:123`) or bare digits.
    #[schema(min_length = 1, max_length = 128)]
    input: String,
}

#[utoipa::path(post, path = "/api/v1/misc/whatsapp/resolve/jid-or-lid", tag = "Misc", operation_id = "postMiscWhatsappResolveJidOrLid",
    summary = "Resolve user identifiers", description = "Classifies a phone number, phone JID or LID; with `sessionId`, WhatsApp supplies the LID of a number and the number of a LID.",
    request_body = Resolve,
    responses((status = 200, description = "Resolution with both LID and JID when available", body = Envelope<MiscData>), SessionErrors))]
async fn resolve(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiJson(body): ApiJson<Resolve>,
) -> ApiResult<Reply<MiscData>> {
    let id = contacts::resolve(&body.input, state.config.outbound.default_country_code.as_deref())?;
    let live = optional_live(&state, &who, body.session_id.as_deref()).await?;
    Ok(answer("Identifier resolved", id.describe(live.as_ref()).await?))
}
