//! `/api/v1/profile/{list-contacts,on-whatsapp,business-profile}` and the blocklist
//! (`/profile/blocklist`, `/profile/block`, `/profile/unblock` — WAREST additions: the
//! reference spec has no blocklist route).
//!
//! Lookups go to WhatsApp (usync, `w:biz`, `blocklist`); the contact list comes from the
//! gateway's own store of who wrote to the session, optionally enriched from WhatsApp.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::contacts::{self, ListRequest, User};
use crate::http::auth::Tenant;
use crate::http::docs::SessionErrors;
use crate::http::envelope::{Envelope, Reply};
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, ApiQuery};
use crate::http::session;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_contacts))
        .routes(routes!(on_whatsapp))
        .routes(routes!(business_profile))
        .routes(routes!(blocklist))
        .routes(routes!(block))
        .routes(routes!(unblock))
}

/// `sessionId` or its aliases, as `SessionQuery` reads them. (Not flattened: serde's
/// flatten cannot read booleans and numbers from a query string.)
fn session_of(session_id: &Option<String>, id: &Option<String>, session: &Option<String>) -> ApiResult<String> {
    crate::http::routes::sessions::views::SessionQuery {
        session_id: session_id.clone(),
        id: id.clone(),
        session: session.clone(),
    }
    .required()
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct ContactsQuery {
    /// The session id. Aliases: `id`, `session`.
    session_id: Option<String>,
    #[param(ignore)]
    id: Option<String>,
    #[param(ignore)]
    session: Option<String>,
    /// `contacts` (who wrote to the session) or `groups` (members of the session's groups).
    #[serde(rename = "type")]
    #[param(pattern = "^(?:contacts|groups)$")]
    kind: Option<String>,
    /// Include pictures, about text and business profiles (at most 50 contacts).
    deep: Option<bool>,
    /// Only with `type=groups`: comma separated group ids (at most 50); default every group the session is in.
    group_ids: Option<String>,
    /// 1-1000, default 15.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct ContactList {
    phone: String,
    #[schema(value_type = Vec<Object>)]
    data: Vec<Value>,
}

#[utoipa::path(get, path = "/api/v1/profile/list-contacts", tag = "Profiles", operation_id = "getProfileListContacts",
    summary = "List contacts", description = "`type=contacts`: accounts that wrote to this session (from the gateway's message store), newest first. `type=groups`: members of the given groups (`groupIds`) or of every group the session is in, each once with the groups it is in. `deep=true` adds picture, about and business profile from WhatsApp (at most 50 entries).",
    params(ContactsQuery),
    responses((status = 200, description = "Contacts", body = Envelope<ContactList>), SessionErrors))]
async fn list_contacts(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiQuery(q): ApiQuery<ContactsQuery>,
) -> ApiResult<Reply<ContactList>> {
    let deep = q.deep.unwrap_or(false);
    let req = ListRequest::parse(q.kind.as_deref(), q.group_ids.as_deref(), q.limit, deep)?;
    let live = session::live(&state, &who, &session_of(&q.session_id, &q.id, &q.session)?).await?;
    let data = contacts::list(&live, &state.db, req).await?;
    let phone = live.phone;
    Ok(Reply::ok(format!("Contacts (deep={deep})"), ContactList { phone, data }))
}

/// The query of `/business-profile` (documentation only: it is read as [`NumbersQuery`],
/// whose `deep` the route refuses).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
#[allow(dead_code)]
pub struct BusinessQuery {
    /// The session id.
    session_id: Option<String>,
    /// Comma separated numbers or user JIDs, at most 50.
    check_numbers: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct NumbersQuery {
    /// The session id. Aliases: `id`, `session`.
    session_id: Option<String>,
    #[param(ignore)]
    id: Option<String>,
    #[param(ignore)]
    session: Option<String>,
    /// Comma separated numbers or user JIDs, at most 50.
    check_numbers: Option<String>,
    /// Include picture, about and business profile for registered numbers (on-whatsapp only).
    deep: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct ProfileLookup {
    /// One object for one input number, an array for several.
    #[schema(value_type = Object)]
    data: Value,
}

/// `checkNumbers`, required.
fn numbers(state: &AppState, raw: Option<&str>) -> ApiResult<Vec<User>> {
    let raw = raw.ok_or_else(|| ApiError::field("checkNumbers", "is required"))?;
    Ok(contacts::numbers(raw, state.config.outbound.default_country_code.as_deref())?)
}

fn one_or_many(mut v: Vec<Value>) -> Value {
    if v.len() == 1 { v.remove(0) } else { Value::Array(v) }
}

#[utoipa::path(get, path = "/api/v1/profile/on-whatsapp", tag = "Profiles", operation_id = "getProfileOnWhatsapp",
    summary = "Check WhatsApp numbers", description = "Whether numbers are on WhatsApp (at most 50 per call), with their phone JID and LID.",
    params(NumbersQuery),
    responses((status = 200, description = "Availability per number", body = Envelope<ProfileLookup>), SessionErrors))]
