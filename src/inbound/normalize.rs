//! whatsapp-rust events → the WAREST event catalog (seed 000). Pure: no I/O, so each
//! content type is a plain function of the decrypted message and its info.
//!
//! Every payload names the chat and sender by phone JID and by LID where known
//! (`senderJid`/`senderLid`, `chatId`/`chatLid`) and says whether it came from the offline
//! backlog (`fromOffline`).
//!
//! Message events also carry the fields the original WAREST's implementation sent and
//! its users' receivers parse (`docs/webhooks.md`): `text` (what the message says),
//! `sender` as an object (`chatId`, `fromMe`, `isGroup`, `authorJid`) and the message's
//! WhatsApp key in `message.key` (`remoteJid`, `id`, `fromMe`, `participant`), which a
//! receiver hands back to react to, quote, edit or read that message.

use serde_json::{Value, json};
use wa::message::protocol_message::Type as ProtocolType;
use whatsapp_rust::Jid;
use whatsapp_rust::wacore::proto_helpers::MessageExt;
use whatsapp_rust::wacore::types::message::{MessageInfo, MessageSource};
use whatsapp_rust::waproto::whatsapp as wa;

/// One catalog event, and the message-store row it implies (if any).
#[derive(Debug, Clone)]
pub struct Normalized {
    pub event: &'static str,
    pub data: Value,
    pub store: Option<StoreOp>,
}

pub use crate::messages::inbound::StoreOp;

/// Phone JID and LID of an address, using the alternate one the stanza carried.
pub fn pn_and_lid(primary: &Jid, alt: Option<&Jid>) -> (Option<String>, Option<String>) {
    let p = primary.to_non_ad_string();
    let a = alt.map(|j| j.to_non_ad_string());
    if primary.is_lid() { (a, Some(p)) } else { (Some(p), a.filter(|_| alt.is_some_and(|j| j.is_lid()))) }
}

/// Who and where, common to every message event.
pub fn addressing(src: &MessageSource) -> Value {
    let (sender, sender_lid) = pn_and_lid(&src.sender, src.sender_alt.as_ref());
    // In a 1:1 chat the chat is the other party: its alternate is the sender's (inbound)
    // or the recipient's (sent from another device).
    let chat_alt = if src.is_group {
        None
    } else if src.is_from_me {
        src.recipient_alt.as_ref()
    } else {
        src.sender_alt.as_ref()
    };
    let (chat_pn, chat_lid) = pn_and_lid(&src.chat, chat_alt);
    let chat_id = chat_pn.clone().unwrap_or_else(|| src.chat.to_non_ad_string());
    let author = sender.clone().or_else(|| sender_lid.clone()).unwrap_or_else(|| src.sender.to_non_ad_string());
    json!({
        "chatId": chat_id,
        "chatLid": chat_lid,
        "sender": { "chatId": chat_id, "fromMe": src.is_from_me, "isGroup": src.is_group, "authorJid": author },
        "senderJid": sender,
        "senderLid": sender_lid,
        "fromMe": src.is_from_me,
        "isGroup": src.is_group,
    })
}

/// The message's own WhatsApp key, as WhatsApp addresses it (the chat as the stanza
/// named it; in groups, the author as participant).
fn own_key(info: &MessageInfo) -> Value {
    let src = &info.source;
    json!({
        "remoteJid": src.chat.to_non_ad_string(),
        "id": info.id.to_string(),
        "fromMe": src.is_from_me,
        "participant": src.is_group.then(|| src.sender.to_non_ad_string()),
    })
}

/// Adds the original's `text` and `message.key` to a message event's payload.
fn with_original_fields(mut d: Value, info: &MessageInfo) -> Value {
    let text = d["message"]["text"].as_str().or_else(|| d["message"]["caption"].as_str()).map(str::to_string);
    d["text"] = json!(text);
    if !d["message"].is_object() {
        d["message"] = json!({});
    }
    d["message"]["key"] = own_key(info);
    d
}

fn context(ci: Option<&wa::ContextInfo>) -> (Value, Value) {
    let Some(ci) = ci else { return (json!([]), Value::Null) };
    let mentions = json!(ci.mentioned_jid);
    let quoted = match &ci.stanza_id {
        Some(id) => json!({
            "messageId": id,
            "participant": ci.participant,
            "chatId": ci.remote_jid,
            "text": ci.quoted_message.as_option().and_then(|q| q.text_content().or_else(|| q.get_caption()).map(str::to_string)),
        }),
        None => Value::Null,
    };
    (mentions, quoted)
}

macro_rules! media {
    ($m:expr, $kind:expr) => {
        json!({
            "kind": $kind,
            "mimetype": $m.mimetype,
            "fileLength": $m.file_length,
            "fileSha256": $m.file_sha256.as_ref().map(hex::encode),
        })
    };
}

