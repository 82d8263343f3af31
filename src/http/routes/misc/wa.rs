//! `/api/v1/misc/whatsapp/{validate/phone,validate/jid,resolve/jid-or-lid}`: parse and
//! classify numbers and JIDs offline; with a `sessionId`, ask WhatsApp (usync) whether
//! the account exists and what its phone JID and LID are.

use axum::extract::State;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use whatsapp_rust::Jid;

use crate::app::AppState;
use crate::auth::Principal;
use crate::http::auth::Tenant;
use crate::http::docs::CommonErrors;
use crate::http::envelope::{Envelope, Reply};
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::ApiJson;
use crate::http::routes::misc::MiscData;
use crate::http::routes::profile::wa::{connected, wa_failed};
use crate::outbound::recipient::normalize;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(validate_phone)).routes(routes!(validate_jid)).routes(routes!(resolve))
}

/// Country calling codes → ISO 3166 alpha-2, longest prefix wins. Shared codes (+1, +7)
/// name the largest country; the list covers the most common codes, others give `null`.
const CALLING_CODES: &[(&str, &str)] = &[
    ("1", "US"),
    ("7", "RU"),
    ("20", "EG"),
    ("27", "ZA"),
    ("30", "GR"),
    ("31", "NL"),
    ("32", "BE"),
    ("33", "FR"),
    ("34", "ES"),
    ("36", "HU"),
    ("39", "IT"),
    ("40", "RO"),
    ("41", "CH"),
    ("43", "AT"),
    ("44", "GB"),
    ("45", "DK"),
    ("46", "SE"),
    ("47", "NO"),
    ("48", "PL"),
    ("49", "DE"),
    ("51", "PE"),
    ("52", "MX"),
    ("54", "AR"),
    ("55", "BR"),
    ("56", "CL"),
    ("57", "CO"),
    ("58", "VE"),
    ("60", "MY"),
    ("61", "AU"),
    ("62", "ID"),
    ("63", "PH"),
    ("64", "NZ"),
    ("65", "SG"),
    ("66", "TH"),
    ("81", "JP"),
    ("82", "KR"),
    ("84", "VN"),
    ("86", "CN"),
    ("90", "TR"),
    ("91", "IN"),
    ("92", "PK"),
    ("93", "AF"),
    ("94", "LK"),
    ("95", "MM"),
    ("98", "IR"),
    ("212", "MA"),
    ("213", "DZ"),
    ("216", "TN"),
    ("234", "NG"),
    ("254", "KE"),
    ("255", "TZ"),
    ("256", "UG"),
    ("351", "PT"),
    ("352", "LU"),
    ("353", "IE"),
    ("358", "FI"),
    ("380", "UA"),
    ("420", "CZ"),
    ("852", "HK"),
    ("880", "BD"),
    ("886", "TW"),
    ("966", "SA"),
    ("971", "AE"),
    ("972", "IL"),
    ("974", "QA"),
    ("977", "NP"),
];

pub fn country_of(number: &str) -> Option<&'static str> {
    (1..=3).rev().find_map(|n| {
        let prefix = number.get(..n)?;
        CALLING_CODES.iter().find(|(c, _)| *c == prefix).map(|(_, iso)| *iso)
    })
}

/// The ISO override's calling code (`country: "ID"` → `62`).
fn calling_code(iso: &str) -> Option<&'static str> {
    CALLING_CODES.iter().find(|(_, i)| i.eq_ignore_ascii_case(iso)).map(|(c, _)| *c)
}

