//! Lookups of other accounts on WhatsApp: whether numbers are registered (usync), their
//! business profiles (`w:biz`), and the optional `deep` enrichment (picture, about,
//! verified name, business profile).

use serde_json::{Map, Value, json};
use whatsapp_rust::Jid;
use whatsapp_rust::wacore::iq::business::BusinessProfile;

use super::{ContactError, User, wa};
use crate::sessions::live::LiveSession;

/// A business profile in the reference's shape.
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

/// Adds picture, about, verified name and business profile to a contact entry.
pub(super) async fn enrich(live: &LiveSession, jid: &Jid, entry: &mut Map<String, Value>) -> Result<(), ContactError> {
    let client = &live.client;
    let c = client.contacts();
    let full = c.get_profile_picture(jid, false).await.map_err(wa("profile picture"))?;
    let preview = c.get_profile_picture(jid, true).await.map_err(wa("profile picture"))?;
    let info = c.get_user_info(std::slice::from_ref(jid)).await.map_err(wa("user info"))?;
    let info = info.into_values().next();
    let biz = client.get_business_profile(jid).await.map_err(wa("business profile"))?;
    let picture = full.map(|f| json!({ "full": f.url, "preview": preview.map(|p| p.url) }));
    entry.insert("picture".into(), picture.unwrap_or(Value::Null));
    entry.insert("about".into(), json!(info.as_ref().and_then(|i| i.status.clone())));
    if let Some(v) = info.as_ref().and_then(|i| i.verified_name.as_ref()).and_then(|v| v.name.clone()) {
        entry.insert("verifiedName".into(), json!(v));
    }
    entry.insert("businessProfile".into(), biz.map_or(Value::Null, |b| business_json(&jid.user, &b)));
    Ok(())
}

/// Whether each number is on WhatsApp, with its phone JID and LID, in the order asked;
/// `deep` enriches the registered ones.
pub async fn on_whatsapp(live: &LiveSession, users: &[User], deep: bool) -> Result<Vec<Value>, ContactError> {
    let jids: Vec<Jid> = users.iter().map(|u| u.0.clone()).collect();
    let results = live.client.contacts().is_on_whatsapp(&jids).await.map_err(wa("on-whatsapp"))?;
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
        let mut entry = Map::new();
        entry.insert("jid".into(), json!(pn.to_string()));
        entry.insert("phone".into(), json!(pn.user.to_string()));
        entry.insert("lid".into(), json!(lid.map(|l| l.to_string())));
        entry.insert("isOnWhatsApp".into(), json!(on));
        entry.insert("isBusiness".into(), json!(hit.is_some_and(|r| r.is_business)));
        if deep && on {
            enrich(live, &pn, &mut entry).await?;
        }
        out.push(Value::Object(entry));
    }
    Ok(out)
}

/// Each number's business profile (null for a non-business account), in the order asked.
pub async fn business_profiles(live: &LiveSession, users: &[User]) -> Result<Vec<Value>, ContactError> {
    let mut out = Vec::with_capacity(users.len());
    for User(jid) in users {
        let b = live.client.get_business_profile(jid).await.map_err(wa("business profile"))?;
        out.push(b.map_or(Value::Null, |b| business_json(&jid.user, &b)));
    }
    Ok(out)
}

/// Whether one account exists, with its phone JID and LID as WhatsApp knows them.
pub(super) async fn exists(live: &LiveSession, jid: &Jid) -> Result<(bool, Option<Jid>, Option<Jid>), ContactError> {
    let res = live.client.contacts().is_on_whatsapp(std::slice::from_ref(jid)).await.map_err(wa("lookup"))?;
    let Some(r) = res.into_iter().next() else {
        return Ok((false, None, None));
    };
    let (pn, lid) =
        if r.jid.is_lid() { (r.pn_jid.clone(), Some(r.jid.clone())) } else { (Some(r.jid.clone()), r.lid.clone()) };
    Ok((r.is_registered, pn, lid))
}
