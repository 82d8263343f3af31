//! `/api/v1/messages/send/*` (the reference spec's fields and envelope) and the status of
//! a sent message. Handlers validate and normalize; the queue (crate::outbound) stores,
//! paces and sends.

pub mod actions;
pub mod files;
pub mod forward;
pub mod interactive;
pub mod kinds;
pub mod media;
pub mod queue;
pub mod send_body;
pub mod upload;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::Principal;
use crate::http::auth::Tenant;
use crate::http::envelope::{Envelope, Reply};
use crate::http::error::{ApiError, ApiResult, Code};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::routes::sessions::flags::SessionFlags;
use crate::http::routes::sessions::views::SessionQuery;
use crate::http::session;
use crate::outbound::content::{Common, Content};
use crate::outbound::recipient::normalize_all;
use crate::outbound::store::MessageRecord;
use crate::outbound::{Enqueued, SendRequest};
use crate::sessions::live::Session;
use crate::store::StoreError;
use crate::store::sessions::Scope;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(send_text))
        .routes(routes!(get_message))
        .merge(crate::http::routes::messages::kinds::router())
        .merge(crate::http::routes::messages::interactive::router())
        .merge(crate::http::routes::messages::forward::router())
        .merge(crate::http::routes::messages::media::router())
        .merge(crate::http::routes::messages::files::router())
        .merge(crate::http::routes::messages::queue::router())
}

const MAX_IDEMPOTENCY_KEY: usize = 200;

crate::error_set!(
    /// Errors of the send routes.
    pub SendErrors = [SessionNotFound, SessionNotLinked, IdempotencyKeyReused, MediaTooLarge, MediaUnsupported, MediaUrlForbidden, MediaFetchFailed, MediaConversionFailed, MediaConversionTimeout, MediaConverterMissing, ForwardUnsupported, MessageNotFound, OutboundQueueFull, SpamCooldown, QuotaExceeded, QueuedBytesQuota]
);

/// `to`: one recipient, a comma-separated list, or an array.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Recipients {
    One(String),
    Many(Vec<String>),
}

impl Recipients {
    fn items(&self) -> Vec<String> {
        match self {
            Recipients::One(s) => vec![s.clone()],
            Recipients::Many(v) => v.clone(),
        }
    }
}

/// Fields every send route takes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Destination {
    /// The session that sends.
    pub session_id: String,
    /// Phone numbers (normalized; a leading 0 takes WAREST_DEFAULT_COUNTRY_CODE), user JIDs,
    /// LIDs or group JIDs; comma-separated or an array, at most 50.
    #[schema(schema_with = crate::http::wire::chat_list)]
    pub to: Recipients,
    /// Quote this message (id of a message in the same chat).
    #[serde(default)]
    pub reply_message_id: Option<String>,
    /// Mark the message as forwarded.
    #[serde(default)]
    pub is_forwarded: bool,
    /// Human-like pacing for this send: mark the chat read, "typing…" for a time that
    /// grows with the text, pause, then send. Absent: the session's `humanPacing` flag.
    #[serde(default)]
    pub presence: Option<bool>,
    /// Same as the `Idempotency-Key` header (the header wins).
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendTextBody {
    #[serde(flatten)]
    pub dest: Destination,
    /// The text (up to 65,536 characters).
    #[schema(pattern = "\\S", max_length = 65536)]
    pub message: String,
    /// JIDs or phone numbers to mention.
    #[serde(default)]
    #[schema(schema_with = crate::http::wire::mentions)]
    pub mentions: Vec<String>,
    /// Show a preview of the first link: the page is fetched (size- and time-limited,
    /// behind the SSRF guard) for its og:title, og:description and og:image. When the
    /// fetch fails the text goes out without a preview.
    #[serde(default)]
    pub link_preview: bool,
}

/// Per-recipient answer of a send route.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendResult {
    /// The session owner's phone.
    pub phone: Option<String>,
    /// Recipient without its server.
    pub to: String,
    pub to_jid: String,
    /// The WhatsApp message id (fixed when accepted; retries reuse it).
    pub message_id: String,
    /// `<type> success`, as in the original.
    pub status: String,
    /// Unix seconds when it was accepted.
    pub timestamp: i64,
    /// Where the message is: `queued` on acceptance; `GET /api/v1/messages/{id}` follows it.
    pub queue_status: String,
    /// True when this answer is the stored one of an earlier request with the same Idempotency-Key.
    pub replayed: bool,
    #[schema(value_type = Object)]
    pub advanced_info: serde_json::Value,
}