/// `(registered, phone JID, LID)` from WhatsApp for one user JID.
async fn lookup(
    state: &AppState,
    who: &Principal,
    session: &str,
    jid: &Jid,
) -> ApiResult<(bool, Option<Jid>, Option<Jid>)> {
    let (_, client) = connected(state, who, session).await?;
    let res = client.contacts().is_on_whatsapp(std::slice::from_ref(jid)).await.map_err(|e| wa_failed("lookup", e))?;
    let Some(r) = res.into_iter().next() else {
        return Ok((false, None, None));
    };
    let (pn, lid) =
        if r.jid.is_lid() { (r.pn_jid.clone(), Some(r.jid.clone())) } else { (Some(r.jid.clone()), r.lid.clone()) };
    Ok((r.is_registered, pn, lid))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ValidatePhone {
    /// With a session, WhatsApp is asked whether the number exists; without, `exists` is null.
    session_id: Option<String>,
    phone: String,
    /// ISO country whose calling code replaces a leading 0 (e.g. `ID`).
    country: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/misc/whatsapp/validate/phone", tag = "Misc", operation_id = "postMiscWhatsappValidatePhone",
    summary = "Check a phone number", description = "Normalizes a phone number (E.164, country); with `sessionId`, asks WhatsApp whether it exists and returns its JID and LID.",
    request_body = ValidatePhone,
    responses((status = 200, description = "Phone existence and resolved JID/LID", body = Envelope<MiscData>), CommonErrors))]
async fn validate_phone(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiJson(body): ApiJson<ValidatePhone>,
) -> ApiResult<Reply<MiscData>> {
    if body.phone.len() > 64 {
        return Err(ApiError::field("phone", "must be at most 64 characters"));
    }
    if body.phone.contains('@') {
        return Err(ApiError::field("phone", "must be a phone number, not a JID (use validate/jid)"));
    }
    let cc = match body.country.as_deref() {
        Some(iso) => Some(
            calling_code(iso)
                .ok_or_else(|| ApiError::field("country", format!("{iso:?} is not a known ISO country")))?
                .to_string(),
        ),
        None => state.config.outbound.default_country_code.clone(),
    };
    let r = normalize(&body.phone, cc.as_deref()).map_err(|why| ApiError::field("phone", why))?;
    let mut data = json!({
        "exists": null,
        "e164": format!("+{}", r.user),
        "jid": r.jid,
        "lid": null,
        "country": country_of(&r.user),
    });
    if let Some(session) = body.session_id.as_deref() {
        let jid: Jid = r.jid.parse().map_err(|_| ApiError::field("phone", "is not a valid number"))?;
        let (on, pn, lid) = lookup(&state, &who, session, &jid).await?;
        data["exists"] = json!(on);
        if let Some(pn) = pn {
            data["jid"] = json!(pn.to_string());
        }
        data["lid"] = json!(lid.map(|l| l.to_string()));
    }
    Ok(Reply::ok("Phone validation complete", MiscData::of(data)))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ValidateJid {
    /// With a session, user JIDs are checked with WhatsApp; without, `exists` is null.
    session_id: Option<String>,
    jid: String,
}

/// `user`, `lid`, `group`, `broadcast`, `newsletter` or `None` for an invalid JID.
fn jid_type(raw: &str) -> Option<&'static str> {
    let (user, server) = raw.split_once('@')?;
    let user = user.split(':').next().unwrap_or_default();
    let digits = |s: &str| !s.is_empty() && s.len() <= 24 && s.bytes().all(|b| b.is_ascii_digit());
    match server {
        "s.whatsapp.net" | "c.us" if digits(user) => Some("user"),
        "lid" if digits(user) => Some("lid"),
        "g.us" if user.split('-').count() <= 2 && user.split('-').all(digits) => Some("group"),
        "broadcast" if user == "status" || digits(user) => Some("broadcast"),
        "newsletter" if digits(user) => Some("newsletter"),
        _ => None,
    }
}

#[utoipa::path(post, path = "/api/v1/misc/whatsapp/validate/jid", tag = "Misc", operation_id = "postMiscWhatsappValidateJid",
    summary = "Validate a JID", description = "Validates a JID and names its type (user, lid, group, broadcast, newsletter); with `sessionId`, user and LID JIDs are checked with WhatsApp (`exists`), other types give `exists: null`.",
    request_body = ValidateJid,
    responses((status = 200, description = "JID validity and type", body = Envelope<MiscData>), CommonErrors))]
