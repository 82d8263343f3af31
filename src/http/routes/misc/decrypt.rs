//! `/api/v1/misc/whatsapp/*` helpers of the reference spec: decrypting a WhatsApp media
//! blob from its mediaKey (answered as a data URL, a signed link or the file itself, see
//! `misc_output`), and decrypting a poll vote from its fields. Stateless except that a
//! vote on a poll this session sent finds the poll's secret and options itself.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::auth::Tenant;
use crate::http::docs::{AdminErrors, GeneratedErrors};
use crate::http::envelope::{Envelope, Reply};
use crate::http::error::{ApiError, ApiResult, Code};
use crate::http::extract::ApiJson;
use crate::http::routes::misc::output::{self as misc_output, Output};
use crate::http::session;
use crate::inbound::vote::{self, VoteRequest};
use crate::media::decrypt::Decryption;
use crate::media::fetch::{self, MediaError};
use crate::sessions::live::Session;

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
    #[schema(schema_with = crate::http::wire::media_source)]
    pub file: String,
    /// The media's mimetype; also picks the key type when `mediaType` is absent.
    pub mime_type: Option<String>,
    /// Base64 SHA-256 of the plaintext; checked when given.
    pub file_sha256: Option<String>,
    /// `base64` (default): the plaintext as a data URL; `url`: a signed link to
    /// `GET /api/v1/media/{id}` that expires after WAREST_MEDIA_URL_TTL; `file`: the plaintext
    /// itself as the response body, with its Content-Type and a download name.
    #[schema(pattern = "^(?:base64|url|file)$")]
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

#[utoipa::path(post, path = "/api/v1/misc/whatsapp/file-decrypt", tag = "Misc", operation_id = "postMiscWhatsappFileDecrypt",
    summary = "Decrypt WhatsApp media", description = "Decrypts a WhatsApp media blob (AES-256-CBC + HMAC, keys from the \
        mediaKey by HKDF with the media type's label). Size-capped like media sends (WAREST_MEDIA_MAX_MB). \
        The plaintext is never larger than the blob, so that cap bounds the output too. \
        A key, type or blob that does not verify answers 422 with code 3153.",
    request_body = FileDecryptRequest,
    responses((status = 200, description = "The plaintext as a data URL or a signed link, or with output=file the plaintext itself",
        content((Envelope<BinaryResult> = "application/json"), (Vec<u8> = "application/octet-stream"))), AdminErrors, GeneratedErrors))]
async fn file_decrypt(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiJson(req): ApiJson<FileDecryptRequest>,
) -> ApiResult<Response> {
    let output = Output::parse(req.output.as_deref())?;
    let d = Decryption::parse(
        &req.media_key,
        req.mime_type.as_deref(),
        req.media_type.as_deref(),
        req.file_sha256.as_deref(),
    )?;
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
    let plain = d.open(&blob.bytes)?;
    let mime = d
        .mimetype
        .clone()
        .or_else(|| fetch::sniff(&plain).map(str::to_string))
        .unwrap_or_else(|| "application/octet-stream".into());
    if output == Output::File {
        let name = format!("decrypted.{}", misc_output::extension(&mime));
        return Ok(misc_output::file(plain, &mime, &name));
    }
    let r = misc_output::reference(&state, &who, output, &plain, &mime).await?;
    let mut meta = json!({ "mimeType": mime, "size": plain.len(), "mode": output.mode(),
                           "mediaType": d.kind() });
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
    let Session { row, .. } = session::find(&state, &who, req.session_id.trim()).await?;
    let request = VoteRequest {
        poll_update_vote: &req.poll_update_vote,
        poll_enc_key: req.poll_enc_key.as_deref(),
        poll_msg_id: req.poll_msg_id.as_deref(),
        poll_creator_jid: req.poll_creator_jid.as_deref(),
        voter_jid: req.voter_jid.as_deref(),
    };
    let vote = vote::open(&state.db, &row, request).await?;
    let options = vote.poll.as_ref().map(|p| p.options.clone()).unwrap_or_default();
    Ok(Reply::ok(
        "Poll vote decrypted",
        PollVoteResult {
            message_key: vote.message_key,
            poll_creator_jid: Some(vote.creator),
            voter_jid: Some(vote.voter),
            voted_option_indexes: vote.chosen.iter().map(|(i, _)| *i).collect(),
            voted_option_names: vote.chosen.into_iter().map(|(_, n)| n).collect(),
            voted_option_hashes: vote.hashes,
            poll_title: vote.poll.as_ref().map(|p| p.question.clone()),
            selectable_options_count: vote.poll.as_ref().map(|p| p.selectable),
            poll_options: options.iter().enumerate().map(|(i, n)| json!({ "index": i, "name": n })).collect(),
            timestamp_ms: vote.timestamp_ms,
        },
    ))
}