/// The validated sender and recipients of a send.
pub(super) struct Prepared {
    request: SendRequest,
    phone: Option<String>,
}

pub(super) async fn prepare(
    state: &AppState,
    who: &Principal,
    headers: &HeaderMap,
    dest: &Destination,
    mut content: Content,
) -> ApiResult<Prepared> {
    let session_id = SessionQuery { session_id: Some(dest.session_id.clone()), id: None, session: None }.required()?;
    let Session { row, .. } = session::find(state, who, &session_id).await?;
    let flags: SessionFlags = serde_json::from_value(row.flags.clone()).unwrap_or_default();
    content.common_mut().pacing = dest.presence.unwrap_or(flags.human_pacing);
    let recipients = normalize_all(&dest.to.items(), state.config.outbound.default_country_code.as_deref())
        .map_err(|(field, why)| ApiError::field(field, why))?;
    let Some(me) = row.me.jid.clone() else {
        return Err(ApiError::new(Code::SessionNotLinked, "the session is not linked to a WhatsApp account yet"));
    };
    let idempotency_key = idempotency_key(headers, dest.idempotency_key.as_deref())?;
    let phone = me.split(['@', ':']).next().map(str::to_string);
    Ok(Prepared {
        request: SendRequest {
            session_id,
            registry: row.registry,
            me_jid: Some(me),
            recipients,
            content,
            idempotency_key,
        },
        phone,
    })
}

impl Prepared {
    /// The same sender and recipients with other content: one job per file of an upload.
    /// An idempotency key gets the file's index, so each file keeps a key of its own.
    pub(super) fn with_content(&self, content: Content, part: usize) -> Prepared {
        let mut request = self.request.clone();
        request.content = content;
        if part > 0 {
            request.idempotency_key = request.idempotency_key.map(|k| format!("{k}#{part}"));
        }
        Prepared { request, phone: self.phone.clone() }
    }

    /// The session owner's phone.
    pub(super) fn phone(&self) -> Option<String> {
        self.phone.clone()
    }
}

/// Queues several prepared sends of one session together: all or none.
pub(super) async fn enqueue_all(state: &AppState, prepared: Vec<Prepared>) -> ApiResult<Vec<Enqueued>> {
    state.outbound.enqueue_all(prepared.into_iter().map(|p| p.request).collect()).await.map_err(ApiError::from)
}

fn idempotency_key(headers: &HeaderMap, body: Option<&str>) -> ApiResult<Option<String>> {
    let (field, raw) = match headers.get("idempotency-key") {
        Some(v) => {
            ("Idempotency-Key", v.to_str().map_err(|_| ApiError::field("Idempotency-Key", "must be printable ASCII"))?)
        }
        None => match body {
            Some(b) => ("idempotencyKey", b),
            None => return Ok(None),
        },
    };
    let key = raw.trim();
    if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::field(field, format!("must be 1-{MAX_IDEMPOTENCY_KEY} printable ASCII characters")));
    }
    Ok(Some(key.to_string()))
}

/// A builder's `(field, problem)` as the 400 naming the field.
pub(super) fn invalid((field, why): crate::outbound::build::Invalid) -> ApiError {
    ApiError::field(field, why)
}

/// The shared options of a send; `pacing` is settled in [`prepare`], which knows the session.
pub(super) fn common(dest: &Destination, mentions: Vec<String>) -> Common {
    Common {
        reply_to: dest.reply_message_id.clone().filter(|s| !s.is_empty()),
        forwarded: dest.is_forwarded,
        mentions,
        pacing: false,
    }
}

/// Queues the send and renders the per-recipient answer.
pub(super) async fn submit(
    state: &AppState,
    prepared: Prepared,
    done: &str,
    advanced: serde_json::Value,
) -> ApiResult<Response> {
    let Prepared { request, phone } = prepared;
    let Enqueued { messages, replayed } = state.outbound.enqueue(request).await.map_err(ApiError::from)?;
    let results = messages
        .into_iter()
        .map(|m| SendResult {
            phone: phone.clone(),
            status: format!("{} success", m.kind),
            to: m.to,
            to_jid: m.to_jid,
            message_id: m.message_id,
            timestamp: m.timestamp,
            queue_status: "queued".into(),
            replayed,
            advanced_info: advanced.clone(),
        })
        .collect();
    let body = Envelope { status: true, code: Code::Ok.number(), message: done.to_string(), results: Some(results) };
    Ok((Code::Ok.status(), axum::Json(body)).into_response())
}

