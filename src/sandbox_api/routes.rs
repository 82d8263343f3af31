//! `/api/v1/sandbox/*`: contacts, linking sessions with a virtual phone, making contacts
//! send, and reading what they received. Faults live in `faults.rs`.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use warest_sandbox::Behaviour;

use super::{ContactInfo, LINK_TIMEOUT, SandboxHost, failed, host};
use crate::app::AppState;
use crate::http::auth::Tenant;
use crate::http::docs::AdminErrors;
use crate::http::envelope::{Envelope, Page, Reply};
use crate::http::error::{ApiError, ApiResult, Code};
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::routes::sessions::normalize_phone;
use crate::http::routes::sessions::views::{SessionView, wait_for};
use crate::http::session;
use crate::sessions::live::Session;
use crate::sessions::status::Status;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_contacts, create_contact))
        .routes(routes!(link_session))
        .routes(routes!(link_qr))
        .routes(routes!(super::faults::inject_fault))
        .routes(routes!(contact_send))
        .routes(routes!(contact_inbox))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateContactRequest {
    /// Digits with the country code.
    #[schema(example = "15550000002")]
    phone: String,
    push_name: Option<String>,
    /// `echo` (default) or `silent`.
    behaviour: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/sandbox/contacts", tag = "Sandbox", operation_id = "sandboxCreateContact",
    summary = "Create a virtual contact", description = "A WhatsApp account whose phone is a real client run by the sandbox. It is paired when the answer comes.",
    request_body = CreateContactRequest,
    responses((status = 201, description = "Created", body = Envelope<ContactInfo>), AdminErrors))]
async fn create_contact(
    State(state): State<AppState>,
    _t: Tenant,
    ApiJson(req): ApiJson<CreateContactRequest>,
) -> ApiResult<Reply<ContactInfo>> {
    let host = host(&state)?;
    let phone = normalize_phone(&req.phone)?;
    let behaviour = match req.behaviour.as_deref().unwrap_or("echo") {
        "echo" => Behaviour::Echo,
        "silent" => Behaviour::Silent,
        _ => return Err(ApiError::field("behaviour", "must be echo or silent")),
    };
    if req.push_name.as_ref().is_some_and(|n| n.chars().count() > 64) {
        return Err(ApiError::field("pushName", "must be at most 64 characters"));
    }
    if host.has_contact(&phone) {
        return Err(ApiError::new(Code::Conflict, format!("contact {phone} already exists")));
    }
    let info = host.create_contact(&phone, behaviour, req.push_name).await.map_err(failed)?;
    Ok(Reply::created("Contact created", info))
}

#[utoipa::path(get, path = "/api/v1/sandbox/contacts", tag = "Sandbox", operation_id = "sandboxListContacts",
    summary = "List virtual contacts",
    responses((status = 200, description = "Contacts", body = Envelope<Page<ContactInfo>>), AdminErrors))]
