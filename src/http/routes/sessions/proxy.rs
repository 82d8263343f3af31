//! The `proxy` of a session on the wire: in (a URL string, or WAHA's `{server, username,
//! password}`; `""` removes it) and out (always masked: the password never leaves).

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::http::error::{ApiError, ApiResult};
use crate::sessions::actor::Snapshot;
use crate::sessions::proxy::ProxySpec;
use crate::store::sessions::SessionRow;

/// A session proxy: a URL string (`socks5://user:pass@host:port`, `http://host:port`;
/// `""` removes it) or WAHA's `{server, username, password}`.
// The schema of the body field, which is parsed by `parse` below for precise errors.
#[derive(ToSchema, serde::Deserialize)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum ProxyInput {
    Url(String),
    Waha(ProxyParts),
}

#[derive(ToSchema, serde::Deserialize)]
#[allow(dead_code)]
pub struct ProxyParts {
    /// `host:port` (HTTP) or a `socks5://` / `http://` URL.
    #[schema(
        pattern = "^\\s*(?:(?:socks5h?|http)://)?(?:[A-Za-z0-9._~%-]+(?::[A-Za-z0-9._~%-]*)?@)?[A-Za-z0-9.-]+:[1-9][0-9]{0,4}/?\\s*$"
    )]
    server: String,
    username: Option<String>,
    password: Option<String>,
}

/// The stored URL (credentials included) for `field`'s value; `None` removes the proxy.
pub fn parse(field: &str, v: &Value) -> ApiResult<Option<String>> {
    let spec = match v {
        Value::Null => return Ok(None),
        Value::String(s) if s.trim().is_empty() => return Ok(None),
        Value::String(s) => ProxySpec::parse_url(s).map_err(|e| ApiError::field(field, e))?,
        Value::Object(m) => {
            if let Some(k) = m.keys().find(|k| !["server", "username", "password"].contains(&k.as_str())) {
                return Err(ApiError::field(format!("{field}.{k}"), "unknown field"));
            }
            let text = |k: &str| -> ApiResult<Option<&str>> {
                match m.get(k) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::String(s)) => Ok(Some(s.as_str())),
                    Some(_) => Err(ApiError::field(format!("{field}.{k}"), "must be a string")),
                }
            };
            let server = text("server")?
                .filter(|s| !s.trim().is_empty())
                .ok_or_else(|| ApiError::field(format!("{field}.server"), "is required"))?;
            ProxySpec::parse_parts(server, text("username")?, text("password")?)
                .map_err(|e| ApiError::field(format!("{field}.server"), e))?
        }
        _ => return Err(ApiError::field(field, "must be a proxy URL string or {server, username, password}")),
    };
    Ok(Some(spec.url_with_credentials()))
}

/// A session's proxy as every session answer shows it.
#[derive(Serialize, ToSchema, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ProxyView {
    /// The URL with the password masked, e.g. `socks5://user:***@host:1080`.
    pub url: String,
    /// `scheme://host:port`, as WAHA's `server`.
    pub server: String,
    pub username: Option<String>,
    /// `***` when a password is set; never the password itself.
    pub password: Option<&'static str>,
    /// `session` (its own config) or `pool` (lent by `WAREST_PROXY_URLS`).
    pub source: &'static str,
}

impl ProxyView {
    pub fn of(row: &SessionRow, snap: &Snapshot) -> Option<ProxyView> {
        // A pool proxy is known here only by its masked URL, which parses as well (its
        // password reads `***`): only the presence of a password is shown either way.
        let (spec, source) = match row.proxy.as_deref().and_then(|u| ProxySpec::parse_url(u).ok()) {
            Some(s) => (s, "session"),
            None => {
                let used = snap.proxy.as_ref()?;
                (ProxySpec::parse_url(&used.url).ok()?, used.source)
            }
        };
        Some(ProxyView {
            url: spec.masked(),
            server: format!("{}://{}", spec.scheme.as_str(), spec.address()),
            username: spec.username.clone(),
            password: spec.password.as_ref().map(|_| "***"),
            source,
        })
    }
}
