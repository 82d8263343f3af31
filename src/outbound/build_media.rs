//! Media checks and conversions shared by the send routes and webhook actions, so both
//! accept the same files and send the same bytes: image previews, MP4 sizes, voice notes
//! and GIFs (ffmpeg), stickers (512×512 WebP). Image work runs off the async workers,
//! within the global image limit (`imaging::run`).

use base64::Engine;

use super::content::{Dims, Media};
use crate::media::fetch::Loaded;
use crate::media::ffmpeg::{FfmpegConfig, FfmpegError};
use crate::media::imaging::{self, ImagingError, Still};
use crate::media::probe;

pub use super::build::IMAGE_TYPES;
pub const VIDEO_TYPES: &[&str] = &["video/mp4"];
/// Audio WhatsApp's apps play; anything else is refused rather than sent unplayable.
pub const AUDIO_TYPES: &[&str] = &[
    "audio/ogg",
    "audio/opus",
    "audio/mpeg",
    "audio/mp3",
    "audio/mp4",
    "audio/m4a",
    "audio/aac",
    "audio/wav",
    "audio/x-wav",
    "audio/flac",
    "audio/amr",
    "audio/webm",
];
/// What a sticker can be made from.
pub const STICKER_SOURCES: &[&str] = &["image/webp", "image/png", "image/jpeg", "image/gif"];
/// What WhatsApp's apps record voice notes as.
const VOICE_NOTE_MIME: &str = "audio/ogg; codecs=opus";

/// Why a file cannot be sent as the kind asked for.
#[derive(Debug, thiserror::Error)]
pub enum MediaFail {
    #[error("unsupported mimetype {mimetype} (allowed: {allowed})")]
    Unsupported { mimetype: String, allowed: String },
    #[error(transparent)]
    Ffmpeg(#[from] FfmpegError),
    #[error(transparent)]
    Imaging(#[from] ImagingError),
}

fn unsupported(mimetype: Option<&str>, allowed: &[&str]) -> MediaFail {
    MediaFail::Unsupported { mimetype: mimetype.unwrap_or("unknown").to_string(), allowed: allowed.join(", ") }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// An image sent as given (header images of buttons and lists).
pub fn plain_image(loaded: &Loaded) -> Result<Media, MediaFail> {
    match loaded.mimetype.as_deref().filter(|m| IMAGE_TYPES.contains(m)) {
        Some(mime) => Ok(Media::new(&loaded.bytes, mime)),
        None => Err(unsupported(loaded.mimetype.as_deref(), IMAGE_TYPES)),
    }
}

/// Size and preview of an image, whether it was downscaled, and its byte size. A file that sniffs as an
/// image but cannot be decoded is still sent as given (the recipient's app decides), only
/// without a preview; a picture over the pixel limit is refused (it would be as heavy for
/// the recipient's phone as for the gateway).
pub async fn image(
    bytes: Vec<u8>,
    mime: &str,
    compress: bool,
) -> Result<(Media, Option<Dims>, bool, usize), MediaFail> {
    let (m, src) = (mime.to_string(), bytes.clone());
    match imaging::run(move || imaging::still(&src, &m, compress)).await.and_then(|r| r) {
        Ok(Still { bytes, mimetype, width, height, thumbnail, compressed }) => Ok((
            Media::new(&bytes, &mimetype),
            Some(Dims { width: Some(width), height: Some(height), seconds: None, thumbnail: Some(b64(&thumbnail)) }),
            compressed,
            bytes.len(),
        )),
        Err(e @ ImagingError::TooLarge(..)) => Err(e.into()),
        Err(e) => {
            tracing::debug!(error = %e, "image sent without a preview");
            Ok((Media::new(&bytes, mime), None, false, bytes.len()))
        }
    }
}

/// Duration and size of an MP4 (read from its boxes) and a preview of its first frame
/// (ffmpeg, when available).
pub async fn video_dims(ffmpeg: &FfmpegConfig, bytes: &[u8]) -> Option<Dims> {
    let i = probe::mp4(bytes);
    let thumbnail = ffmpeg.video_thumbnail(bytes).await.map(|t| b64(&t));
    (i != probe::Mp4Info::default() || thumbnail.is_some()).then_some(Dims {
        width: i.width,
        height: i.height,
        seconds: i.seconds,
        thumbnail,
    })
}

/// An audio file ready to send.
pub struct Audio {
    pub bytes: Vec<u8>,
    pub mimetype: String,
    pub seconds: Option<u32>,
    /// Converted to a voice note by ffmpeg.
    pub converted: bool,
}

/// An audio file, or with `ptt` a voice note: Opus/Ogg is sent as given, other audio is
/// converted with ffmpeg.
pub async fn audio(ffmpeg: &FfmpegConfig, loaded: Loaded, ptt: bool) -> Result<Audio, MediaFail> {
    let declared = loaded.mimetype.clone().unwrap_or_default();
    // An MP4 holding only audio sniffs as video/mp4; it is an .m4a to WhatsApp.
    let mime = if declared == "video/mp4" { "audio/mp4".to_string() } else { declared };
    if !AUDIO_TYPES.contains(&mime.as_str()) {
        return Err(unsupported(loaded.mimetype.as_deref(), AUDIO_TYPES));
    }
    let opus = probe::is_ogg_opus(&loaded.bytes);
    let (bytes, mimetype, converted) = if !ptt || opus {
        (loaded.bytes, if opus { VOICE_NOTE_MIME.to_string() } else { mime }, false)
    } else {
        (ffmpeg.to_voice_note(&loaded.bytes).await?, VOICE_NOTE_MIME.to_string(), true)
    };
    Ok(Audio { seconds: probe::ogg_opus_seconds(&bytes), bytes, mimetype, converted })
}

/// A sticker: a WebP as it is, other images fitted to 512×512 WebP.
pub async fn sticker(loaded: Loaded) -> Result<Still, MediaFail> {
    if !loaded.mimetype.as_deref().is_some_and(|m| STICKER_SOURCES.contains(&m)) {
        return Err(unsupported(loaded.mimetype.as_deref(), STICKER_SOURCES));
    }
    let bytes = loaded.bytes;
    imaging::run(move || imaging::sticker(&bytes)).await?.map_err(MediaFail::from)
}

/// A GIF as a looping MP4 (converted with ffmpeg; an MP4 is sent as given), and whether
/// it was converted.
pub async fn gif(ffmpeg: &FfmpegConfig, loaded: Loaded) -> Result<(Vec<u8>, bool), MediaFail> {
    match loaded.mimetype.as_deref() {
        Some("image/gif") => Ok((ffmpeg.gif_to_mp4(&loaded.bytes).await?, true)),
        Some("video/mp4") => Ok((loaded.bytes, false)),
        other => Err(unsupported(other, &["image/gif", "video/mp4"])),
    }
}
