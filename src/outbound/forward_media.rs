//! Forwarding a received media message: the inbound store keeps the message's text, not
//! its file, but with `WAREST_DOWNLOAD_MEDIA_RECEIVED` the file was downloaded and kept
//! (`media` table), so a forward sends those bytes again as the same kind, uploaded anew
//! (the original's media key belongs to the original message).

use serde_json::Value;

use super::build_media as bm;
use super::content::{Common, Content, Media};
use crate::media::fetch::Loaded;
use crate::media::ffmpeg::FfmpegConfig;
use crate::store::Db;

/// Kinds of received messages that carry a file.
pub const MEDIA_KINDS: &[&str] = &["image", "video", "audio", "ptt", "document", "sticker"];

/// The content that forwards a received `content_type` message of `session` from its
/// kept file. Err: why it cannot (not downloaded, file gone, unreadable), for a 422.
pub async fn content(
    db: &Db,
    ffmpeg: &FfmpegConfig,
    session: &str,
    content_type: &str,
    content: &Value,
) -> Result<Content, String> {
    let not_kept = || {
        format!(
            "a received {content_type} message can be forwarded only once its file was downloaded \
             (WAREST_DOWNLOAD_MEDIA_RECEIVED=true); this one's file is not kept"
        )
    };
    let id = content["media"]["id"].as_str().ok_or_else(not_kept)?;
    let stored = crate::media::received::get(db, id).await.map_err(|e| format!("media lookup failed: {e}"))?;
    // The row's owner is checked too: a stored content naming another session's file is refused.
    let stored = stored.filter(|m| m.session_id == session).ok_or_else(not_kept)?;
    let bytes = tokio::fs::read(&stored.path).await.map_err(|_| not_kept())?;
    let (m, mime) = (&content["message"], stored.mimetype.clone());
    let caption = m["caption"].as_str().filter(|c| !c.is_empty()).map(str::to_string);
    let common = Common::default();
    Ok(match content_type {
        "image" => {
            let (media, dims, _, _) = bm::image(bytes, &mime, false)
                .await
                .map_err(|e| format!("the kept image cannot be sent again: {e}"))?;
            Content::Image { media, caption, view_once: false, dims, common }
        }
        "video" => {
            let dims = bm::video_dims(ffmpeg, &bytes).await;
            let gif_playback = m["gif"].as_bool().unwrap_or(false);
            Content::Video { media: Media::new(&bytes, &mime), caption, view_once: false, gif_playback, dims, common }
        }
        "audio" | "ptt" => {
            let seconds = content["media"]["seconds"].as_u64().and_then(|s| u32::try_from(s).ok());
            Content::Audio { media: Media::new(&bytes, &mime), ptt: content_type == "ptt", seconds, common }
        }
        "document" => {
            let filename = m["fileName"].as_str().filter(|f| !f.is_empty()).unwrap_or("file").to_string();
            Content::Document { media: Media::new(&bytes, &mime), filename, caption, common }
        }
        "sticker" => {
            let st = bm::sticker(Loaded { bytes, mimetype: Some(mime) })
                .await
                .map_err(|e| format!("the kept sticker cannot be sent again: {e}"))?;
            Content::Sticker { media: Media::new(&st.bytes, &st.mimetype), width: st.width, height: st.height, common }
        }
        other => return Err(format!("a received {other} message carries no file to forward")),
    })
}
