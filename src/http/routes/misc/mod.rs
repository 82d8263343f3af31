//! `/api/v1/misc/*`: stateless helpers — identifiers, hashes and HMACs, base64, QR codes.
//! The WhatsApp-facing checks are in `misc_wa.rs`, PNG helpers in `misc_media.rs`.
//!
//! Every input is size-capped: these routes do work per byte and need no session.

pub mod decrypt;
pub mod media;
pub mod output;
pub mod wa;

use axum::extract::State;
use base64::Engine;
use hmac::Mac;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Digest;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::auth::Tenant;
use crate::http::docs::CommonErrors;
use crate::http::envelope::{Envelope, Reply};
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, ApiPath, OptionalJson};
use crate::misc as misc_ids;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(uuid_generate))
        .routes(routes!(uuid_validate))
        .routes(routes!(hash))
        .routes(routes!(hmac_route))
        .routes(routes!(base64_route))
        .routes(routes!(to_qr))
        .merge(crate::http::routes::misc::wa::router())
        .merge(crate::http::routes::misc::media::router())
}

/// Largest text these helpers take (hash, HMAC and base64 inputs).
pub const MAX_INPUT: usize = 1024 * 1024;
/// QR codes hold at most ~2.9 KB; anything longer cannot be encoded anyway.
const MAX_QR_INPUT: usize = 2048;
const MAX_IDS: u32 = 1000;

/// `results: [{"data": …}]`, and `meta` when there is some.
#[derive(Serialize, ToSchema)]
pub struct MiscData {
    /// A string, a list or an object, as the operation says.
    data: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    meta: Option<Value>,
}

impl MiscData {
    pub fn of(data: impl Serialize) -> Self {
        MiscData { data: json!(data), meta: None }
    }
}

fn capped<'a>(field: &str, s: &'a str, max: usize) -> ApiResult<&'a str> {
    if s.len() > max {
        return Err(ApiError::field(field, format!("must be at most {max} bytes")));
    }
    Ok(s)
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UuidGenerate {
    /// `uuid` (default) or `ulid`.
    #[serde(rename = "type")]
    #[schema(pattern = "^(?:uuid|ulid)$")]
    kind: Option<String>,
    /// `v1`, `v3`, `v4` (default), `v5`, `v7` or `nil`.
    #[schema(pattern = "^(?:v1|v3|v4|v5|v7|nil)$")]
    version: Option<String>,
    /// For v3/v5: a UUID, or `dns`, `url`, `oid`, `x500`.
    namespace: Option<String>,
    /// For v3/v5: the name hashed into the namespace.
    name: Option<String>,
    /// Output mask: each `x` takes the next hex digit, e.g. `xxxx-xxxx`.
    format: Option<String>,
    /// 1-1000, default 1.
    #[schema(minimum = 1, maximum = 1000)]
    count: Option<u32>,
}

#[utoipa::path(post, path = "/api/v1/misc/uuid/generate", tag = "Misc", operation_id = "postMiscUuidGenerate",
    summary = "Generate identifiers", description = "Generate UUIDs (v1, v3, v4, v5, v7, nil) or ULIDs; 1-1000 at once.",
    request_body(content = Option<UuidGenerate>),
    responses((status = 200, description = "Generated identifiers", body = Envelope<MiscData>), CommonErrors))]
async fn uuid_generate(_t: Tenant, OptionalJson(body): OptionalJson<UuidGenerate>) -> ApiResult<Reply<MiscData>> {
    let count = body.count.unwrap_or(1);
    if !(1..=MAX_IDS).contains(&count) {
        return Err(ApiError::field("count", format!("must be between 1 and {MAX_IDS}")));
    }
    let spec = misc_ids::IdSpec::parse(
        body.kind.as_deref(),
        body.version.as_deref(),
        body.namespace.as_deref(),
        body.name.as_deref(),
        body.format.as_deref(),
    )
    .map_err(|(field, why)| ApiError::field(field, why))?;
    let ids: Vec<String> = (0..count).map(|_| spec.generate()).collect();
    Ok(Reply::ok("Identifiers generated", MiscData::of(ids)))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UuidValidate {
    /// `uuid` or `ulid`; without it either is accepted.
    #[serde(rename = "type")]
    #[schema(pattern = "^(?:uuid|ulid)$")]
    kind: Option<String>,
    #[schema(max_length = 256)]
    value: String,
}

#[utoipa::path(post, path = "/api/v1/misc/uuid/validate", tag = "Misc", operation_id = "postMiscUuidValidate",
    summary = "Validate identifiers", description = "Validate UUID or ULID strings; reports the type and UUID version.",
    request_body = UuidValidate,
    responses((status = 200, description = "Validation result", body = Envelope<MiscData>), CommonErrors))]