async fn on_whatsapp(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiQuery(q): ApiQuery<NumbersQuery>,
) -> ApiResult<Reply<ProfileLookup>> {
    let users = numbers(&state, q.check_numbers.as_deref())?;
    let live = session::live(&state, &who, &session_of(&q.session_id, &q.id, &q.session)?).await?;
    let out = contacts::on_whatsapp(&live, &users, q.deep.unwrap_or(false)).await?;
    Ok(Reply::ok("ProfileLookup complete", ProfileLookup { data: one_or_many(out) }))
}

#[utoipa::path(get, path = "/api/v1/profile/business-profile", tag = "Profiles", operation_id = "getProfileBusinessProfile",
    summary = "Get business profile info", description = "Business profile metadata per number (null for a non-business account); one object for one number, an array for several (at most 50).",
    params(BusinessQuery),
    responses((status = 200, description = "Business profiles", body = Envelope<ProfileLookup>), SessionErrors))]
async fn business_profile(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiQuery(q): ApiQuery<NumbersQuery>,
) -> ApiResult<Reply<ProfileLookup>> {
    let users = numbers(&state, q.check_numbers.as_deref())?;
    if q.deep.is_some() {
        return Err(ApiError::field("deep", "only applies to on-whatsapp"));
    }
    let live = session::live(&state, &who, &session_of(&q.session_id, &q.id, &q.session)?).await?;
    let out = contacts::business_profiles(&live, &users).await?;
    Ok(Reply::ok("Business profile info", ProfileLookup { data: one_or_many(out) }))
}

#[derive(Serialize, ToSchema)]
pub struct Blocklist {
    /// Blocked accounts as WhatsApp lists them (usually LID JIDs).
    jids: Vec<String>,
}

#[utoipa::path(get, path = "/api/v1/profile/blocklist", tag = "Profiles", operation_id = "getProfileBlocklist",
    summary = "Get the blocklist", description = "WAREST addition: the accounts this session has blocked.",
    params(crate::http::routes::sessions::views::SessionQuery),
    responses((status = 200, description = "Blocked accounts", body = Envelope<Blocklist>), SessionErrors))]
async fn blocklist(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiQuery(q): ApiQuery<crate::http::routes::sessions::views::SessionQuery>,
) -> ApiResult<Reply<Blocklist>> {
    let live = session::live(&state, &who, &q.required()?).await?;
    Ok(Reply::ok("Blocklist", Blocklist { jids: contacts::blocklist(&live).await? }))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BlockRequest {
    session_id: String,
    /// A phone number or user JID (PN or LID).
    #[schema(schema_with = crate::http::wire::user)]
    jid: String,
}

#[derive(Serialize, ToSchema)]
pub struct BlockResult {
    jid: String,
    blocked: bool,
}

async fn set_blocked(
    state: AppState,
    who: crate::auth::Principal,
    body: BlockRequest,
    blocked: bool,
) -> ApiResult<Reply<BlockResult>> {
    let user = User::parse("jid", &body.jid, state.config.outbound.default_country_code.as_deref())?;
    let live = session::live(&state, &who, &body.session_id).await?;
    contacts::set_blocked(&live, &user, blocked).await?;
    let message = if blocked { "Contact blocked" } else { "Contact unblocked" };
    Ok(Reply::ok(message, BlockResult { jid: user.to_string(), blocked }))
}

#[utoipa::path(post, path = "/api/v1/profile/block", tag = "Profiles", operation_id = "postProfileBlock",
    summary = "Block a contact", description = "WAREST addition: blocks an account; its messages to this session are no longer delivered.",
    request_body = BlockRequest,
    responses((status = 200, description = "Blocked", body = Envelope<BlockResult>), SessionErrors))]
async fn block(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiJson(body): ApiJson<BlockRequest>,
) -> ApiResult<Reply<BlockResult>> {
    set_blocked(state, who, body, true).await
}

#[utoipa::path(post, path = "/api/v1/profile/unblock", tag = "Profiles", operation_id = "postProfileUnblock",
    summary = "Unblock a contact", description = "WAREST addition: lifts a block.",
    request_body = BlockRequest,
    responses((status = 200, description = "Unblocked", body = Envelope<BlockResult>), SessionErrors))]
async fn unblock(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiJson(body): ApiJson<BlockRequest>,
) -> ApiResult<Reply<BlockResult>> {
    set_blocked(state, who, body, false).await
}
