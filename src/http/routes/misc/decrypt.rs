//! `/api/v1/misc/whatsapp/*` helpers of the reference spec: decrypting a WhatsApp media
//! blob from its mediaKey (answered as a data URL, a signed link or the file itself, see
//! `misc_output`), and decrypting a poll vote from its fields. Stateless except that a
//! vote on a poll this session sent finds the poll's secret and options itself.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use whatsapp_rust::Jid;
use whatsapp_rust::wacore::download::{DownloadUtils, MediaType};

use crate::app::AppState;
use crate::http::auth::Tenant;
use crate::http::docs::AdminErrors;
use crate::http::envelope::{Envelope, Reply};
use crate::http::error::{ApiError, ApiResult, Code};
use crate::http::extract::ApiJson;
use crate::http::routes::misc::output::{self as misc_output, Output};
use crate::http::routes::sessions::views::load;
use crate::inbound::poll;
use crate::outbound::fetch::{self, MediaError};

/// A vote's encrypted payload is 32 bytes per selected option plus a tag; this is plenty.
const MAX_VOTE_B64: usize = 16 * 1024;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(file_decrypt)).routes(routes!(poll_update_vote))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileDecryptRequest {
    /// Base64 media key (32 bytes), as in the message's `mediaKey`.
    pub media_key: String,
    /// The encrypted media: base64, a `data:` URL, or an http(s) URL (fetched behind the
    /// same SSRF guard and size limit as media sends). Local paths are not accepted.
    pub file: String,
    /// The media's mimetype; also picks the key type when `mediaType` is absent.
    pub mime_type: Option<String>,
    /// Base64 SHA-256 of the plaintext; checked when given.
    pub file_sha256: Option<String>,
    /// `base64` (default): the plaintext as a data URL; `url`: a signed link to
    /// `GET /api/v1/media/{id}` that expires after WAREST_MEDIA_URL_TTL; `file`: the plaintext
    /// itself as the response body, with its Content-Type and a download name.
    pub output: Option<String>,
    /// `image`, `video`, `audio`, `ptt`, `document`, `sticker`, `gif` or `thumbnail-link`: the key
    /// derivation of that media type. Default: from `mimeType`.
    pub media_type: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BinaryResult {
    pub data: String,
    pub meta: Value,
}

fn media_type(explicit: Option<&str>, mime: Option<&str>) -> ApiResult<MediaType> {
    if let Some(t) = explicit {
        return match t.trim().to_ascii_lowercase().as_str() {
            "image" => Ok(MediaType::Image),
            "video" | "gif" => Ok(MediaType::Video),
            "audio" | "ptt" => Ok(MediaType::Audio),
            "document" => Ok(MediaType::Document),
            "sticker" => Ok(MediaType::Sticker),
            "thumbnail-link" => Ok(MediaType::LinkThumbnail),
            other => Err(ApiError::field("mediaType", format!("unknown media type {other:?}"))),
        };
    }
    let m = crate::media::base_mimetype(mime.unwrap_or(""));
    if m == "image/webp" {
        return Ok(MediaType::Sticker);
    }
    match m.split('/').next().unwrap_or("") {
        "image" => Ok(MediaType::Image),
        "video" => Ok(MediaType::Video),
        "audio" => Ok(MediaType::Audio),
        "" => Err(ApiError::field("mediaType", "required when mimeType is absent")),
        _ => Ok(MediaType::Document),
    }
}

fn b64_field(field: &str, value: &str) -> ApiResult<Vec<u8>> {
    B64.decode(value.trim().as_bytes()).map_err(|_| ApiError::field(field, "must be base64"))
}

#[utoipa::path(post, path = "/api/v1/misc/whatsapp/file-decrypt", tag = "Misc", operation_id = "postMiscWhatsappFileDecrypt",
    summary = "Decrypt WhatsApp media", description = "Decrypts a WhatsApp media blob (AES-256-CBC + HMAC, keys from the \
        mediaKey by HKDF with the media type's label). Size-capped like media sends (WAREST_MEDIA_MAX_MB). \
        The plaintext is never larger than the blob, so that cap bounds the output too. \
        A key, type or blob that does not verify answers 422 with code 3153.",
    request_body = FileDecryptRequest,
    responses((status = 200, description = "The plaintext as a data URL or a signed link, or with output=file the plaintext itself",
        content((Envelope<BinaryResult> = "application/json"), (Vec<u8> = "application/octet-stream"))), AdminErrors))]