async fn uuid_validate(_t: Tenant, ApiJson(body): ApiJson<UuidValidate>) -> ApiResult<Reply<MiscData>> {
    let value = capped("value", &body.value, 256)?;
    if let Some(k) = body.kind.as_deref().filter(|k| !matches!(*k, "uuid" | "ulid")) {
        return Err(ApiError::field("type", format!("{k:?} must be uuid or ulid")));
    }
    let (is_valid, kind, version) = misc_ids::inspect(value, body.kind.as_deref());
    Ok(Reply::ok("Validation complete", MiscData::of(json!({ "isValid": is_valid, "type": kind, "version": version }))))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HashRequest {
    /// `md5`, `sha1`, `sha224`, `sha256` (default), `sha384` or `sha512`.
    #[schema(pattern = "^(?:md5|sha1|sha224|sha256|sha384|sha512)$")]
    algo: Option<String>,
    /// Text to hash (UTF-8), at most 1 MiB.
    #[schema(max_length = 1048576)]
    input: String,
    /// `hex` (default) or `base64`.
    #[schema(pattern = "^(?:hex|base64)$")]
    output: Option<String>,
}

fn encode_digest(field: &str, output: Option<&str>, bytes: &[u8]) -> ApiResult<String> {
    match output.unwrap_or("hex") {
        "hex" => Ok(hex::encode(bytes)),
        "base64" => Ok(base64::engine::general_purpose::STANDARD.encode(bytes)),
        other => Err(ApiError::field(field, format!("{other:?} must be hex or base64"))),
    }
}

fn digest(algo: &str, input: &[u8]) -> Option<Vec<u8>> {
    Some(match algo {
        "md5" => md5::Md5::digest(input).to_vec(),
        "sha1" => sha1::Sha1::digest(input).to_vec(),
        "sha224" => sha2::Sha224::digest(input).to_vec(),
        "sha256" => sha2::Sha256::digest(input).to_vec(),
        "sha384" => sha2::Sha384::digest(input).to_vec(),
        "sha512" => sha2::Sha512::digest(input).to_vec(),
        _ => return None,
    })
}

#[utoipa::path(post, path = "/api/v1/misc/crypto/hash", tag = "Misc", operation_id = "postMiscCryptoHash",
    summary = "Hash data", description = "Hash a string with md5, sha1 or SHA-2.",
    request_body = HashRequest,
    responses((status = 200, description = "Digest", body = Envelope<MiscData>), CommonErrors))]
