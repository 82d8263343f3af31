//! Validating builders of button and list messages, shared by the send routes and webhook
//! actions: the inputs (as the reference spec names their fields) become the interactive
//! parts of `Content::Buttons` / `Content::List`. Every count and length is capped.

use std::collections::HashSet;

use serde::Deserialize;
use utoipa::ToSchema;

use super::build::Invalid;
use super::interactive::{Button, Frame, ListRow, ListSection};

fn bad(field: impl Into<String>, why: impl Into<String>) -> Invalid {
    (field.into(), why.into())
}

pub const MAX_BODY_TEXT: usize = 4096;
pub const MAX_TITLE: usize = 60;
pub const MAX_FOOTER: usize = 60;
pub const MAX_BUTTONS: usize = 10;
pub const MAX_BUTTON_TEXT: usize = 40;
pub const MAX_ID: usize = 256;
pub const MAX_URL: usize = 2048;
pub const MAX_SECTIONS: usize = 10;
/// WhatsApp shows at most 10 rows in one list, over all its sections.
pub const MAX_ROWS: usize = 10;
pub const MAX_ROW_TITLE: usize = 72;
pub const MAX_ROW_DESCRIPTION: usize = 72;

pub fn text(field: &str, v: Option<&str>, max: usize, required: bool) -> Result<Option<String>, Invalid> {
    match v.map(str::trim).filter(|v| !v.is_empty()) {
        None if required => Err(bad(field, "must not be empty")),
        None => Ok(None),
        Some(v) if v.chars().count() > max => Err(bad(field, format!("at most {max} characters"))),
        Some(v) => Ok(Some(v.to_string())),
    }
}

/// One button as the spec describes it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ButtonInput {
    /// `reply` (default), `url` or `call`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// What a `reply` button answers with (default: its text).
    pub id: Option<String>,
    pub display_text: Option<String>,
    /// For `url` buttons: an http(s) URL.
    pub url: Option<String>,
    /// For `call` buttons: the number to call.
    pub phone_number: Option<String>,
}

