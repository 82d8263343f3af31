//! Validating builders of send content, shared by the HTTP send routes and webhook
//! actions so both accept and refuse the same things. Errors name the field (relative
//! to what the caller passes in `field` prefixes) and the problem.

use base64::Engine;

use super::content::{Card, Common, Content, vcard};

/// `(field, problem)`.
pub type Invalid = (String, String);

/// Longest accepted text (WhatsApp's own limit is 65,536 characters).
pub const MAX_TEXT_CHARS: usize = 65_536;
pub const MAX_CAPTION: usize = 4096;
/// Image mimetypes the queue sends as image messages.
pub const IMAGE_TYPES: &[&str] = &["image/jpeg", "image/png", "image/webp"];

fn bad(field: impl Into<String>, why: impl Into<String>) -> Invalid {
    (field.into(), why.into())
}

pub fn text(field: &str, text: &str, common: Common) -> Result<Content, Invalid> {
    if text.trim().is_empty() {
        return Err(bad(field, "must not be empty"));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(bad(field, format!("must be at most {MAX_TEXT_CHARS} characters")));
    }
    Ok(Content::Text { text: text.to_string(), preview: None, common })
}

/// A caption: blank is none.
pub fn caption(field: &str, c: Option<&str>) -> Result<Option<String>, Invalid> {
    match c {
        Some(c) if c.chars().count() > MAX_CAPTION => Err(bad(field, format!("at most {MAX_CAPTION} characters"))),
        Some(c) if !c.trim().is_empty() => Ok(Some(c.to_string())),
        _ => Ok(None),
    }
}

pub struct Place {
    pub latitude: f64,
    pub longitude: f64,
    pub name: Option<String>,
    pub address: Option<String>,
    pub url: Option<String>,
}

/// `prefix` is prepended to field names (`location.` for the REST body).
pub fn location(prefix: &str, p: Place, common: Common) -> Result<Content, Invalid> {
    if !(-90.0..=90.0).contains(&p.latitude) {
        return Err(bad(format!("{prefix}latitude"), "must be between -90 and 90"));
    }
    if !(-180.0..=180.0).contains(&p.longitude) {
        return Err(bad(format!("{prefix}longitude"), "must be between -180 and 180"));
    }
    for (f, v) in [("name", &p.name), ("address", &p.address), ("url", &p.url)] {
        if v.as_ref().is_some_and(|v| v.len() > 1024) {
            return Err(bad(format!("{prefix}{f}"), "at most 1024 bytes"));
        }
    }
    Ok(Content::Location {
        latitude: p.latitude,
        longitude: p.longitude,
        name: p.name,
        address: p.address,
        url: p.url,
        common,
    })
}

/// A poll of 2-12 distinct options; `max_selection` defaults to 1. The poll's secret is
/// drawn here.
pub fn poll(
    question: &str,
    options: &[String],
    max_selection: Option<u32>,
    common: Common,
) -> Result<Content, Invalid> {
    let question = question.trim().to_string();
    if question.is_empty() || question.chars().count() > 255 {
        return Err(bad("question", "must be 1-255 characters"));
    }
    if !(2..=12).contains(&options.len()) {
        return Err(bad("options", "must hold 2 to 12 options"));
    }
    let mut out: Vec<String> = Vec::with_capacity(options.len());
    for (i, o) in options.iter().enumerate() {
        let o = o.trim().to_string();
        if o.is_empty() || o.chars().count() > 100 {
            return Err(bad(format!("options[{i}]"), "must be 1-100 characters"));
        }
        if out.contains(&o) {
            return Err(bad(format!("options[{i}]"), "duplicates another option"));
        }
        out.push(o);
    }
    let selectable = max_selection.unwrap_or(1);
    if selectable < 1 || selectable as usize > out.len() {
        return Err(bad("maxSelection", format!("must be between 1 and {}", out.len())));
    }
    let secret: [u8; 32] = rand::random();
    Ok(Content::Poll {
        question,
        options: out,
        selectable,
        secret: base64::engine::general_purpose::STANDARD.encode(secret),
        common,
    })
}

/// One contact card's input.
pub struct CardInput {
    pub name: Option<String>,
    pub full_name: Option<String>,
    /// Raw numbers (each may be comma-separated).
    pub phones: Vec<String>,
    pub organization: Option<String>,
    pub email: Option<String>,
}

/// A vCard for one contact with one to ten phone numbers; `field` prefixes field names.
pub fn card(field: &str, c: &CardInput, country: Option<&str>) -> Result<Card, Invalid> {
    let name = c.full_name.clone().or_else(|| c.name.clone()).filter(|n| !n.trim().is_empty());
    let name = name.ok_or_else(|| bad(format!("{field}.name"), "is required"))?;
    let raw: Vec<String> =
        c.phones.iter().flat_map(|p| p.split(',')).map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect();
    if raw.is_empty() || raw.len() > 10 {
        return Err(bad(format!("{field}.phone"), "one to ten phone numbers are required"));
    }
    let mut phones = Vec::with_capacity(raw.len());
    for (i, p) in raw.iter().enumerate() {
        let r = super::recipient::normalize(p, country).map_err(|why| bad(format!("{field}.phone[{i}]"), why))?;
        if !r.jid.ends_with("@s.whatsapp.net") {
            return Err(bad(format!("{field}.phone[{i}]"), "must be a phone number"));
        }
        phones.push(r.user);
    }
    if name.len() > 256 {
        return Err(bad(format!("{field}.name"), "at most 256 bytes"));
    }
    let display = c.name.clone().unwrap_or_else(|| name.clone());
    Ok(Card { vcard: vcard(&name, &phones, c.organization.as_deref(), c.email.as_deref()), display_name: display })
}