async fn hash(_t: Tenant, ApiJson(body): ApiJson<HashRequest>) -> ApiResult<Reply<MiscData>> {
    let input = capped("input", &body.input, MAX_INPUT)?;
    let algo = body.algo.as_deref().unwrap_or("sha256").to_ascii_lowercase();
    let d =
        digest(&algo, input.as_bytes()).ok_or_else(|| ApiError::field("algo", format!("{algo:?} is not supported")))?;
    Ok(Reply::ok("Hash generated", MiscData::of(encode_digest("output", body.output.as_deref(), &d)?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HmacRequest {
    /// As for hash.
    #[schema(pattern = "^(?:md5|sha1|sha224|sha256|sha384|sha512)$")]
    algo: Option<String>,
    #[schema(min_length = 1, max_length = 1048576)]
    key: String,
    #[schema(max_length = 1048576)]
    input: String,
    /// `hex` (default) or `base64`.
    #[schema(pattern = "^(?:hex|base64)$")]
    output: Option<String>,
}

fn hmac_of(algo: &str, key: &[u8], input: &[u8]) -> Option<Vec<u8>> {
    macro_rules! mac {
        ($h:ty) => {{
            let mut m = hmac::Hmac::<$h>::new_from_slice(key).ok()?;
            m.update(input);
            m.finalize().into_bytes().to_vec()
        }};
    }
    Some(match algo {
        "md5" => mac!(md5::Md5),
        "sha1" => mac!(sha1::Sha1),
        "sha224" => mac!(sha2::Sha224),
        "sha256" => mac!(sha2::Sha256),
        "sha384" => mac!(sha2::Sha384),
        "sha512" => mac!(sha2::Sha512),
        _ => return None,
    })
}

#[utoipa::path(post, path = "/api/v1/misc/crypto/hmac", tag = "Misc", operation_id = "postMiscCryptoHmac",
    summary = "Generate an HMAC", description = "HMAC of a string with md5, sha1 or SHA-2.",
    request_body = HmacRequest,
    responses((status = 200, description = "HMAC", body = Envelope<MiscData>), CommonErrors))]
async fn hmac_route(_t: Tenant, ApiJson(body): ApiJson<HmacRequest>) -> ApiResult<Reply<MiscData>> {
    let input = capped("input", &body.input, MAX_INPUT)?;
    let key = capped("key", &body.key, 4096)?;
    if key.is_empty() {
        return Err(ApiError::field("key", "must not be empty"));
    }
    let algo = body.algo.as_deref().unwrap_or("sha256").to_ascii_lowercase();
    let d = hmac_of(&algo, key.as_bytes(), input.as_bytes())
        .ok_or_else(|| ApiError::field("algo", format!("{algo:?} is not supported")))?;
    Ok(Reply::ok("HMAC generated", MiscData::of(encode_digest("output", body.output.as_deref(), &d)?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Base64Request {
    /// `encode` (default) or `decode`.
    #[schema(pattern = "^(?:encode|decode)$")]
    action: Option<String>,
    input: String,
    /// `string` (default): decoded bytes as UTF-8 text; `base64`: re-encoded. `url`/`file` are not offered.
    #[schema(pattern = "^(?:string|base64)$")]
    output: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/misc/base64", tag = "Misc", operation_id = "postMiscBase64",
    summary = "Encode or decode base64", description = "Encode text to base64 or decode base64 (standard or URL-safe, padded or not) to text.",
    request_body = Base64Request,
    responses((status = 200, description = "Converted payload", body = Envelope<MiscData>), CommonErrors))]
async fn base64_route(_t: Tenant, ApiJson(body): ApiJson<Base64Request>) -> ApiResult<Reply<MiscData>> {
    let input = capped("input", &body.input, MAX_INPUT)?;
    if let Some(o) = body.output.as_deref().filter(|o| !matches!(*o, "string" | "base64")) {
        return Err(ApiError::field("output", format!("{o:?} is not offered; use string or base64")));
    }
    match body.action.as_deref().unwrap_or("encode") {
        "encode" => {
            Ok(Reply::ok("Encoded to base64", MiscData::of(base64::engine::general_purpose::STANDARD.encode(input))))
        }
        "decode" => {
            let bytes =
                misc_ids::decode_base64(input).ok_or_else(|| ApiError::field("input", "is not valid base64"))?;
            let data = if body.output.as_deref() == Some("base64") {
                base64::engine::general_purpose::STANDARD.encode(&bytes)
            } else {
                String::from_utf8(bytes).map_err(|_| {
                    ApiError::field("input", "decodes to bytes that are not UTF-8 text; use output=base64")
                })?
            };
            Ok(Reply::ok("Decoded from base64", MiscData::of(data)))
        }
        other => Err(ApiError::field("action", format!("{other:?} must be encode or decode"))),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QrRequest {
    /// The text to encode, at most 2048 bytes.
    #[schema(min_length = 1, max_length = 2048)]
    string: String,
    /// Only `utf8` is accepted.
    #[schema(pattern = "^utf8$")]
    encoding: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/misc/convert-string-toqr/{target}", tag = "Misc", operation_id = "postMiscConvertStringTarget",
    summary = "Convert string to QR", description = "Renders a QR code. `base64` and `png` give a PNG `data:` URL, `svg` an SVG `data:` URL (WAREST keeps no temporary file host, so `meta.mode` is always `dataurl`). `jpg`, `jpeg` and `webp` are not offered (400).",
    params(("target" = String, Path, description = "base64, png or svg", pattern = "^(?:[bB][aA][sS][eE]64|[pP][nN][gG]|[sS][vV][gG])$")),
    request_body = QrRequest,
    responses((status = 200, description = "QR code", body = Envelope<MiscData>), CommonErrors))]
async fn to_qr(
    State(_s): State<AppState>,
    _t: Tenant,
    ApiPath(target): ApiPath<String>,
    ApiJson(body): ApiJson<QrRequest>,
) -> ApiResult<Reply<MiscData>> {
    if let Some(e) = body.encoding.as_deref().filter(|e| !matches!(e.to_ascii_lowercase().as_str(), "utf8" | "utf-8")) {
        return Err(ApiError::field("encoding", format!("{e:?} is not supported; use utf8")));
    }
    let text = capped("string", &body.string, MAX_QR_INPUT)?;
    if text.is_empty() {
        return Err(ApiError::field("string", "must not be empty"));
    }
    let (mime, format, bytes) = match target.to_ascii_lowercase().as_str() {
        "base64" | "png" => (
            "image/png",
            "png",
            crate::sessions::qr::png(text).map_err(|_| ApiError::field("string", "cannot be encoded as a QR code"))?,
        ),
        "svg" => (
            "image/svg+xml",
            "svg",
            misc_ids::qr_svg(text)
                .ok_or_else(|| ApiError::field("string", "cannot be encoded as a QR code"))?
                .into_bytes(),
        ),
        other => return Err(ApiError::field("target", format!("{other:?} is not offered; use base64, png or svg"))),
    };
    let url = format!("data:{mime};base64,{}", base64::engine::general_purpose::STANDARD.encode(&bytes));
    let meta = json!({ "mode": "dataurl", "mimeType": mime, "format": format, "size": bytes.len() });
    Ok(Reply::ok(
        format!("String converted to QR-friendly {} (data URI)", format.to_uppercase()),
        MiscData { data: json!(url), meta: Some(meta) },
    ))
}
