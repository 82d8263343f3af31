//! `/api/v1/profile/{list-contacts,on-whatsapp,business-profile}` and the blocklist
//! (`/profile/blocklist`, `/profile/block`, `/profile/unblock` — WAREST additions: the
//! reference spec has no blocklist route).
//!
//! Lookups go to WhatsApp (usync, `w:biz`, `blocklist`); the contact list comes from the
//! gateway's own store of who wrote to the session, optionally enriched from WhatsApp.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use whatsapp_rust::Jid;
use whatsapp_rust::wacore::iq::business::BusinessProfile;

use crate::app::AppState;
use crate::http::auth::Tenant;
use crate::http::docs::CommonErrors;
use crate::http::envelope::{Envelope, Reply};
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, ApiQuery};
use crate::http::routes::profile::wa::{connected, numbers, phone_of, user_jid, wa_failed};

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

/// `deep` lookups cost one or two WhatsApp requests per contact; keep them bounded.
const MAX_DEEP: usize = 50;

/// The spec's business profile shape.
pub fn business_json(phone: &str, b: &BusinessProfile) -> Value {
    let hours: Vec<Value> = b
        .business_hours
        .business_config
        .iter()
        .flatten()
        .map(|c| {
            let hhmm = |m: Option<u32>| m.map(|m| format!("{:02}:{:02}", m / 60, m % 60));
            json!({
                "day_of_week": c.day_of_week.as_str(),
                "mode": c.mode.as_str(),
                "open_time": hhmm(c.open_time),
                "close_time": hhmm(c.close_time),
            })
        })
        .collect();
    json!({
        "jid": b.wid.as_ref().map_or_else(|| format!("{phone}@s.whatsapp.net"), |w| w.to_string()),
        "phone": phone,
        "email": b.email,
        "address": b.address,
        "categories": b.categories.iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
        "businessHoursTimezone": b.business_hours.timezone,
        "businessHours": hours,
        "description": Some(b.description.clone()).filter(|d| !d.is_empty()),
        "websites": b.website,
        "wid": b.wid.as_ref().map(|w| w.user.to_string()),
    })
}

/// Picture, about and business profile of one user, for `deep=true`.
async fn enrich(
    client: &whatsapp_rust::Client,
    jid: &Jid,
    entry: &mut serde_json::Map<String, Value>,
) -> ApiResult<()> {
    let c = client.contacts();
    let full = c.get_profile_picture(jid, false).await.map_err(|e| wa_failed("profile picture", e))?;
    let preview = c.get_profile_picture(jid, true).await.map_err(|e| wa_failed("profile picture", e))?;
    let info = c.get_user_info(std::slice::from_ref(jid)).await.map_err(|e| wa_failed("user info", e))?;
    let info = info.into_values().next();
    let biz = client.get_business_profile(jid).await.map_err(|e| wa_failed("business profile", e))?;
    let picture = full.map(|f| json!({ "full": f.url, "preview": preview.map(|p| p.url) }));
    entry.insert("picture".into(), picture.unwrap_or(Value::Null));
    entry.insert("about".into(), json!(info.as_ref().and_then(|i| i.status.clone())));
    if let Some(v) = info.as_ref().and_then(|i| i.verified_name.as_ref()).and_then(|v| v.name.clone()) {
        entry.insert("verifiedName".into(), json!(v));
    }
    entry.insert("businessProfile".into(), biz.map_or(Value::Null, |b| business_json(&jid.user, &b)));
    Ok(())
}

type Entry = serde_json::Map<String, Value>;

