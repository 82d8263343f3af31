//! Numbers and JIDs: parsed and classified offline (E.164, country, JID type); with a live
//! session, WhatsApp (usync) says whether the account exists and what its phone JID and
//! LID are. Each check is parsed first, so bad input is refused before any session is
//! needed, then described.

use serde_json::{Value, json};
use whatsapp_rust::Jid;

use super::ContactError;
use super::lookup::exists;
use crate::outbound::recipient::{Recipient, normalize};
use crate::sessions::live::LiveSession;

/// Calling codes → ISO countries, for the `country` of a number (longest prefix wins).
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
/// A phone number to validate.
pub struct Phone(Recipient);

/// A JID to validate: its type, or `None` when it is not a valid JID.
pub struct JidCheck {
    raw: String,
    kind: Option<&'static str>,
}

/// A phone number, phone JID or LID to resolve.
pub struct Identifier {
    kind: &'static str,
    asked: Jid,
}

/// What a check found, in the reference's shape.
pub struct Identified(pub Value);

pub fn validate_phone(raw: &str, country: Option<&str>, default_cc: Option<&str>) -> Result<Phone, ContactError> {
    if raw.len() > 64 {
        return Err(ContactError::invalid("phone", "must be at most 64 characters"));
    }
    if raw.contains('@') {
        return Err(ContactError::invalid("phone", "must be a phone number, not a JID (use validate/jid)"));
    }
    let cc = match country {
        Some(iso) => Some(
            calling_code(iso)
                .ok_or_else(|| ContactError::invalid("country", format!("{iso:?} is not a known ISO country")))?,
        ),
        None => default_cc,
    };
    normalize(raw, cc).map(Phone).map_err(|why| ContactError::invalid("phone", why))
}

impl Phone {
    pub async fn describe(self, live: Option<&LiveSession>) -> Result<Identified, ContactError> {
        let r = self.0;
        let mut data = json!({
            "exists": null,
            "e164": format!("+{}", r.user),
            "jid": r.jid,
            "lid": null,
            "country": country_of(&r.user),
        });
        if let Some(live) = live {
            let jid: Jid = r.jid.parse().map_err(|_| ContactError::invalid("phone", "is not a valid number"))?;
            let (on, pn, lid) = exists(live, &jid).await?;
            data["exists"] = json!(on);
            if let Some(pn) = pn {
                data["jid"] = json!(pn.to_string());
            }
            data["lid"] = json!(lid.map(|l| l.to_string()));
        }
        Ok(Identified(data))
    }
}

pub fn validate_jid(raw: &str) -> Result<JidCheck, ContactError> {
    let raw = raw.trim();
    if raw.len() > 128 {
        return Err(ContactError::invalid("jid", "must be at most 128 characters"));
    }
    Ok(JidCheck { raw: raw.to_string(), kind: jid_type(raw) })
}

impl JidCheck {
    /// With a session, user and LID JIDs are checked with WhatsApp; other types give
    /// `exists: null`.
    pub async fn describe(self, live: Option<&LiveSession>) -> Result<Identified, ContactError> {
        let Some(kind) = self.kind else {
            return Ok(Identified(json!({ "isValid": false, "exists": false, "type": null })));
        };
        let mut found = Value::Null;
        if let (Some(live), "user" | "lid") = (live, kind) {
            let jid: Jid = self
                .raw
                .replace("@c.us", "@s.whatsapp.net")
                .parse()
                .map_err(|_| ContactError::invalid("jid", "is not a valid JID"))?;
            found = json!(exists(live, &jid.to_non_ad()).await?.0);
        }
        Ok(Identified(json!({ "isValid": true, "exists": found, "type": kind })))
    }
}

pub fn resolve(raw: &str, default_cc: Option<&str>) -> Result<Identifier, ContactError> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > 128 {
        return Err(ContactError::invalid("input", "must be 1-128 characters"));
    }
    let lid_user = raw.strip_prefix("lid:").or_else(|| raw.strip_suffix("@lid")).map(str::trim);
    let (kind, asked) = match lid_user {
        Some(u) if !u.is_empty() && u.len() <= 24 && u.bytes().all(|b| b.is_ascii_digit()) => ("lid", Jid::lid(u)),
        Some(_) => return Err(ContactError::invalid("input", "is not a valid LID")),
        None => {
            let r = normalize(raw, default_cc).map_err(|why| ContactError::invalid("input", why))?;
            if r.is_group() {
                return Err(ContactError::invalid("input", "must be a user (phone, JID or LID), not a group"));
            }
            let kind = if raw.contains('@') { "jid" } else { "phone" };
            (kind, r.jid.parse::<Jid>().map_err(|_| ContactError::invalid("input", "is not a valid JID"))?)
        }
    };
    Ok(Identifier { kind, asked })
}

impl Identifier {
    /// With a session, WhatsApp supplies the LID of a number and the number of a LID.
    pub async fn describe(self, live: Option<&LiveSession>) -> Result<Identified, ContactError> {
        let asked = self.asked;
        let (mut jid, mut lid) = if asked.is_lid() { (None, Some(asked.clone())) } else { (Some(asked.clone()), None) };
        let mut found = Value::Null;
        if let Some(live) = live {
            let (on, pn, l) = exists(live, &asked).await?;
            found = json!(on);
            jid = pn.or(jid);
            lid = l.or(lid);
        }
        let country = jid.as_ref().and_then(|j| country_of(&j.user));
        Ok(Identified(json!({
            "isValid": true,
            "type": self.kind,
            "exists": found,
            "lid": lid.map(|l| l.to_string()),
            "jid": jid.map(|j| j.to_string()),
            "country": country,
        })))
    }
}

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
