//! The richer send actions — media of every kind, stickers, buttons, lists, forwards —
//! built by the same outbound builders as the REST send routes (same fields, same limits,
//! same conversions), so an action and a request with one body send one message.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::media::fetch::{self, Loaded};
use crate::outbound::OutboundConfig;
use crate::outbound::build::{self, IMAGE_TYPES};
use crate::outbound::build_interactive::{self as bi, ButtonInput};
use crate::outbound::build_media::{self as bm, MediaFail, VIDEO_TYPES};
use crate::outbound::content::{Common, Content, Media};
use crate::outbound::sources::forward_content;
use crate::store::{Db, StoreError};

use super::{prebuilt, transform};

fn s<'a>(o: &'a Map<String, Value>, names: &[&str]) -> Option<&'a str> {
    names.iter().find_map(|n| o.get(*n).and_then(Value::as_str))
}

fn invalid((field, why): build::Invalid) -> String {
    format!("{field}: {why}")
}

fn fail(field: &str) -> impl Fn(MediaFail) -> String + '_ {
    move |e| format!("{field}: {e}")
}

/// The action's object read as the REST body `T` (unknown fields ignored).
fn body<T: DeserializeOwned>(o: &Map<String, Value>) -> Result<T, String> {
    serde_json::from_value(Value::Object(o.clone())).map_err(|e| format!("invalid fields: {e}"))
}

/// The file named by the first of `names` present (URL, `data:` URL or base64).
async fn load(o: &Map<String, Value>, names: &[&str], cfg: &OutboundConfig) -> Result<Loaded, String> {
    let field = names[0];
    let src = s(o, names).filter(|v| !v.trim().is_empty()).ok_or_else(|| format!("{field}: is required"))?;
    fetch::load(src, &cfg.media).await.map_err(|e| format!("{field}: {e}"))
}

