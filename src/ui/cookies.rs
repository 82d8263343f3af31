//! Reading and writing the dashboard's cookies. All are `HttpOnly; SameSite=Strict;
//! Path=/`: scripts never read them, and other sites' requests never carry them.

use axum::http::{HeaderMap, HeaderValue, header};

/// The longest cookie value read; anything longer is not one of ours.
const MAX_VALUE: usize = 4096;

/// The value of cookie `name`, if present and sane.
pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty() && v.len() <= MAX_VALUE)
}

/// A `Set-Cookie` value; `max_age` 0 deletes the cookie.
pub fn set(name: &str, value: &str, max_age_secs: u64) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_cookie_among_others() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; WAREST_UI_FLASH=xyz; b=2"));
        assert_eq!(get(&h, "WAREST_UI_FLASH").as_deref(), Some("xyz"));
        assert_eq!(get(&h, "c"), None);
        assert!(set("n", "v", 0).unwrap().to_str().unwrap().contains("Max-Age=0"));
    }
}