async fn list_contacts(State(state): State<AppState>, _t: Tenant) -> ApiResult<Reply<Page<ContactInfo>>> {
    let items = host(&state)?.contacts();
    Ok(Reply::ok("Contacts fetched", Page::all(items)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkSessionRequest {
    /// The number of the virtual phone that links the session (its account is created if new).
    #[schema(example = "15550000100")]
    phone: String,
    /// `qr` (default): the phone scans the session's current QR. `code`: the phone enters
    /// the session's pairing code (one is requested for `phone` if the session shows none).
    method: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/sandbox/sessions/{sessionId}/link", tag = "Sandbox", operation_id = "sandboxLinkSession",
    summary = "Link a session with a virtual phone",
    description = "Starts the session if needed, lets the virtual phone scan its current QR (`method: qr`) or enter its \
                   pairing code (`method: code`), and waits until it is WORKING.",
    params(("sessionId" = String, Path)), request_body = LinkSessionRequest,
    responses((status = 200, description = "Linked", body = Envelope<SessionView>), AdminErrors))]
async fn link_session(
    State(state): State<AppState>,
    Tenant(who): Tenant,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<LinkSessionRequest>,
) -> ApiResult<Reply<SessionView>> {
    let host = host(&state)?;
    let phone = normalize_phone(&req.phone)?;
    let by_code = match req.method.as_deref().unwrap_or("qr") {
        "qr" => false,
        "code" => true,
        _ => return Err(ApiError::field("method", "must be qr or code")),
    };
    let Session { row, handle } = session::find(&state, &who, &id).await?;
    if handle.snapshot().status == Status::Working {
        return Ok(Reply::with_code(
            Code::SessionAlreadyOpen,
            "Session already open",
            SessionView::of(&row, &handle.snapshot()),
        ));
    }
    if by_code {
        enter_pairing_code(&state, &host, &handle, &phone).await?;
    } else {
        if !handle.snapshot().status.is_running() {
            handle.start(None).await;
        }
        let snap =
            wait_for(&handle, state.config.session_qr_wait, |s| s.qr.is_some() || s.status == Status::Failed).await;
        let qr = snap.qr.ok_or_else(|| {
            ApiError::new(Code::SessionFailed, format!("the session shows no QR (status {})", snap.status.as_str()))
        })?;
        host.sandbox.link(&qr.code, &phone).map_err(failed)?;
    }
    let snap = wait_for(&handle, LINK_TIMEOUT, |s| matches!(s.status, Status::Working | Status::Failed)).await;
    let view = SessionView::of(&state.db.session(&id).await?, &snap);
    match snap.status {
        Status::Working => Ok(Reply::ok("Session linked", view)),
        _ => Err(ApiError::new(
            Code::SessionFailed,
            format!("linking did not complete (status {})", snap.status.as_str()),
        )),
    }
}

/// The virtual phone enters the session's pairing code. A session without one (started
/// for QR, or stopped) is restarted to ask for a code for `phone`, as
/// `/session/create/pair-code` does.
async fn enter_pairing_code(
    state: &AppState,
    host: &SandboxHost,
    handle: &crate::sessions::actor::SessionHandle,
    phone: &str,
) -> ApiResult<()> {
    if handle.snapshot().pairing_code.is_none() {
        if handle.snapshot().status.is_running() {
            handle.stop().await;
        }
        handle.start(Some(phone.to_string())).await;
    }
    let snap = wait_for(handle, state.config.session_qr_wait, |s| {
        s.pairing_code.is_some() || matches!(s.status, Status::Working | Status::Failed | Status::Stopped)
    })
    .await;
    let code = snap.pairing_code.ok_or_else(|| {
        ApiError::new(
            Code::SessionFailed,
            format!("the session shows no pairing code (status {})", snap.status.as_str()),
        )
    })?;
    host.sandbox.link_with_code(phone, &code).await.map_err(failed)?;
    Ok(())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkQrRequest {
    /// A QR payload shown by any client of this sandbox.
    qr: String,
    phone: String,
}

#[derive(Serialize, ToSchema)]
pub struct Linked {
    /// The linked device's JID.
    jid: String,
}

#[utoipa::path(post, path = "/api/v1/sandbox/link", tag = "Sandbox", operation_id = "sandboxLinkQr",
    summary = "Scan a QR with a virtual phone", description = "Links whichever device shows this QR to the phone's account.",
    request_body = LinkQrRequest,
    responses((status = 200, description = "Linked", body = Envelope<Linked>), AdminErrors))]
async fn link_qr(
    State(state): State<AppState>,
    _t: Tenant,
    ApiJson(req): ApiJson<LinkQrRequest>,
) -> ApiResult<Reply<Linked>> {
    let host = host(&state)?;
    let phone = normalize_phone(&req.phone)?;
    if req.qr.is_empty() || req.qr.len() > 1024 {
        return Err(ApiError::field("qr", "must be a QR payload of at most 1024 characters"));
    }
    let jid = host.sandbox.link(&req.qr, &phone).map_err(failed)?;
    Ok(Reply::ok("Device linked", Linked { jid: jid.to_string() }))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContactSendRequest {
    /// The other party's phone number, or (for text) a group the contact is in (`<id>@g.us`).
    pub(super) to: String,
    /// Exactly one of the following. Text to send:
    pub(super) text: Option<String>,
    /// A reaction to a message the contact received from `to`.
    pub(super) reaction: Option<ReactionRequest>,
    /// New text for a message the contact sent to `to`.
    pub(super) edit: Option<EditRequest>,
    /// Delete for everyone a message the contact sent to `to`.
    pub(super) revoke: Option<MessageRef>,
    /// Read receipts for messages the contact received from `to`.
    pub(super) read: Option<ReadRequest>,
    /// `true`: show "typing…" in the chat with `to`.
    pub(super) typing: Option<bool>,
    /// An image, uploaded to the sandbox's media host and sent encrypted.
    pub(super) image: Option<ImageRequest>,
    /// `0`: the account's virtual phone (device 0) sends instead of the contact's client,
    /// so `phone` may be any account of the sandbox, such as the phone a session is linked
    /// to (that session then sees the message as its own, `fromMe`). Text or image to a
    /// phone number, or text to a group the account is in.
    #[schema(example = 0)]
    pub(super) device: Option<u16>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageRequest {
    /// The image bytes, base64 (at most 5 MiB decoded).
    pub(super) base64: String,
    /// Default `image/jpeg`.
    pub(super) mimetype: Option<String>,
    pub(super) caption: Option<String>,
}

/// Largest image a contact may send through the API.
const MAX_IMAGE_BYTES: usize = 5 * 1024 * 1024;

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EditRequest {
    message_id: String,
    text: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MessageRef {
    message_id: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReadRequest {
    /// At most 100 ids.
    message_ids: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReactionRequest {
    message_id: String,
    /// An emoji; empty removes the reaction.
    emoji: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Sent {
    /// The id of the message sent (text, reaction, edit); null for revoke, read and typing.
    pub(super) message_id: Option<String>,
}

/// Whether `to` names a group (`<digits and dashes>@g.us`).
pub(super) fn is_group_jid(to: &str) -> bool {
    to.strip_suffix("@g.us")
        .is_some_and(|id| !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_digit() || b == b'-'))
}

/// The image's bytes and type, checked.
pub(super) fn decode_image(img: &ImageRequest) -> ApiResult<(Vec<u8>, String)> {
    use base64::Engine;
    if img.base64.len() > MAX_IMAGE_BYTES / 3 * 4 + 4 {
        return Err(ApiError::field("image.base64", "must decode to at most 5 MiB"));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(img.base64.trim())
        .map_err(|_| ApiError::field("image.base64", "is not valid base64"))?;
    if bytes.is_empty() {
        return Err(ApiError::field("image.base64", "must not be empty"));
    }
    let mimetype = img.mimetype.clone().unwrap_or_else(|| "image/jpeg".into());
    if !mimetype.starts_with("image/") || mimetype.len() > 64 {
        return Err(ApiError::field("image.mimetype", "must be an image/* type"));
    }
    if let Some(c) = &img.caption {
        check_text("image.caption", c)?;
    }
    Ok((bytes, mimetype))
}

pub(super) fn check_text(field: &str, text: &str) -> ApiResult<()> {
    if text.is_empty() || text.chars().count() > 65_536 {
        return Err(ApiError::field(field, "must be 1-65536 characters"));
    }
    Ok(())
}

#[utoipa::path(post, path = "/api/v1/sandbox/contacts/{phone}/send", tag = "Sandbox", operation_id = "sandboxContactSend",
    summary = "Make a contact act", description = "Send text or an image, react, edit or revoke its own message, send read receipts, \
                   or show typing — end-to-end encrypted like any WhatsApp traffic. With `device: 0` the account's virtual \
                   phone sends the text or image instead (any account, not only contacts): its linked sessions get it as \
                   their own message (`fromMe`).",
    params(("phone" = String, Path)), request_body = ContactSendRequest,
    responses((status = 200, description = "Sent", body = Envelope<Sent>), AdminErrors))]
async fn contact_send(
    State(state): State<AppState>,
    _t: Tenant,
    ApiPath(phone): ApiPath<String>,
    ApiJson(req): ApiJson<ContactSendRequest>,
) -> ApiResult<Reply<Sent>> {
    let host = host(&state)?;
    let phone = normalize_phone(&phone)?;
    if let Some(device) = req.device {
        return super::phone_send::send(&host, &phone, device, req).await;
    }
    if !host.has_contact(&phone) {
        return Err(ApiError::not_found("contact"));
    }
    let group = is_group_jid(&req.to);
    let to = if group {
        if req.text.is_none() {
            return Err(ApiError::field("to", "a group takes text only"));
        }
        req.to.clone()
    } else {
        normalize_phone(&req.to).map_err(|_| ApiError::field("to", "must be a phone number or <id>@g.us"))?
    };
    let given = [
        req.text.is_some(),
        req.reaction.is_some(),
        req.edit.is_some(),
        req.revoke.is_some(),
        req.read.is_some(),
        req.typing == Some(true),
        req.image.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(ApiError::field("body", "give exactly one of text, image, reaction, edit, revoke, read or typing"));
    }
    let sb = &host.sandbox;
    let message_id = if let Some(img) = req.image {
        let (bytes, mimetype) = decode_image(&img)?;
        Some(sb.contact_send_image(&phone, &to, bytes, &mimetype, img.caption.as_deref()).await.map_err(failed)?)
    } else if let Some(text) = req.text {
        check_text("text", &text)?;
        Some(sb.contact_send(&phone, &to, &text).await.map_err(failed)?)
    } else if let Some(r) = req.reaction {
        Some(sb.contact_react(&phone, &to, &r.message_id, &r.emoji).await.map_err(failed)?)
    } else if let Some(e) = req.edit {
        check_text("edit.text", &e.text)?;
        Some(sb.contact_edit(&phone, &to, &e.message_id, &e.text).await.map_err(failed)?)
    } else if let Some(r) = req.revoke {
        sb.contact_revoke(&phone, &to, &r.message_id).await.map_err(failed)?;
        None
    } else if let Some(r) = req.read {
        if r.message_ids.is_empty() || r.message_ids.len() > 100 {
            return Err(ApiError::field("read.messageIds", "must hold 1-100 ids"));
        }
        let ids: Vec<&str> = r.message_ids.iter().map(String::as_str).collect();
        sb.contact_read(&phone, &to, &ids).await.map_err(failed)?;
        None
    } else {
        sb.contact_typing(&phone, &to).await.map_err(failed)?;
        None
    };
    Ok(Reply::ok("Message sent", Sent { message_id }))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InboxItem {
    id: String,
    from: String,
    chat: String,
    text: Option<String>,
    /// `{messageId, emoji}` for reactions.
    #[schema(value_type = Option<Object>)]
    reaction: Option<serde_json::Value>,
    /// `{kind, mimetype, caption, size, sha256}` of an attachment the contact decrypted.
    #[schema(value_type = Option<Object>)]
    media: Option<serde_json::Value>,
}

#[utoipa::path(get, path = "/api/v1/sandbox/contacts/{phone}/inbox", tag = "Sandbox", operation_id = "sandboxContactInbox",
    summary = "What a contact received", description = "Decrypted messages, oldest first.",
    params(("phone" = String, Path)),
    responses((status = 200, description = "Inbox", body = Envelope<Page<InboxItem>>), AdminErrors))]
async fn contact_inbox(
    State(state): State<AppState>,
    _t: Tenant,
    ApiPath(phone): ApiPath<String>,
) -> ApiResult<Reply<Page<InboxItem>>> {
    let host = host(&state)?;
    let phone = normalize_phone(&phone)?;
    if !host.has_contact(&phone) {
        return Err(ApiError::not_found("contact"));
    }
    let items: Vec<InboxItem> = host
        .sandbox
        .inbox(&phone)
        .map_err(failed)?
        .into_iter()
        .map(|e| InboxItem {
            id: e.id,
            from: e.from,
            chat: e.chat.to_string(),
            text: e.text,
            reaction: e.reaction.map(|(id, emoji)| serde_json::json!({ "messageId": id, "emoji": emoji })),
            media: e.media.map(|m| {
                use sha2::Digest;
                serde_json::json!({
                    "kind": m.kind,
                    "mimetype": m.mimetype,
                    "caption": m.caption,
                    "size": m.bytes.len(),
                    "sha256": hex::encode(sha2::Sha256::digest(&m.bytes)),
                })
            }),
        })
        .collect();
    Ok(Reply::ok("Inbox fetched", Page::all(items)))
}