/// Who wrote to the session, newest first, from the gateway's message store.
async fn stored_contacts(state: &AppState, session_id: &str, limit: i64) -> ApiResult<Vec<Entry>> {
    let rows = sqlx::query(
        "SELECT jid, lid, push_name FROM contacts WHERE session_id = $1 ORDER BY updated_at DESC, jid LIMIT $2",
    )
    .bind(session_id)
    .bind(limit)
    .fetch_all(state.db.pool())
    .await
    .map_err(crate::store::StoreError::from)?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let get = |c: &str| r.try_get::<Option<String>, _>(c).map_err(crate::store::StoreError::from);
        let jid = get("jid")?.unwrap_or_default();
        let mut entry = Entry::new();
        entry.insert("phone".into(), json!(phone_of(&jid)));
        entry.insert("jid".into(), json!(jid));
        entry.insert("lid".into(), json!(get("lid")?));
        entry.insert("name".into(), json!(get("push_name")?));
        out.push(entry);
    }
    Ok(out)
}

/// `groupIds`: comma separated group JIDs (or bare ids), at most 50.
fn group_jids(csv: &str) -> ApiResult<Vec<Jid>> {
    let parts: Vec<&str> = csv.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    if parts.is_empty() || parts.len() > crate::http::routes::profile::wa::MAX_NUMBERS {
        return Err(ApiError::field("groupIds", "give 1-50 group ids"));
    }
    parts
        .iter()
        .map(|p| {
            let full = if p.contains('@') { p.to_string() } else { format!("{p}@g.us") };
            let r =
                crate::outbound::recipient::normalize(&full, None).map_err(|why| ApiError::field("groupIds", why))?;
            if !r.is_group() {
                return Err(ApiError::field("groupIds", format!("{p:?} is not a group id")));
            }
            r.jid.parse::<Jid>().map_err(|_| ApiError::field("groupIds", format!("{p:?} is not a group id")))
        })
        .collect()
}

/// Members of the given groups (or of every group the session is in), without the
/// session itself, each once, with the groups it was found in.
async fn group_members(client: &whatsapp_rust::Client, ids: Option<Vec<Jid>>, limit: usize) -> ApiResult<Vec<Entry>> {
    let groups = match ids {
        Some(ids) => {
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                out.push(client.groups().get_metadata(&id).await.map_err(|e| wa_failed("group metadata", e))?);
            }
            out
        }
        None => {
            let mut all: Vec<_> =
                client.groups().get_participating().await.map_err(|e| wa_failed("groups", e))?.into_values().collect();
            all.sort_by(|a, b| a.id.user.cmp(&b.id.user));
            all
        }
    };
    let me = client.pn().map(|j| j.user.to_string());
    let mut out: Vec<Entry> = Vec::new();
    for g in groups {
        for p in &g.participants {
            let pn = p.phone_number.clone().or_else(|| p.jid.is_pn().then(|| p.jid.clone()));
            let lid = p.lid.clone().or_else(|| p.jid.is_lid().then(|| p.jid.clone()));
            let jid = pn.clone().unwrap_or_else(|| p.jid.clone()).to_non_ad();
            if me.as_deref() == Some(jid.user.as_str()) {
                continue;
            }
            let key = jid.to_string();
            if let Some(e) = out.iter_mut().find(|e| e.get("jid").and_then(Value::as_str) == Some(key.as_str())) {
                if let Some(Value::Array(gs)) = e.get_mut("groups") {
                    gs.push(json!(g.id.to_string()));
                }
                continue;
            }
            if out.len() == limit {
                continue;
            }
            let mut entry = Entry::new();
            entry.insert("jid".into(), json!(key));
            entry.insert("phone".into(), json!(pn.map(|j| j.user.to_string())));
            entry.insert("lid".into(), json!(lid.map(|l| l.to_non_ad().to_string())));
            entry.insert("name".into(), json!(p.username.as_ref().map(|u| u.to_string())));
            entry.insert("groups".into(), json!([g.id.to_string()]));
            out.push(entry);
        }
    }
    Ok(out)
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
    kind: Option<String>,
    /// Include pictures, about text and business profiles (at most 50 contacts).
    deep: Option<bool>,
    /// Only with `type=groups`: comma separated group ids (at most 50); default every group the session is in.
    group_ids: Option<String>,
    /// 1-1000, default 15.
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
    responses((status = 200, description = "Contacts", body = Envelope<ContactList>), CommonErrors))]