/// The content of a message: (contentType, message, media, contextInfo).
#[expect(clippy::too_many_lines, reason = "one arm per message kind: the chain is the catalog")]
pub fn content(msg: &wa::Message) -> Option<(&'static str, Value, Value, Option<&wa::ContextInfo>)> {
    let m = msg.get_base_message();
    if let Some(t) = m.conversation.as_deref().filter(|t| !t.is_empty()) {
        return Some(("text", json!({ "text": t }), Value::Null, None));
    }
    if let Some(x) = m.extended_text_message.as_option() {
        let ci = x.context_info.as_option();
        let kind = if ci.is_some_and(|c| c.stanza_id.is_some()) || x.matched_text.is_some() {
            "extended_text"
        } else {
            "text"
        };
        return Some((
            kind,
            json!({ "text": x.text, "matchedText": x.matched_text, "title": x.title }),
            Value::Null,
            ci,
        ));
    }
    if let Some(x) = m.image_message.as_option() {
        let mut media = media!(x, "image");
        media["width"] = json!(x.width);
        media["height"] = json!(x.height);
        return Some(("image", json!({ "caption": x.caption }), media, x.context_info.as_option()));
    }
    if let Some(x) = m.video_message.as_option() {
        let mut media = media!(x, "video");
        media["seconds"] = json!(x.seconds);
        return Some((
            "video",
            json!({ "caption": x.caption, "gif": x.gif_playback }),
            media,
            x.context_info.as_option(),
        ));
    }
    if let Some(x) = m.audio_message.as_option() {
        let ptt = x.ptt.unwrap_or(false);
        let mut media = media!(x, if ptt { "ptt" } else { "audio" });
        media["seconds"] = json!(x.seconds);
        return Some((if ptt { "ptt" } else { "audio" }, json!({ "ptt": ptt }), media, x.context_info.as_option()));
    }
    if let Some(x) = m.document_message.as_option() {
        let mut media = media!(x, "document");
        media["fileName"] = json!(x.file_name);
        return Some((
            "document",
            json!({ "caption": x.caption, "fileName": x.file_name }),
            media,
            x.context_info.as_option(),
        ));
    }
    if let Some(x) = m.sticker_message.as_option() {
        let mut media = media!(x, "sticker");
        media["animated"] = json!(x.is_animated);
        return Some(("sticker", json!({}), media, x.context_info.as_option()));
    }
    if let Some(x) = m.location_message.as_option() {
        let msg = json!({ "latitude": x.degrees_latitude, "longitude": x.degrees_longitude, "name": x.name, "address": x.address });
        return Some(("location", msg, Value::Null, x.context_info.as_option()));
    }
    if let Some(x) = m.contact_message.as_option() {
        return Some((
            "contact",
            json!({ "displayName": x.display_name, "vcard": x.vcard }),
            Value::Null,
            x.context_info.as_option(),
        ));
    }
    if let Some(x) = m.contacts_array_message.as_option() {
        let list: Vec<Value> =
            x.contacts.iter().map(|c| json!({ "displayName": c.display_name, "vcard": c.vcard })).collect();
        return Some((
            "contacts",
            json!({ "displayName": x.display_name, "contacts": list }),
            Value::Null,
            x.context_info.as_option(),
        ));
    }
    let poll = [
        m.poll_creation_message.as_option(),
        m.poll_creation_message_v2.as_option(),
        m.poll_creation_message_v3.as_option(),
    ]
    .into_iter()
    .flatten()
    .next();
    if let Some(p) = poll {
        let options: Vec<Value> = p.options.iter().map(|o| json!(o.option_name)).collect();
        let msg = json!({ "name": p.name, "options": options, "selectableCount": p.selectable_options_count });
        return Some(("poll", msg, Value::Null, p.context_info.as_option()));
    }
    if let Some(x) = m.buttons_response_message.as_option() {
        let msg = json!({ "selectedButtonId": x.selected_button_id });
        return Some(("buttons_response", msg, Value::Null, x.context_info.as_option()));
    }
    if let Some(x) = m.list_response_message.as_option() {
        let row = x.single_select_reply.as_option().and_then(|r| r.selected_row_id.clone());
        return Some((
            "list_response",
            json!({ "title": x.title, "selectedRowId": row }),
            Value::Null,
            x.context_info.as_option(),
        ));
    }
    None
}

fn key_json(k: Option<&wa::MessageKey>) -> Value {
    match k {
        Some(k) => json!({ "id": k.id, "remoteJid": k.remote_jid, "fromMe": k.from_me, "participant": k.participant }),
        None => Value::Null,
    }
}

/// A command: text starting with `prefix`, split into the command and its arguments.
pub fn command(text: &str, prefix: &str) -> Option<(String, Vec<String>)> {
    if prefix.is_empty() {
        return None;
    }
    let rest = text.trim_start().strip_prefix(prefix)?;
    let mut words = rest.split_whitespace();
    let cmd = words.next()?.to_lowercase();
    Some((cmd, words.map(str::to_string).collect()))
}

/// Normalizes one decrypted message. `prefix` is the command prefix (empty: none).
pub fn message(msg: &wa::Message, info: &MessageInfo, prefix: &str) -> Vec<Normalized> {
    let mut out = catalog(msg, info, prefix);
    for n in &mut out {
        n.data = with_original_fields(std::mem::take(&mut n.data), info);
    }
    out
}

