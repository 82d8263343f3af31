//! The account's privacy settings, by the names the API uses.

use whatsapp_rust::wacore::iq::privacy::{PrivacyCategory, PrivacyValue};

use super::{ContactError, phone_of, wa};
use crate::sessions::live::LiveSession;

/// API field name → WhatsApp privacy category.
const FIELDS: &[(&str, &str)] = &[
    ("readReceipts", "readreceipts"),
    ("profilePhoto", "profile"),
    ("status", "status"),
    ("online", "online"),
    ("lastSeen", "last"),
    ("groupAdd", "groupadd"),
    ("callAdd", "calladd"),
    ("messages", "messages"),
];

/// The settings as WhatsApp reports them, by API field name (absent when not reported).
pub struct Privacy {
    pub phone: Option<String>,
    pub values: Vec<(&'static str, Option<String>)>,
}

impl Privacy {
    pub fn get(&self, field: &str) -> Option<String> {
        self.values.iter().find(|(f, _)| *f == field).and_then(|(_, v)| v.clone())
    }
}

/// One setting to change, checked against what WhatsApp allows for it.
pub struct PrivacyChange(PrivacyCategory, PrivacyValue);

impl PrivacyChange {
    /// `field` is an API field name (`lastSeen`, …), `value` its new value.
    pub fn parse(field: &str, value: &str) -> Result<PrivacyChange, ContactError> {
        let Some((_, cat)) = FIELDS.iter().find(|(f, _)| *f == field) else {
            return Err(ContactError::invalid(field, "is not a WhatsApp privacy setting and cannot be set"));
        };
        let (cat, v) = (PrivacyCategory::from(*cat), PrivacyValue::from(value));
        if matches!(v, PrivacyValue::Other(_)) || !cat.is_valid_value(&v) {
            return Err(ContactError::invalid(field, format!("{value:?} is not a valid value")));
        }
        Ok(PrivacyChange(cat, v))
    }

    /// Every change a request gives, as (API field, value); at least one.
    pub fn parse_all(given: &[(&str, &str)]) -> Result<Vec<PrivacyChange>, ContactError> {
        if given.is_empty() {
            return Err(ContactError::invalid("body", "give at least one privacy field to change"));
        }
        given.iter().map(|(field, value)| PrivacyChange::parse(field, value)).collect()
    }
}

pub async fn privacy(live: &LiveSession) -> Result<Privacy, ContactError> {
    let got = live.client.fetch_privacy_settings().await.map_err(wa("privacy"))?;
    let values = FIELDS
        .iter()
        .map(|(field, cat)| (*field, got.get_value(&PrivacyCategory::from(*cat)).map(|v| v.as_str().to_string())))
        .collect();
    Ok(Privacy { phone: live.client.pn().map(|j| phone_of(&j.to_string())), values })
}

/// Applies the changes in order and answers the settings WhatsApp then reports.
pub async fn set_privacy(live: &LiveSession, changes: Vec<PrivacyChange>) -> Result<Privacy, ContactError> {
    for PrivacyChange(cat, value) in changes {
        live.client.set_privacy_setting(cat, value).await.map_err(wa("set privacy"))?;
    }
    privacy(live).await
}