async fn header_image(o: &Map<String, Value>, cfg: &OutboundConfig) -> Result<Option<Media>, String> {
    if s(o, &["image"]).is_none_or(|v| v.trim().is_empty()) {
        return Ok(None);
    }
    let loaded = load(o, &["image"], cfg).await?;
    bm::plain_image(&loaded).map(Some).map_err(fail("image"))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ButtonBody {
    text: Option<String>,
    #[serde(default)]
    buttons: Vec<ButtonInput>,
    title: Option<String>,
    footer: Option<String>,
}

pub async fn button(o: &Map<String, Value>, cfg: &OutboundConfig, common: Common) -> Result<Content, String> {
    let o = &prebuilt::expand(o);
    let b: ButtonBody = body(o)?;
    let buttons = bi::buttons(&b.buttons).map_err(invalid)?;
    let frame = bi::frame(b.text.as_deref(), b.title.as_deref(), b.footer.as_deref()).map_err(invalid)?;
    Ok(Content::Buttons { frame, buttons, image: header_image(o, cfg).await?, common })
}

pub async fn list(o: &Map<String, Value>, cfg: &OutboundConfig, common: Common) -> Result<Content, String> {
    let o = &prebuilt::expand(o);
    let (frame, button_text, sections) = bi::list(&body(o)?).map_err(invalid)?;
    Ok(Content::List { frame, button_text, sections, image: header_image(o, cfg).await?, common })
}

pub async fn sticker(o: &Map<String, Value>, cfg: &OutboundConfig, common: Common) -> Result<Content, String> {
    // `imageUrl`: the original's sticker from any picture (made a 512 px WebP here too).
    let loaded = load(o, &["sticker", "url", "webpUrl", "imageUrl", "media"], cfg).await?;
    let st = bm::sticker(loaded).await.map_err(fail("sticker"))?;
    Ok(Content::Sticker { media: Media::new(&st.bytes, &st.mimetype), width: st.width, height: st.height, common })
}

/// A forward of message `messageId` (or `key.id`) of `session`.
pub async fn forward(o: &Map<String, Value>, db: &Db, session: &str) -> Result<Content, String> {
    let id = s(o, &["messageId"])
        .or_else(|| o.get("key").and_then(|k| k.get("id")).and_then(Value::as_str))
        .map(str::trim)
        .filter(|id| !id.is_empty() && id.len() <= 128)
        .ok_or("messageId: 1-128 characters required")?;
    let stored = db.stored_message(session, id).await.map_err(|e| match e {
        StoreError::NotFound => format!("messageId: no message {id:?} in this session"),
        e => format!("store error: {e}"),
    })?;
    forward_content(stored)
}

/// `media` with `mediaType` image (default), video, audio or gif; an image may carry
/// `transform.sharp`, the others `transcode` (`transform`).
pub async fn media(o: &Map<String, Value>, cfg: &OutboundConfig, common: Common) -> Result<Content, String> {
    let media_type = s(o, &["mediaType"]).unwrap_or("image").to_ascii_lowercase();
    let caption = build::caption("caption", s(o, &["caption"])).map_err(invalid)?;
    let view_once = o.get("viewOnce").and_then(Value::as_bool).unwrap_or(false);
    // Checked before anything is fetched: a bad option fails fast.
    let sharp = if media_type == "image" { transform::sharp_actions(o)? } else { None };
    let transcode = if media_type == "image" { None } else { transform::transcode_options(o, &media_type)? };
    // A transform that fails while it runs (a result too large, the encoder, ffmpeg or its
    // time limit) sends the file as fetched, as the original did; options it refuses
    // failed above, before anything was fetched.
    let prepare = async |loaded: Loaded| {
        let done = match (sharp, &transcode) {
            (Some(a), _) => transform::sharp(loaded.clone(), a).await,
            (None, Some(t)) => transform::transcode(&cfg.ffmpeg, loaded.clone(), t).await,
            (None, None) => return Ok(loaded),
        };
        Ok::<_, String>(done.unwrap_or_else(|why| {
            tracing::warn!(error = %why, "media action: the transform failed; sending the file as fetched");
            loaded
        }))
    };
    match media_type.as_str() {
        "image" | "video" => {
            let loaded = prepare(load(o, &["url", "media"], cfg).await?).await?;
            let mime = loaded.mimetype.clone().unwrap_or_default();
            if media_type == "image" && IMAGE_TYPES.contains(&mime.as_str()) {
                // A transformed picture is sent as it was made.
                let compress = sharp.is_none() && o.get("compress").and_then(Value::as_bool).unwrap_or(true);
                let (media, dims, _, _) = bm::image(loaded.bytes, &mime, compress).await.map_err(fail("media"))?;
                Ok(Content::Image { media, caption, view_once, dims, common })
            } else if media_type == "video" && VIDEO_TYPES.contains(&mime.as_str()) {
                let dims = bm::video_dims(&cfg.ffmpeg, &loaded.bytes).await;
                let media = Media::new(&loaded.bytes, &mime);
                Ok(Content::Video { media, caption, view_once, gif_playback: false, dims, common })
            } else {
                let allowed = if media_type == "image" { IMAGE_TYPES } else { VIDEO_TYPES };
                Err(format!("url: unsupported mimetype {} (allowed: {})", mime_or_unknown(&mime), allowed.join(", ")))
            }
        }
        "audio" => {
            let loaded = prepare(load(o, &["url", "audio", "media"], cfg).await?).await?;
            let ptt = ["isVN", "ptt"].iter().find_map(|n| o.get(*n)).and_then(Value::as_bool).unwrap_or(false);
            let a = bm::audio(&cfg.ffmpeg, loaded, ptt).await.map_err(fail("url"))?;
            Ok(Content::Audio { media: Media::new(&a.bytes, &a.mimetype), ptt, seconds: a.seconds, common })
        }
        "gif" => {
            let loaded = prepare(load(o, &["url", "gif", "media"], cfg).await?).await?;
            let (bytes, _) = bm::gif(&cfg.ffmpeg, loaded).await.map_err(fail("url"))?;
            let dims = bm::video_dims(&cfg.ffmpeg, &bytes).await;
            let media = Media::new(&bytes, "video/mp4");
            Ok(Content::Video { media, caption, view_once: false, gif_playback: true, dims, common })
        }
        other => Err(format!("mediaType: {other:?} is not image, video, audio or gif")),
    }
}

fn mime_or_unknown(m: &str) -> &str {
    if m.is_empty() { "unknown" } else { m }
}