async fn list_contacts(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiQuery(q): ApiQuery<ContactsQuery>,
) -> ApiResult<Reply<ContactList>> {
    let groups = match q.kind.as_deref().unwrap_or("contacts") {
        "contacts" => false,
        "groups" => true,
        other => return Err(ApiError::field("type", format!("{other:?} must be contacts or groups"))),
    };
    let group_ids = match (&q.group_ids, groups) {
        (Some(_), false) => return Err(ApiError::field("groupIds", "only applies when type=groups")),
        (Some(csv), true) => Some(group_jids(csv)?),
        (None, _) => None,
    };
    let limit = q.limit.unwrap_or(15);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::field("limit", "must be between 1 and 1000"));
    }
    let deep = q.deep.unwrap_or(false);
    if deep && limit as usize > MAX_DEEP {
        return Err(ApiError::field("limit", format!("at most {MAX_DEEP} with deep=true")));
    }
    let (row, client) = connected(&state, &who, &session_of(&q.session_id, &q.id, &q.session)?).await?;
    let mut data = if groups {
        group_members(&client, group_ids, limit as usize).await?
    } else {
        stored_contacts(&state, &row.id, limit).await?
    };
    if deep {
        for entry in &mut data {
            let jid = entry.get("jid").and_then(Value::as_str).and_then(|j| j.parse::<Jid>().ok());
            if let Some(jid) = jid {
                enrich(&client, &jid, entry).await?;
            }
        }
    }
    let data = data.into_iter().map(Value::Object).collect();
    let phone = row.me.jid.as_deref().map(phone_of).unwrap_or_default();
    Ok(Reply::ok(format!("Contacts (deep={deep})"), ContactList { phone, data }))
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

fn one_or_many(mut v: Vec<Value>) -> Value {
    if v.len() == 1 { v.remove(0) } else { Value::Array(v) }
}

#[utoipa::path(get, path = "/api/v1/profile/on-whatsapp", tag = "Profiles", operation_id = "getProfileOnWhatsapp",
    summary = "Check WhatsApp numbers", description = "Whether numbers are on WhatsApp (at most 50 per call), with their phone JID and LID.",
    params(NumbersQuery),
    responses((status = 200, description = "Availability per number", body = Envelope<ProfileLookup>), CommonErrors))]
async fn on_whatsapp(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiQuery(q): ApiQuery<NumbersQuery>,
) -> ApiResult<Reply<ProfileLookup>> {
    let jids =
        numbers(&state, q.check_numbers.as_deref().ok_or_else(|| ApiError::field("checkNumbers", "is required"))?)?;
    let deep = q.deep.unwrap_or(false);
    let (_, client) = connected(&state, &who, &session_of(&q.session_id, &q.id, &q.session)?).await?;
    let results = client.contacts().is_on_whatsapp(&jids).await.map_err(|e| wa_failed("on-whatsapp", e))?;
    let mut out = Vec::with_capacity(jids.len());
    for asked in &jids {
        let hit = results.iter().find(|r| {
            r.jid.user == asked.user
                || r.pn_jid.as_ref().is_some_and(|p| p.user == asked.user)
                || r.lid.as_ref().is_some_and(|l| l.user == asked.user)
        });
        let on = hit.is_some_and(|r| r.is_registered);
        let pn =
            hit.map(|r| if r.jid.is_lid() { r.pn_jid.clone().unwrap_or_else(|| r.jid.clone()) } else { r.jid.clone() });
        let pn = pn.unwrap_or_else(|| asked.clone());
        let lid = hit.and_then(|r| if r.jid.is_lid() { Some(r.jid.clone()) } else { r.lid.clone() });
        let mut entry = serde_json::Map::new();
        entry.insert("jid".into(), json!(pn.to_string()));
        entry.insert("phone".into(), json!(pn.user.to_string()));
        entry.insert("lid".into(), json!(lid.map(|l| l.to_string())));
        entry.insert("isOnWhatsApp".into(), json!(on));
        entry.insert("isBusiness".into(), json!(hit.is_some_and(|r| r.is_business)));
        if deep && on {
            enrich(&client, &pn, &mut entry).await?;
        }
        out.push(Value::Object(entry));
    }
    Ok(Reply::ok("ProfileLookup complete", ProfileLookup { data: one_or_many(out) }))
}

