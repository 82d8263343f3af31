//! Forwarding: the content to send again, from a message the store kept
//! (`crate::messages::Stored`).

use super::content::{Card, Common, Content};
pub use crate::messages::Stored;
use base64::Engine;
use serde_json::Value;

fn unsupported(kind: &str) -> String {
    format!("a received {kind} message cannot be forwarded: the gateway keeps its text only")
}

/// The content to send again, from what the store kept.
fn content_of(stored: Stored) -> Result<Content, String> {
    match stored {
        Stored::Outbound { payload } => {
            let mut c: Content =
                serde_json::from_str(&payload).map_err(|_| "the stored message is unreadable".to_string())?;
            if let Content::Poll { secret, .. } = &mut c {
                // A poll is a new poll for its new chat: votes are encrypted with its own secret.
                let fresh: [u8; 32] = rand::random();
                *secret = base64::engine::general_purpose::STANDARD.encode(fresh);
            }
            Ok(c)
        }
        Stored::Inbound { content_type, content } => {
            let m = &content["message"];
            let s = |v: &Value| v.as_str().map(str::to_string);
            let common = Common::default();
            match content_type.as_str() {
                "text" | "extended_text" => match s(&m["text"]).filter(|t| !t.is_empty()) {
                    Some(text) => Ok(Content::Text { text, preview: None, common }),
                    None => Err(unsupported(&content_type)),
                },
                "location" => match (m["latitude"].as_f64(), m["longitude"].as_f64()) {
                    (Some(latitude), Some(longitude)) => Ok(Content::Location {
                        latitude,
                        longitude,
                        name: s(&m["name"]),
                        address: s(&m["address"]),
                        url: None,
                        common,
                    }),
                    _ => Err(unsupported(&content_type)),
                },
                "contact" | "contacts" => {
                    let list = match m["contacts"].as_array() {
                        Some(l) => l.clone(),
                        None => vec![m.clone()],
                    };
                    let cards: Vec<Card> = list
                        .iter()
                        .filter_map(|c| Some(Card { display_name: s(&c["displayName"])?, vcard: s(&c["vcard"])? }))
                        .collect();
                    if cards.is_empty() {
                        return Err(unsupported(&content_type));
                    }
                    Ok(Content::Contact { cards, common })
                }
                other => Err(unsupported(other)),
            }
        }
    }
}

/// What a forward of `stored` sends: its content, marked forwarded, quoting nothing
/// (mentions stay with the text they belong to). Err: why it cannot be forwarded.
pub fn forward_content(stored: Stored) -> Result<Content, String> {
    content_of(stored).map(forwarded)
}

/// `content` marked forwarded, quoting nothing.
pub fn forwarded(mut content: Content) -> Content {
    let c = content.common_mut();
    c.reply_to = None;
    c.forwarded = true;
    content
}
