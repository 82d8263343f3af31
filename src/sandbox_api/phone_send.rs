//! `POST /api/v1/sandbox/contacts/{phone}/send` with `device: 0`: the account's virtual
//! phone sends, not a contact's client. Any account qualifies (a phone that linked a
//! session is not a contact), and the phone sends only what a person types: text or an
//! image to a phone number, text to a group.

use super::routes::{ContactSendRequest, Sent, check_text, decode_image, is_group_jid};
use super::{SandboxHost, failed};
use crate::http::envelope::Reply;
use crate::http::error::{ApiError, ApiResult};
use crate::http::routes::sessions::normalize_phone;

pub(super) async fn send(
    host: &SandboxHost,
    phone: &str,
    device: u16,
    req: ContactSendRequest,
) -> ApiResult<Reply<Sent>> {
    if device != 0 {
        return Err(ApiError::field("device", "must be 0 (the virtual phone); companions send as contacts"));
    }
    let group = is_group_jid(&req.to);
    let to = if group {
        req.to.clone()
    } else {
        normalize_phone(&req.to).map_err(|_| ApiError::field("to", "must be a phone number or <id>@g.us"))?
    };
    if group && req.image.is_some() {
        return Err(ApiError::field("to", "a group takes text only"));
    }
    let other = req.reaction.is_some()
        || req.edit.is_some()
        || req.revoke.is_some()
        || req.read.is_some()
        || req.typing == Some(true);
    if other || req.text.is_some() == req.image.is_some() {
        return Err(ApiError::field("body", "device 0 sends exactly one of text or image"));
    }
    let sb = &host.sandbox;
    if sb.lid_of(phone).is_none() {
        return Err(ApiError::not_found("account"));
    }
    if !group && (to == phone || sb.lid_of(&to).is_none()) {
        return Err(ApiError::field("to", "must be another account of this sandbox"));
    }
    let id = if let Some(img) = &req.image {
        let (bytes, mimetype) = decode_image(img)?;
        sb.phone_send_image(phone, &to, bytes, &mimetype, img.caption.as_deref()).await.map_err(failed)?
    } else {
        let text = req.text.as_deref().unwrap_or_default();
        check_text("text", text)?;
        if group {
            // Its failures are the group's: unknown, or not one the account may write to.
            sb.phone_send_group_text(phone, &to, text).await.map_err(|e| ApiError::field("to", e))?
        } else {
            sb.phone_send_text(phone, &to, text).await.map_err(failed)?
        }
    };
    Ok(Reply::ok("Message sent", Sent { message_id: Some(id) }))
}
