//! Send actions → the send queue's content, through the same builders the REST send
//! routes use (`outbound::build*`); the richer kinds are in `send_rich`.

use serde_json::{Map, Value};

use super::send_rich;
use crate::media::fetch;
use crate::outbound::OutboundConfig;
use crate::outbound::build::{self, Place};
use crate::outbound::build_inputs::{ContactCards, LocationInput};
use crate::outbound::content::{Common, Content, Media};
use crate::outbound::recipient::{Recipient, normalize_all};
use crate::store::Db;

fn s<'a>(o: &'a Map<String, Value>, names: &[&str]) -> Option<&'a str> {
    names.iter().find_map(|n| o.get(*n).and_then(Value::as_str))
}

fn f(o: &Map<String, Value>, names: &[&str]) -> Option<f64> {
    names.iter().find_map(|n| o.get(*n)).and_then(|v| v.as_f64().or_else(|| v.as_str()?.trim().parse().ok()))
}

fn invalid((field, why): build::Invalid) -> String {
    format!("{field}: {why}")
}

/// The recipients: `to` (string, comma list or array) or `jid`.
pub fn recipients(o: &Map<String, Value>, cfg: &OutboundConfig) -> Result<Vec<Recipient>, String> {
    let items: Vec<String> = match o.get("to").or_else(|| o.get("jid")) {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        _ => return Err("to: is required".into()),
    };
    normalize_all(&items, cfg.default_country_code.as_deref()).map_err(|(f, why)| format!("{f}: {why}"))
}