#[utoipa::path(post, path = "/api/v1/messages/send/text", tag = "Messages", operation_id = "postMessagesSendText",
    summary = "Send a text message",
    description = "Queued durably before the answer: the message id in the answer is the one WhatsApp will show, also \
                   after retries or a restart. Send `Idempotency-Key` (or `idempotencyKey`) to make a retry of this call \
                   return the first answer instead of sending twice.",
    params(("Idempotency-Key" = Option<String>, Header, description = "Same key within 24 h: the first answer, never a second send")),
    request_body = SendTextBody,
    responses((status = 200, description = "Queued, one result per recipient", body = Envelope<SendResult>), SendErrors))]
async fn send_text(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SendTextBody>,
) -> ApiResult<Response> {
    // Checked before the mentions so an empty text is the error reported.
    crate::outbound::build::text("message", &body.message, Common::default()).map_err(invalid)?;
    let country = state.config.outbound.default_country_code.clone();
    let mut mentions = Vec::with_capacity(body.mentions.len());
    for (i, m) in body.mentions.iter().enumerate() {
        let r = crate::outbound::recipient::normalize(m, country.as_deref())
            .map_err(|why| ApiError::field(format!("mentions[{i}]"), why))?;
        mentions.push(r.jid);
    }
    if mentions.len() > 256 {
        return Err(ApiError::field("mentions", "at most 256 mentions"));
    }
    let content =
        Content::Text { text: body.message.clone(), preview: None, common: common(&body.dest, mentions.clone()) };
    let mut prepared = prepare(&state, &who, &headers, &body.dest, content).await?;
    // Fetched only once the request is known to be good, so a bad one costs no fetch.
    let preview = match body.link_preview {
        true => crate::outbound::preview::build(&body.message, &state.config.outbound.media).await,
        false => None,
    };
    let advanced = serde_json::json!({
        "isForwarded": body.dest.is_forwarded,
        "quotedMessageId": body.dest.reply_message_id,
        "mentions": mentions,
        "linkPreview": preview.as_ref().map(|p| serde_json::json!({ "url": p.url, "title": p.title })),
    });
    if let Content::Text { preview: slot, .. } = &mut prepared.request.content {
        *slot = preview;
    }
    submit(&state, prepared, "Text message queued", advanced).await
}

/// The status record of a sent message.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageStatusView {
    pub message_id: String,
    pub session_id: String,
    pub to_jid: String,
    /// text, image, document, …
    #[serde(rename = "type")]
    pub kind: String,
    /// queued, sending, sent, delivered, read, played or failed.
    pub status: String,
    pub attempts: i64,
    /// Why it failed (or why the last attempt failed, while retries remain).
    pub error: Option<String>,
    /// Unix milliseconds.
    pub created_at: i64,
    pub updated_at: i64,
    pub sent_at: Option<i64>,
    pub delivered_at: Option<i64>,
    pub read_at: Option<i64>,
    pub played_at: Option<i64>,
}

impl From<MessageRecord> for MessageStatusView {
    fn from(r: MessageRecord) -> Self {
        MessageStatusView {
            message_id: r.message_id,
            session_id: r.session_id,
            to_jid: r.to_jid,
            kind: r.kind,
            status: r.status,
            attempts: r.attempts,
            error: r.last_error,
            created_at: r.created_at,
            updated_at: r.updated_at,
            sent_at: r.sent_at,
            delivered_at: r.delivered_at,
            read_at: r.read_at,
            played_at: r.played_at,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct MessageQuery {
    /// Narrow to one session (message ids are unique per session).
    session_id: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/messages/{messageId}", tag = "Messages", operation_id = "getMessageStatus",
    summary = "Status of a sent message",
    description = "queued → sending → sent (server took it) → delivered → read/played, or failed with the reason.",
    params(("messageId" = String, Path), MessageQuery),
    responses((status = 200, description = "The message's status", body = Envelope<MessageStatusView>), SendErrors))]
async fn get_message(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiPath(message_id): ApiPath<String>,
    ApiQuery(q): ApiQuery<MessageQuery>,
) -> ApiResult<Reply<MessageStatusView>> {
    if message_id.is_empty() || message_id.len() > 128 {
        return Err(ApiError::field("messageId", "must be 1-128 characters"));
    }
    let rec =
        state.db.outbound_message(Scope::of(&who), &message_id, q.session_id.as_deref()).await.map_err(
            |e| match e {
                StoreError::NotFound => {
                    ApiError::new(Code::MessageNotFound, "no message with this id was sent by your sessions")
                }
                e => e.into(),
            },
        )?;
    Ok(Reply::ok("Message status fetched", rec.into()))
}