async fn file_decrypt(
    State(state): State<AppState>,
    Tenant(_who): Tenant,
    ApiJson(req): ApiJson<FileDecryptRequest>,
) -> ApiResult<Response> {
    let output = Output::parse(req.output.as_deref())?;
    let key = b64_field("mediaKey", &req.media_key)?;
    if key.len() != 32 {
        return Err(ApiError::field("mediaKey", "must be 32 bytes"));
    }
    if let Some(m) = req.mime_type.as_deref() {
        let base = crate::media::base_mimetype(m);
        // It becomes a Content-Type and part of a data URL: a plain `type/subtype` only.
        let token =
            |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b));
        if base.len() > 127 || !base.split_once('/').is_some_and(|(t, s)| token(t) && token(s)) {
            return Err(ApiError::field("mimeType", "must be a mimetype like image/jpeg"));
        }
    }
    let kind = media_type(req.media_type.as_deref(), req.mime_type.as_deref())?;
    let expected = req.file_sha256.as_deref().map(|s| b64_field("fileSha256", s)).transpose()?;
    let limits = &state.config.outbound.media;
    let file = req.file.trim();
    if file.is_empty() {
        return Err(ApiError::field("file", "is empty"));
    }
    let blob = fetch::load(file, limits).await.map_err(|e| match e {
        MediaError::Invalid(why) => ApiError::field("file", why),
        MediaError::Forbidden(why) => {
            let mut e = ApiError::new(Code::MediaUrlForbidden, why);
            e.field = Some("file".into());
            e
        }
        MediaError::TooLarge(n) => {
            ApiError::new(Code::MediaTooLarge, format!("file is larger than the {n} byte limit"))
        }
        MediaError::Fetch(why) => ApiError::new(Code::MediaFetchFailed, format!("file could not be fetched: {why}")),
    })?;
    let plain = DownloadUtils::verify_and_decrypt(&blob.bytes, &key, kind)
        .map_err(|e| ApiError::new(Code::MediaDecryptFailed, format!("The media did not decrypt: {e}")))?;
    if let Some(want) = expected
        && Sha256::digest(&plain).as_slice() != want.as_slice()
    {
        return Err(ApiError::new(Code::MediaDecryptFailed, "The plaintext does not match fileSha256"));
    }
    let mime = req
        .mime_type
        .as_deref()
        .map(crate::media::base_mimetype)
        .filter(|m| !m.is_empty())
        .or_else(|| fetch::sniff(&plain).map(str::to_string))
        .unwrap_or_else(|| "application/octet-stream".into());
    if output == Output::File {
        let name = format!("decrypted.{}", misc_output::extension(&mime));
        return Ok(misc_output::file(plain, &mime, &name));
    }
    let r = misc_output::reference(&state, output, &plain, &mime).await?;
    let mut meta = json!({ "mimeType": mime, "size": plain.len(), "mode": output.mode(),
                           "mediaType": format!("{kind:?}").to_lowercase() });
    if let Some(exp) = r.expires_at {
        meta["expiresAt"] = exp.into();
    }
    Ok(Reply::ok("File decrypted", BinaryResult { data: r.data, meta }).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PollVoteRequest {
    /// The session that sent the poll (its secret and options are looked up).
    pub session_id: String,
    /// Base64 poll secret (32 bytes), for polls this session did not send.
    pub poll_enc_key: Option<String>,
    /// The poll's message id when `pollUpdateVote.pollCreationMessageKey.id` is absent.
    pub poll_msg_id: Option<String>,
    /// The poll's creator (default: the key's participant, else this session's account).
    pub poll_creator_jid: Option<String>,
    /// The voter (default: `pollUpdateVote.key.participant`, else `key.remoteJid`).
    pub voter_jid: Option<String>,
    /// `{ pollCreationMessageKey: {id, remoteJid, participant}, key: {participant, remoteJid},
    /// vote: {encPayload, encIv} (base64), senderTimestampMs }`, as in the `message_received`
    /// poll_vote payload.
    #[schema(value_type = Object)]
    pub poll_update_vote: Value,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PollVoteResult {
    #[schema(value_type = Object)]
    pub message_key: Value,
    pub poll_creator_jid: Option<String>,
    pub voter_jid: Option<String>,
    pub voted_option_indexes: Vec<usize>,
    pub voted_option_names: Vec<String>,
    /// Hex SHA-256 of each selected option (what the vote carries), for polls whose option
    /// names the gateway does not know.
    pub voted_option_hashes: Vec<String>,
    pub poll_title: Option<String>,
    pub selectable_options_count: Option<u32>,
    #[schema(value_type = Vec<Object>)]
    pub poll_options: Vec<Value>,
    pub timestamp_ms: Option<i64>,
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str().map(str::trim).filter(|s| !s.is_empty())
}

fn jid_field(field: &str, raw: &str) -> ApiResult<String> {
    raw.parse::<Jid>()
        .map(|j| j.to_non_ad_string())
        .map_err(|_| ApiError::field(field, format!("{raw:?} is not a JID")))
}

#[utoipa::path(post, path = "/api/v1/misc/whatsapp/poll-update-vote", tag = "Misc", operation_id = "postMiscWhatsappPollUpdateVote",
    summary = "Decrypt a poll vote", description = "Decrypts a poll vote (`pollUpdateVote`) with the poll's secret: the one this \
        session stored when it sent the poll, or `pollEncKey`. A vote that does not open answers 422 with code 3154; \
        an unknown poll without `pollEncKey` 404.",
    request_body = PollVoteRequest,
    responses((status = 200, description = "Voter and the chosen options", body = Envelope<PollVoteResult>), AdminErrors))]