fn common(o: &Map<String, Value>, cfg: &OutboundConfig) -> Result<Common, String> {
    let reply_to = s(o, &["replyMessageId", "quotedMessageId"])
        .map(str::to_string)
        .or_else(|| {
            o.get("quoted")
                .and_then(|q| q.get("key"))
                .and_then(|k| k.get("id"))
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .filter(|r| !r.is_empty());
    let mut mentions = Vec::new();
    if let Some(Value::Array(a)) = o.get("mentions") {
        if a.len() > 256 {
            return Err("mentions: at most 256".into());
        }
        for (i, m) in a.iter().enumerate() {
            let m = m.as_str().ok_or_else(|| format!("mentions[{i}]: must be a string"))?;
            let r = crate::outbound::recipient::normalize(m, cfg.default_country_code.as_deref())
                .map_err(|why| format!("mentions[{i}]: {why}"))?;
            mentions.push(r.jid);
        }
    }
    Ok(Common {
        reply_to,
        forwarded: o.get("isForwarded").and_then(Value::as_bool).unwrap_or(false),
        mentions,
        pacing: false,
    })
}

/// The contact fields of a `vcard` action. The original's actions also gave a contact's
/// numbers as an array in `phone`; that becomes the REST body's `phones`.
fn contact_fields(o: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for k in ["contact", "contacts", "name", "phone"] {
        if let Some(v) = o.get(k) {
            out.insert(k.into(), v.clone());
        }
    }
    if let Some(Value::Object(c)) = out.get_mut("contact")
        && let Some(Value::Array(_)) = c.get("phone")
        && let Some(phones) = c.remove("phone")
    {
        c.insert("phones".into(), phones);
    }
    out
}

/// The content of a send action of `kind` from `session` (a forward reads its stored
/// messages).
pub async fn content(
    kind: &str,
    o: &Map<String, Value>,
    cfg: &OutboundConfig,
    db: &Db,
    session: &str,
) -> Result<Content, String> {
    let common = common(o, cfg)?;
    match kind {
        "text" => {
            let text = s(o, &["text", "message"]).ok_or("text: is required")?;
            let mut content = build::text("text", text, common).map_err(invalid)?;
            // As the REST route's `linkPreview`: fetched once the rest is known to be good.
            if o.get("linkPreview").and_then(Value::as_bool) == Some(true)
                && let Content::Text { preview, .. } = &mut content
            {
                *preview = crate::outbound::preview::build(text, &cfg.media).await;
            }
            Ok(content)
        }
        "location" => {
            // The REST body's `location`, or the original's flat `lat`/`lng` (its actions).
            let (p, prefix) = match o.get("location") {
                Some(l) => {
                    let l: LocationInput = serde_json::from_value(l.clone()).map_err(|e| format!("location: {e}"))?;
                    (Place::from(l), "location.")
                }
                None => (
                    Place {
                        latitude: f(o, &["lat", "latitude"]).ok_or("lat: is required")?,
                        longitude: f(o, &["lng", "longitude"]).ok_or("lng: is required")?,
                        name: s(o, &["name"]).map(str::to_string),
                        address: s(o, &["address"]).map(str::to_string),
                        url: s(o, &["url"]).map(str::to_string),
                    },
                    "",
                ),
            };
            build::location(prefix, p, common).map_err(invalid)
        }
        "vcard" => {
            // The REST body's fields (`contact`, `contacts`, `name`/`phone`), read by its type.
            let cards: ContactCards =
                serde_json::from_value(Value::Object(contact_fields(o))).map_err(|e| format!("invalid fields: {e}"))?;
            let cards = cards.cards(cfg.default_country_code.as_deref()).map_err(invalid)?;
            Ok(Content::Contact { cards, common })
        }
        "poll" => {
            // Either the fields, or the `message` object the poll route shows.
            let p = o.get("message").and_then(Value::as_object).unwrap_or(o);
            let question = s(p, &["question", "name"]).ok_or("question: is required")?;
            let options: Vec<String> = match p.get("options").or_else(|| p.get("values")) {
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|v| {
                        v.as_str().or_else(|| v.get("optionName").and_then(Value::as_str)).unwrap_or("").to_string()
                    })
                    .collect(),
                _ => return Err("options: is required".into()),
            };
            let max = ["maxSelection", "selectableCount", "selectableOptionsCount"]
                .iter()
                .find_map(|n| p.get(*n))
                .and_then(Value::as_u64)
                .map(|n| n.min(u64::from(u32::MAX)) as u32);
            build::poll(question, &options, max, common).map_err(invalid)
        }
        "media" => send_rich::media(o, cfg, common).await,
        "sticker" => send_rich::sticker(o, cfg, common).await,
        "button" => send_rich::button(o, cfg, common).await,
        "list" => send_rich::list(o, cfg, common).await,
        "forward" => send_rich::forward(o, db, session).await,
        "document" => {
            let url = s(o, &["url", "document"]).ok_or("url: is required")?;
            let filename = s(o, &["filename", "fileName"]).unwrap_or("document").to_string();
            if filename.len() > 255 || filename.contains(['/', '\\', '\0']) {
                return Err("filename: must be a plain file name of at most 255 bytes".into());
            }
            let loaded = fetch::load(url, &cfg.media).await.map_err(|e| format!("url: {e}"))?;
            let mime = s(o, &["mimetype"])
                .map(|m| m.trim().to_ascii_lowercase())
                .or(loaded.mimetype.clone())
                .unwrap_or_else(|| "application/octet-stream".into());
            if !cfg.file_mimetypes.contains(&mime) {
                return Err(format!("mimetype: {mime} is not in WAREST_MIMETYPE_FILES_ALLOWLIST"));
            }
            let caption = build::caption("caption", s(o, &["caption"])).map_err(invalid)?;
            Ok(Content::Document { media: Media::new(&loaded.bytes, &mime), filename, caption, common })
        }
        "raw" => {
            let m = o.get("message").ok_or("message: is required")?;
            crate::outbound::content::raw_message(m).map_err(|e| format!("message: {e}"))?;
            Ok(Content::Raw { message: m.clone(), common: Common::default() })
        }
        other => Err(format!("unknown send type {other:?}")),
    }
}