pub fn button(i: usize, b: &ButtonInput, reply_ids: &mut HashSet<String>) -> Result<Button, Invalid> {
    let f = |name: &str| format!("buttons[{i}].{name}");
    let display_text = text(&f("displayText"), b.display_text.as_deref(), MAX_BUTTON_TEXT, true)?.unwrap_or_default();
    let kind = match b.kind.as_deref().map(str::to_ascii_lowercase) {
        Some(k) => k,
        None if b.url.is_some() => "url".into(),
        None if b.phone_number.is_some() => "call".into(),
        None => "reply".into(),
    };
    Ok(match kind.as_str() {
        "reply" => {
            let id = text(&f("id"), b.id.as_deref(), MAX_ID, false)?.unwrap_or_else(|| display_text.clone());
            if !reply_ids.insert(id.clone()) {
                return Err(bad(f("id"), "reply button ids must be unique"));
            }
            Button::Reply { id, display_text }
        }
        "url" => {
            let url = text(&f("url"), b.url.as_deref(), MAX_URL, true)?.unwrap_or_default();
            let ok = reqwest::Url::parse(&url).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
            if !ok {
                return Err(bad(f("url"), "must be an http(s) URL"));
            }
            Button::Url { display_text, url }
        }
        "call" => {
            let phone = text(&f("phoneNumber"), b.phone_number.as_deref(), 20, true)?.unwrap_or_default();
            let digits = phone.strip_prefix('+').unwrap_or(&phone);
            if digits.len() < 5 || !digits.bytes().all(|c| c.is_ascii_digit()) {
                return Err(bad(f("phoneNumber"), "must be 5-19 digits, optionally with a leading +"));
            }
            Button::Call { display_text, phone_number: phone }
        }
        _ => return Err(bad(f("type"), "must be reply, url or call")),
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RowInput {
    /// What the choice answers with; unique in the list.
    pub id: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SectionInput {
    pub title: Option<String>,
    #[serde(default)]
    pub rows: Vec<RowInput>,
}

/// The `list` object form.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListInput {
    pub button_text: Option<String>,
    pub title: Option<String>,
    pub text: Option<String>,
    pub footer: Option<String>,
    #[serde(default)]
    pub sections: Vec<SectionInput>,
}

pub fn sections(field: &str, input: &[SectionInput]) -> Result<Vec<ListSection>, Invalid> {
    if input.is_empty() {
        return Err(bad(field, "at least one section with rows"));
    }
    if input.len() > MAX_SECTIONS {
        return Err(bad(field, format!("at most {MAX_SECTIONS} sections")));
    }
    let (mut ids, mut total) = (HashSet::new(), 0);
    let mut out = Vec::with_capacity(input.len());
    for (i, s) in input.iter().enumerate() {
        let f = format!("{field}[{i}]");
        if s.rows.is_empty() {
            return Err(bad(format!("{f}.rows"), "at least one row"));
        }
        total += s.rows.len();
        if total > MAX_ROWS {
            return Err(bad(format!("{f}.rows"), format!("at most {MAX_ROWS} rows in the whole list")));
        }
        let mut rows = Vec::with_capacity(s.rows.len());
        for (j, r) in s.rows.iter().enumerate() {
            let rf = |n: &str| format!("{f}.rows[{j}].{n}");
            let title = text(&rf("title"), r.title.as_deref(), MAX_ROW_TITLE, true)?.unwrap_or_default();
            let id = text(&rf("id"), r.id.as_deref(), MAX_ID, false)?.unwrap_or_else(|| title.clone());
            if !ids.insert(id.clone()) {
                return Err(bad(rf("id"), "row ids must be unique in the list"));
            }
            let description = text(&rf("description"), r.description.as_deref(), MAX_ROW_DESCRIPTION, false)?;
            rows.push(ListRow { id, title, description });
        }
        out.push(ListSection { title: text(&format!("{f}.title"), s.title.as_deref(), MAX_TITLE, false)?, rows });
    }
    Ok(out)
}

/// 1 to 10 buttons, reply ids unique.
pub fn buttons(input: &[ButtonInput]) -> Result<Vec<Button>, Invalid> {
    if input.is_empty() {
        return Err(bad("buttons", "at least one button"));
    }
    if input.len() > MAX_BUTTONS {
        return Err(bad("buttons", format!("at most {MAX_BUTTONS} buttons")));
    }
    let mut ids = HashSet::new();
    input.iter().enumerate().map(|(i, x)| button(i, x, &mut ids)).collect()
}

/// Body text (required), header title and footer.
pub fn frame(body: Option<&str>, title: Option<&str>, footer: Option<&str>) -> Result<Frame, Invalid> {
    Ok(Frame {
        text: text("text", body, MAX_BODY_TEXT, true)?.unwrap_or_default(),
        title: text("title", title, MAX_TITLE, false)?,
        footer: text("footer", footer, MAX_FOOTER, false)?,
    })
}

/// Label of the button that opens a list (default "Menu").
pub fn button_text(v: Option<&str>) -> Result<String, Invalid> {
    Ok(text("buttonText", v, MAX_BUTTON_TEXT, false)?.unwrap_or_else(|| "Menu".to_string()))
}

/// The fields a list may come in: a `list` object, `lists` (sections), or top-level
/// `sections` and texts; top-level texts win over the `list` object's. Webhook actions
/// deserialize it from their object; the list route fills it from its body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListParts {
    pub list: Option<ListInput>,
    pub lists: Option<Vec<SectionInput>>,
    pub sections: Option<Vec<SectionInput>>,
    #[serde(alias = "message")]
    pub text: Option<String>,
    pub title: Option<String>,
    pub footer: Option<String>,
    pub button_text: Option<String>,
}

/// A list's frame, opening button label and sections.
pub fn list(p: &ListParts) -> Result<(Frame, String, Vec<ListSection>), Invalid> {
    let empty = ListInput::default();
    let list = p.list.as_ref().unwrap_or(&empty);
    let (field, input) = match (&p.list, &p.lists, &p.sections) {
        (Some(l), _, _) if !l.sections.is_empty() => ("list.sections", &l.sections[..]),
        (_, Some(s), _) => ("lists", &s[..]),
        (_, _, Some(s)) => ("sections", &s[..]),
        _ => ("sections", &[][..]),
    };
    let sections = sections(field, input)?;
    let frame = frame(
        p.text.as_deref().or(list.text.as_deref()),
        p.title.as_deref().or(list.title.as_deref()),
        p.footer.as_deref().or(list.footer.as_deref()),
    )?;
    Ok((frame, button_text(p.button_text.as_deref().or(list.button_text.as_deref()))?, sections))
}