/// The catalog events of one message, in our own fields.
fn catalog(msg: &wa::Message, info: &MessageInfo, prefix: &str) -> Vec<Normalized> {
    let mut base = addressing(&info.source);
    base["messageId"] = json!(info.id.to_string());
    base["pushName"] = json!(Some(&info.push_name).filter(|n| !n.is_empty()));
    let ts = info.timestamp.timestamp_millis();
    base["timestamp"] = json!(ts);
    base["fromOffline"] = json!(info.is_offline);
    let chat = base["chatId"].as_str().unwrap_or_default().to_string();
    let m = msg.get_base_message();

    if let Some(r) = m.reaction_message.as_option() {
        let mut d = base;
        d["reaction"] = json!({ "text": r.text, "removed": r.text.as_deref().is_none_or(str::is_empty) });
        d["key"] = key_json(r.key.as_option());
        d["tags"] = json!(["inbound"]);
        return vec![Normalized { event: "message_reaction", data: d, store: None }];
    }
    if let Some(p) = m.protocol_message.as_option() {
        let target = p.key.as_option().and_then(|k| k.id.clone()).unwrap_or_default();
        if p.r#type == Some(ProtocolType::REVOKE) {
            let mut d = base;
            d["key"] = key_json(p.key.as_option());
            d["revokedMessageId"] = json!(target);
            let store = StoreOp::Revoked { chat, id: target, ts };
            return vec![Normalized { event: "message_revoked", data: d, store: Some(store) }];
        }
        if p.r#type == Some(ProtocolType::MESSAGE_EDIT) || p.edited_message.is_set() {
            let edited = p.edited_message.as_option().and_then(content);
            let (ct, body) = edited.map_or(("unknown", Value::Null), |(ct, body, _, _)| (ct, body));
            let mut d = base;
            d["key"] = key_json(p.key.as_option());
            d["editedMessageId"] = json!(target);
            d["contentType"] = json!(ct);
            d["message"] = body.clone();
            let store = StoreOp::Edited { chat, id: target, content: body, ts };
            return vec![Normalized { event: "message_edited", data: d, store: Some(store) }];
        }
        // Key shares, history-sync notices and the like: protocol plumbing, not events.
        return vec![];
    }
    if let Some(v) = m.poll_update_message.as_option() {
        // The vote itself is encrypted with the poll's secret; the key says which poll.
        let mut d = base;
        d["contentType"] = json!("poll_vote");
        d["pollMessageKey"] = key_json(v.poll_creation_message_key.as_option());
        d["vote"] = json!({ "encrypted": v.vote.is_set() });
        d["tags"] = json!(["inbound"]);
        return vec![Normalized { event: "message_received", data: d, store: None }];
    }
    let Some((ct, body, media, ci)) = content(msg) else { return vec![] };
    let (mentions, quoted) = context(ci);
    let mut d = base;
    d["contentType"] = json!(ct);
    d["message"] = body.clone();
    d["media"] = media;
    d["mentions"] = mentions;
    d["quoted"] = quoted;
    d["tags"] = json!([if info.source.is_from_me { "outbound" } else { "inbound" }]);
    let (sender, sender_lid) = (d["senderJid"].as_str().map(String::from), d["senderLid"].as_str().map(String::from));
    let store = StoreOp::Message {
        chat,
        id: info.id.to_string(),
        sender,
        sender_lid,
        from_me: info.source.is_from_me,
        content_type: ct.to_string(),
        content: json!({ "message": body, "media": d["media"], "quoted": d["quoted"] }),
        ts,
        push_name: Some(info.push_name.clone()).filter(|n| !n.is_empty()),
    };
    let mut out = vec![Normalized { event: "message_received", data: d.clone(), store: Some(store) }];
    let text = d["message"]["text"].as_str().or_else(|| d["message"]["caption"].as_str());
    if let Some((cmd, args)) = text.and_then(|t| command(t, prefix)) {
        let mut c = d;
        c["command"] = json!(cmd);
        c["args"] = json!(args);
        c["prefix"] = json!(prefix);
        out.push(Normalized { event: "message_command", data: c, store: None });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_split_into_name_and_arguments() {
        assert_eq!(command("!Ping a  b", "!"), Some(("ping".into(), vec!["a".into(), "b".into()])));
        assert_eq!(command("  /help", "/"), Some(("help".into(), vec![])));
        assert_eq!(command("hello !ping", "!"), None);
        assert_eq!(command("!", "!"), None);
        assert_eq!(command("!ping", ""), None);
    }

    #[test]
    fn lid_addresses_are_paired_with_their_phone_jid() {
        let pn: Jid = "6281234567890@s.whatsapp.net".parse().unwrap();
        let lid: Jid = "16501234567890123@lid".parse().unwrap();
        assert_eq!(pn_and_lid(&lid, Some(&pn)), (Some(pn.to_string()), Some(lid.to_string())));
        assert_eq!(pn_and_lid(&pn, Some(&lid)), (Some(pn.to_string()), Some(lid.to_string())));
        assert_eq!(pn_and_lid(&pn, None), (Some(pn.to_string()), None));
    }
}