async fn poll_update_vote(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiJson(req): ApiJson<PollVoteRequest>,
) -> ApiResult<Reply<PollVoteResult>> {
    let (row, _) = load(&state, &who, req.session_id.trim()).await?;
    let v = &req.poll_update_vote;
    if !v.is_object() {
        return Err(ApiError::field("pollUpdateVote", "must be an object"));
    }
    let poll_id = str_at(v, &["pollCreationMessageKey", "id"])
        .or(req.poll_msg_id.as_deref().map(str::trim).filter(|s| !s.is_empty()))
        .ok_or_else(|| ApiError::field("pollUpdateVote.pollCreationMessageKey.id", "is required (or pollMsgId)"))?
        .to_string();
    if poll_id.len() > 128 {
        return Err(ApiError::field("pollUpdateVote.pollCreationMessageKey.id", "is too long"));
    }
    let b64_vote = |name: &str| -> ApiResult<Vec<u8>> {
        let field = format!("pollUpdateVote.vote.{name}");
        let raw = str_at(v, &["vote", name]).ok_or_else(|| ApiError::field(&field, "is required"))?;
        if raw.len() > MAX_VOTE_B64 {
            return Err(ApiError::field(&field, "is too long"));
        }
        b64_field(&field, raw)
    };
    let (payload, iv) = (b64_vote("encPayload")?, b64_vote("encIv")?);
    let sent = poll::sent_poll(&state.db, &row.id, &poll_id).await?;
    let secret = match (&req.poll_enc_key, &sent) {
        (Some(k), _) => {
            let k = b64_field("pollEncKey", k)?;
            if k.len() != 32 {
                return Err(ApiError::field("pollEncKey", "must be 32 bytes"));
            }
            k
        }
        (None, Some(p)) => p.secret.clone(),
        (None, None) => return Err(ApiError::not_found("poll (this session did not send it; give pollEncKey)")),
    };
    let creator = match req.poll_creator_jid.as_deref().or(str_at(v, &["pollCreationMessageKey", "participant"])) {
        Some(j) => jid_field("pollCreatorJid", j)?,
        None => {
            let own = row
                .me
                .jid
                .as_deref()
                .ok_or_else(|| ApiError::field("pollCreatorJid", "is required: the session has no account yet"))?;
            jid_field("pollCreatorJid", own)?
        }
    };
    let voter_raw = req
        .voter_jid
        .as_deref()
        .or(str_at(v, &["key", "participant"]))
        .or(str_at(v, &["key", "remoteJid"]))
        .ok_or_else(|| ApiError::field("voterJid", "is required (or pollUpdateVote.key.participant)"))?;
    let voter = jid_field("voterJid", voter_raw)?;
    let hashes = poll::open_vote(&secret, &poll_id, &creator, &voter, &payload, &iv).map_err(|_| {
        ApiError::new(Code::PollVoteDecryptFailed, "The vote did not decrypt with this poll's secret and addressing")
    })?;
    let options = sent.as_ref().map(|p| p.options.clone()).unwrap_or_default();
    let chosen = poll::selected(&options, &hashes);
    let mut key = v.get("pollCreationMessageKey").cloned().unwrap_or_else(|| json!({}));
    key["id"] = json!(poll_id);
    Ok(Reply::ok(
        "Poll vote decrypted",
        PollVoteResult {
            message_key: key,
            poll_creator_jid: Some(creator),
            voter_jid: Some(voter),
            voted_option_indexes: chosen.iter().map(|(i, _)| *i).collect(),
            voted_option_names: chosen.into_iter().map(|(_, n)| n).collect(),
            voted_option_hashes: hashes.iter().map(hex::encode).collect(),
            poll_title: sent.as_ref().map(|p| p.question.clone()),
            selectable_options_count: sent.as_ref().map(|p| p.selectable),
            poll_options: options.iter().enumerate().map(|(i, n)| json!({ "index": i, "name": n })).collect(),
            timestamp_ms: v.get("senderTimestampMs").and_then(Value::as_i64),
        },
    ))
}
