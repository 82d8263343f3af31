//! Form bodies and what a dashboard action answers: the API's envelope for scripts, or a
//! redirect back with the outcome in a one-shot flash cookie for a plain form post.

use axum::Json;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};

use super::api::Answer;
use super::cookies;
use crate::http::error::ApiError;

pub const FLASH: &str = "WAREST_UI_FLASH";
/// A flash message is cut to this many characters (it travels in a cookie).
const FLASH_TEXT_MAX: usize = 600;

/// A `application/x-www-form-urlencoded` body; repeated names are kept (checkboxes).
pub struct Form(Vec<(String, String)>);

impl Form {
    pub fn parse(bytes: &[u8], max_fields: usize) -> Result<Form, ()> {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(bytes).into_owned().take(max_fields + 1).collect();
        if pairs.len() > max_fields {
            return Err(());
        }
        Ok(Form(pairs))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The trimmed value, `None` when absent or blank.
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty()).map(str::to_string)
    }

    /// A checkbox: present and not "off"/"false".
    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| !matches!(v, "off" | "false" | "0"))
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
    }
}

/// The API's answer to a UI-side problem (a textarea that is not JSON), same envelope.
pub fn refused(err: ApiError) -> Answer {
    let results = err.field.as_ref().map(|f| json!([{ "field": f }])).unwrap_or(Value::Null);
    Answer {
        http: err.code.status(),
        body: json!({ "status": false, "code": err.code.number(), "message": err.message, "results": results }),
        headers: HeaderMap::new(),
    }
}

/// Parses a JSON textarea; a syntax error names the field, as the API would.
pub fn json_field(form: &Form, name: &str) -> Result<Option<Value>, ApiError> {
    match form.text(name) {
        None => Ok(None),
        Some(t) => crate::http::extract::parse_json::<Value>(t.as_bytes()).map(Some).map_err(|e| {
            // The parser names the body's own path ("body" at the root); here it sits
            // under the textarea's name.
            let inner = e.field.clone().unwrap_or_else(|| "body".into());
            let problem = e.message.strip_prefix(&format!("{inner}: ")).unwrap_or(&e.message).to_string();
            let field = if inner == "body" { name.to_string() } else { format!("{name}.{inner}") };
            ApiError::field(field, problem)
        }),
    }
}

/// What an action answers: the envelope itself (`Accept: application/json`), or a 303
/// back to `back` with the outcome as a flash (plus `extra` for the page to show).
pub fn after(json: bool, ans: &Answer, back: &str, extra: Value) -> Response {
    if json {
        return (ans.http, Json(ans.body.clone())).into_response();
    }
    let mut message: String = ans.message().chars().take(FLASH_TEXT_MAX).collect();
    if message.is_empty() {
        message = format!("HTTP {}", ans.http.as_u16());
    }
    let flash = json!({
        "ok": ans.ok(), "code": ans.code(), "http": ans.http.as_u16(), "message": message,
        "field": ans.field(), "extra": extra,
    });
    let mut res = Redirect::to(back).into_response();
    if let Some(v) = cookies::set(FLASH, &B64.encode(flash.to_string()), 60) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

/// The flash left by the last action, if any (the page clears it).
pub fn take_flash(headers: &HeaderMap) -> Option<Value> {
    let raw = cookies::get(headers, FLASH)?;
    let bytes = B64.decode(raw).ok()?;
    serde_json::from_slice::<Value>(&bytes).ok().filter(Value::is_object)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_keep_repeated_fields_and_cap_their_count() {
        let f = Form::parse(b"a=1&ev=x&ev=y&blank=%20&on=on", 10).unwrap();
        assert_eq!(f.get("a"), Some("1"));
        assert_eq!(f.all("ev"), ["x", "y"]);
        assert_eq!(f.text("blank"), None);
        assert!(f.checked("on") && !f.checked("nope"));
        assert!(Form::parse(b"a=1&b=2&c=3", 2).is_err());
    }

    #[test]
    fn a_bad_json_field_is_a_400_naming_it() {
        let f = Form::parse(b"metadata=%7Bnope", 10).unwrap();
        let a = refused(json_field(&f, "metadata").unwrap_err());
        assert_eq!((a.http.as_u16(), a.code(), a.field()), (400, 2001, Some("metadata")));
        assert!(a.message().starts_with("metadata: malformed JSON"), "{}", a.message());
    }
}