#[utoipa::path(get, path = "/api/v1/profile/business-profile", tag = "Profiles", operation_id = "getProfileBusinessProfile",
    summary = "Get business profile info", description = "Business profile metadata per number (null for a non-business account); one object for one number, an array for several (at most 50).",
    params(NumbersQuery),
    responses((status = 200, description = "Business profiles", body = Envelope<ProfileLookup>), CommonErrors))]
async fn business_profile(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiQuery(q): ApiQuery<NumbersQuery>,
) -> ApiResult<Reply<ProfileLookup>> {
    let jids =
        numbers(&state, q.check_numbers.as_deref().ok_or_else(|| ApiError::field("checkNumbers", "is required"))?)?;
    if q.deep.is_some() {
        return Err(ApiError::field("deep", "only applies to on-whatsapp"));
    }
    let (_, client) = connected(&state, &who, &session_of(&q.session_id, &q.id, &q.session)?).await?;
    let mut out = Vec::with_capacity(jids.len());
    for jid in &jids {
        let b = client.get_business_profile(jid).await.map_err(|e| wa_failed("business profile", e))?;
        out.push(b.map_or(Value::Null, |b| business_json(&jid.user, &b)));
    }
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
    responses((status = 200, description = "Blocked accounts", body = Envelope<Blocklist>), CommonErrors))]
async fn blocklist(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiQuery(q): ApiQuery<crate::http::routes::sessions::views::SessionQuery>,
) -> ApiResult<Reply<Blocklist>> {
    let (_, client) = connected(&state, &who, &q.required()?).await?;
    let list = client.blocking().get_blocklist().await.map_err(|e| wa_failed("blocklist", e))?;
    Ok(Reply::ok("Blocklist", Blocklist { jids: list.into_iter().map(|e| e.jid.to_string()).collect() }))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BlockRequest {
    session_id: String,
    /// A phone number or user JID (PN or LID).
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
    let jid = user_jid(&state, "jid", &body.jid)?;
    let (_, client) = connected(&state, &who, &body.session_id).await?;
    // Blocks name both the LID and the phone JID; the lookup teaches the client the pair.
    let found =
        client.contacts().is_on_whatsapp(std::slice::from_ref(&jid)).await.map_err(|e| wa_failed("lookup", e))?;
    if !found.iter().any(|r| r.is_registered || r.lid.is_some() || r.pn_jid.is_some()) {
        return Err(ApiError::field("jid", "is not on WhatsApp"));
    }
    let res = if blocked { client.blocking().block(&jid).await } else { client.blocking().unblock(&jid).await };
    res.map_err(|e| wa_failed(if blocked { "block" } else { "unblock" }, e))?;
    let message = if blocked { "Contact blocked" } else { "Contact unblocked" };
    Ok(Reply::ok(message, BlockResult { jid: jid.to_string(), blocked }))
}

#[utoipa::path(post, path = "/api/v1/profile/block", tag = "Profiles", operation_id = "postProfileBlock",
    summary = "Block a contact", description = "WAREST addition: blocks an account; its messages to this session are no longer delivered.",
    request_body = BlockRequest,
    responses((status = 200, description = "Blocked", body = Envelope<BlockResult>), CommonErrors))]
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
    responses((status = 200, description = "Unblocked", body = Envelope<BlockResult>), CommonErrors))]
async fn unblock(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiJson(body): ApiJson<BlockRequest>,
) -> ApiResult<Reply<BlockResult>> {
    set_blocked(state, who, body, false).await
}