async fn validate_jid(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiJson(body): ApiJson<ValidateJid>,
) -> ApiResult<Reply<MiscData>> {
    let raw = body.jid.trim();
    if raw.len() > 128 {
        return Err(ApiError::field("jid", "must be at most 128 characters"));
    }
    let Some(kind) = jid_type(raw) else {
        return Ok(Reply::ok(
            "JID validation complete",
            MiscData::of(json!({ "isValid": false, "exists": false, "type": null })),
        ));
    };
    let mut exists = serde_json::Value::Null;
    if let (Some(session), "user" | "lid") = (body.session_id.as_deref(), kind) {
        let jid: Jid = raw
            .replace("@c.us", "@s.whatsapp.net")
            .parse()
            .map_err(|_| ApiError::field("jid", "is not a valid JID"))?;
        exists = json!(lookup(&state, &who, session, &jid.to_non_ad()).await?.0);
    }
    Ok(Reply::ok("JID validation complete", MiscData::of(json!({ "isValid": true, "exists": exists, "type": kind }))))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Resolve {
    /// With a session, the other half (LID for a number, number for a LID) is asked from WhatsApp.
    session_id: Option<String>,
    /// A JID, a LID (`123@lid` or `lid:123`) or bare digits.
    input: String,
}

#[utoipa::path(post, path = "/api/v1/misc/whatsapp/resolve/jid-or-lid", tag = "Misc", operation_id = "postMiscWhatsappResolveJidOrLid",
    summary = "Resolve user identifiers", description = "Classifies a phone number, phone JID or LID; with `sessionId`, WhatsApp supplies the LID of a number and the number of a LID.",
    request_body = Resolve,
    responses((status = 200, description = "Resolution with both LID and JID when available", body = Envelope<MiscData>), CommonErrors))]
async fn resolve(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiJson(body): ApiJson<Resolve>,
) -> ApiResult<Reply<MiscData>> {
    let raw = body.input.trim();
    if raw.is_empty() || raw.len() > 128 {
        return Err(ApiError::field("input", "must be 1-128 characters"));
    }
    let lid_user = raw.strip_prefix("lid:").or_else(|| raw.strip_suffix("@lid")).map(str::trim);
    let (kind, asked) = match lid_user {
        Some(u) if !u.is_empty() && u.len() <= 24 && u.bytes().all(|b| b.is_ascii_digit()) => ("lid", Jid::lid(u)),
        Some(_) => return Err(ApiError::field("input", "is not a valid LID")),
        None => {
            let country = state.config.outbound.default_country_code.as_deref();
            let r = normalize(raw, country).map_err(|why| ApiError::field("input", why))?;
            if r.is_group() {
                return Err(ApiError::field("input", "must be a user (phone, JID or LID), not a group"));
            }
            let kind = if raw.contains('@') { "jid" } else { "phone" };
            (kind, r.jid.parse::<Jid>().map_err(|_| ApiError::field("input", "is not a valid JID"))?)
        }
    };
    let (mut jid, mut lid) = if asked.is_lid() { (None, Some(asked.clone())) } else { (Some(asked.clone()), None) };
    let mut exists = serde_json::Value::Null;
    if let Some(session) = body.session_id.as_deref() {
        let (on, pn, l) = lookup(&state, &who, session, &asked).await?;
        exists = json!(on);
        jid = pn.or(jid);
        lid = l.or(lid);
    }
    let country = jid.as_ref().and_then(|j| country_of(&j.user));
    Ok(Reply::ok(
        "Identifier resolved",
        MiscData::of(json!({
            "isValid": true,
            "type": kind,
            "exists": exists,
            "lid": lid.map(|l| l.to_string()),
            "jid": jid.map(|j| j.to_string()),
            "country": country,
        })),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries_by_longest_prefix() {
        assert_eq!(country_of("6281234567890"), Some("ID"));
        assert_eq!(country_of("97150000000"), Some("AE"));
        assert_eq!(country_of("15550001111"), Some("US"));
        assert_eq!(country_of("99999"), None);
        assert_eq!(calling_code("id"), Some("62"));
    }

    #[test]
    fn jid_types() {
        assert_eq!(jid_type("62812@s.whatsapp.net"), Some("user"));
        assert_eq!(jid_type("62812:3@s.whatsapp.net"), Some("user"));
        assert_eq!(jid_type("1203630@g.us"), Some("group"));
        assert_eq!(jid_type("100000000000001@lid"), Some("lid"));
        assert_eq!(jid_type("status@broadcast"), Some("broadcast"));
        assert_eq!(jid_type("abc@s.whatsapp.net"), None);
        assert_eq!(jid_type("62812"), None);
    }
}
