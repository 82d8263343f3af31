//! What a `media` action of the original WAREST may ask to be done to its file before it
//! is sent: `transform.sharp` for images (`resize` {`width`, `height`, `fit`}, and one of
//! `webp`/`jpeg`/`png` {`quality`}), on the same image path as `/misc/media/image`; and
//! `transcode` for video, GIF and audio (`format`, `preset`, `videoBitrate`,
//! `audioBitrate`), through the gateway's ffmpeg with its time limit and slots.
//!
//! Only those named options are taken. The original also passed `transcode.extraArgs` to
//! ffmpeg as they were; here that is refused, because a receiver's answer must not choose
//! ffmpeg's arguments (`-f`, a second output, a file to read) on the gateway's machine.

use serde_json::{Map, Value};

use crate::media::fetch::Loaded;
use crate::media::ffmpeg::FfmpegConfig;
use crate::media::imaging::{self, Fit, Format};
use crate::media::picture::{self, Actions, MAX_SIDE};

fn obj<'a>(v: Option<&'a Value>, field: &str) -> Result<Option<&'a Map<String, Value>>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(_) => Err(format!("{field}: must be an object")),
    }
}

fn side(o: &Map<String, Value>, name: &str) -> Result<Option<u32>, String> {
    match o.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64() {
            Some(n) if (1..=u64::from(MAX_SIDE)).contains(&n) => Ok(Some(n as u32)),
            _ => Err(format!("transform.sharp.resize.{name}: must be a whole number from 1 to {MAX_SIDE}")),
        },
    }
}

/// The image operations of `transform.sharp`, or None when the action asks for none.
pub fn sharp_actions(o: &Map<String, Value>) -> Result<Option<Actions>, String> {
    let Some(t) = obj(o.get("transform"), "transform")? else { return Ok(None) };
    let Some(s) = obj(t.get("sharp"), "transform.sharp")? else { return Ok(None) };
    let resize = match obj(s.get("resize"), "transform.sharp.resize")? {
        None => None,
        Some(r) => {
            let (w, h) = (side(r, "width")?, side(r, "height")?);
            let fit = match r.get("fit").and_then(Value::as_str) {
                None => Fit::Inside,
                Some(f) => Fit::parse(f).ok_or_else(|| {
                    format!("transform.sharp.resize.fit: {f:?} must be inside, fill, cover, contain or outside")
                })?,
            };
            (w.is_some() || h.is_some()).then_some((w, h, fit))
        }
    };
    let mut convert = None;
    let mut quality = None;
    for name in ["webp", "jpeg", "png"] {
        let Some(f) = obj(s.get(name), &format!("transform.sharp.{name}"))? else { continue };
        if convert.is_some() {
            return Err("transform.sharp: give one of webp, jpeg or png".into());
        }
        convert = Format::parse(name);
        quality = match f.get("quality") {
            None | Some(Value::Null) => None,
            Some(q) => match q.as_u64() {
                Some(q) if (1..=100).contains(&q) => Some(q as u8),
                _ => return Err(format!("transform.sharp.{name}.quality: must be from 1 to 100")),
            },
        };
    }
    Ok((resize.is_some() || convert.is_some()).then_some(Actions { convert, resize, quality }))
}

/// The image with `actions` applied, on the shared image workers.
pub async fn sharp(loaded: Loaded, actions: Actions) -> Result<Loaded, String> {
    let bytes = loaded.bytes;
    let p = imaging::run(move || picture::process(&bytes, actions))
        .await
        .map_err(|e| format!("transform.sharp: {e}"))?
        .map_err(|e| match e {
            picture::MiscImageError::Input(why) => format!("url: {why}"),
            picture::MiscImageError::TooLarge(w, h) => {
                format!("transform.sharp.resize: the result would be {w}×{h}, more than {MAX_SIDE} on a side")
            }
            picture::MiscImageError::Encode(why) => format!("transform.sharp: {why}"),
        })?;
    Ok(Loaded { bytes: p.bytes, mimetype: Some(p.format.mimetype().into()) })
}

/// The options of `transcode`, checked: ffmpeg arguments built only from them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcode {
    args: Vec<String>,
    ext: &'static str,
    mimetype: &'static str,
}

const PRESETS: &[&str] =
    &["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"];

/// `128k`, `1M` or a number of bits per second; at most 50 Mbit/s.
fn bitrate(o: &Map<String, Value>, name: &str) -> Result<Option<String>, String> {
    let bad = || format!("transcode.{name}: a bitrate like 128k, 2M or 96000 (at most 50M)");
    let raw = match o.get(name) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.trim().to_string(),
        Some(_) => return Err(bad()),
    };
    let (digits, unit) = match raw.char_indices().last() {
        Some((i, c)) if c.eq_ignore_ascii_case(&'k') => (&raw[..i], 1_000u64),
        Some((i, c)) if c.eq_ignore_ascii_case(&'m') => (&raw[..i], 1_000_000),
        _ => (raw.as_str(), 1),
    };
    let n: u64 = digits.parse().map_err(|_| bad())?;
    if n == 0 || n.saturating_mul(unit) > 50_000_000 {
        return Err(bad());
    }
    Ok(Some(format!("{}", n * unit)))
}

/// The `transcode` of a `media` action of `media_type` (video, gif or audio), or None.
pub fn transcode_options(o: &Map<String, Value>, media_type: &str) -> Result<Option<Transcode>, String> {
    let Some(t) = obj(o.get("transcode"), "transcode")? else { return Ok(None) };
    if t.contains_key("extraArgs") {
        return Err("transcode.extraArgs: not supported (ffmpeg arguments are chosen by the gateway, not by an answer); use format, preset, videoBitrate and audioBitrate".into());
    }
    let format = t.get("format").and_then(Value::as_str).map(|f| f.trim().trim_start_matches('.').to_ascii_lowercase());
    let mut args: Vec<String> = Vec::new();
    let push = |args: &mut Vec<String>, a: &[&str]| args.extend(a.iter().map(|s| s.to_string()));
    let (ext, mimetype) = if media_type == "audio" {
        match format.as_deref().unwrap_or("mp3") {
            "mp3" => {
                push(&mut args, &["-vn", "-c:a", "libmp3lame"]);
                ("mp3", "audio/mpeg")
            }
            "ogg" | "opus" => {
                push(&mut args, &["-vn", "-c:a", "libopus"]);
                ("ogg", "audio/ogg")
            }
            "m4a" | "aac" => {
                push(&mut args, &["-vn", "-c:a", "aac", "-movflags", "+faststart"]);
                ("m4a", "audio/mp4")
            }
            other => return Err(format!("transcode.format: {other:?} for audio must be mp3, ogg or m4a")),
        }
    } else {
        if let Some(f) = format.as_deref().filter(|f| *f != "mp4") {
            return Err(format!("transcode.format: {f:?}: WhatsApp plays video as mp4"));
        }
        let preset = match t.get("preset").and_then(Value::as_str) {
            None => "veryfast",
            Some(p) => PRESETS
                .iter()
                .copied()
                .find(|k| k.eq_ignore_ascii_case(p.trim()))
                .ok_or_else(|| format!("transcode.preset: {p:?} must be one of {}", PRESETS.join(", ")))?,
        };
        push(&mut args, &["-c:v", "libx264", "-preset", preset, "-pix_fmt", "yuv420p", "-movflags", "+faststart"]);
        if let Some(v) = bitrate(t, "videoBitrate")? {
            args.extend(["-b:v".to_string(), v]);
        }
        if media_type == "gif" {
            push(&mut args, &["-an"]);
        } else {
            push(&mut args, &["-c:a", "aac"]);
        }
        ("mp4", "video/mp4")
    };
    if let Some(a) = bitrate(t, "audioBitrate")?.filter(|_| media_type != "gif") {
        args.extend(["-b:a".to_string(), a]);
    }
    Ok(Some(Transcode { args, ext, mimetype }))
}

/// The file converted as `t` says.
pub async fn transcode(ffmpeg: &FfmpegConfig, loaded: Loaded, t: &Transcode) -> Result<Loaded, String> {
    let args: Vec<&str> = t.args.iter().map(String::as_str).collect();
    let bytes = ffmpeg.convert(&loaded.bytes, "bin", &args, t.ext).await.map_err(|e| format!("transcode: {e}"))?;
    Ok(Loaded { bytes, mimetype: Some(t.mimetype.into()) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn o(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn sharp_options_are_read_and_checked() {
        let a = sharp_actions(&o(
            json!({ "transform": { "sharp": { "resize": { "width": 64 }, "webp": { "quality": 80 } } } }),
        ))
        .unwrap()
        .unwrap();
        assert_eq!(
            (a.convert, a.resize, a.quality),
            (Some(Format::WebP), Some((Some(64), None, Fit::Inside)), Some(80))
        );
        assert_eq!(sharp_actions(&o(json!({ "url": "x" }))).unwrap(), None);
        assert!(sharp_actions(&o(json!({ "transform": { "sharp": { "resize": { "width": 0 } } } }))).is_err());
        assert!(sharp_actions(&o(json!({ "transform": { "sharp": { "jpeg": {}, "png": {} } } }))).is_err());
    }

    #[test]
    fn transcode_takes_named_options_only() {
        let t = transcode_options(&o(json!({ "transcode": { "preset": "fast", "videoBitrate": "300k" } })), "video")
            .unwrap()
            .unwrap();
        assert!(t.args.windows(2).any(|w| w == ["-b:v", "300000"]), "{t:?}");
        assert!(t.args.windows(2).any(|w| w == ["-preset", "fast"]), "{t:?}");
        let e = transcode_options(&o(json!({ "transcode": { "extraArgs": ["-f", "null"] } })), "video").unwrap_err();
        assert!(e.starts_with("transcode.extraArgs"), "{e}");
        assert!(transcode_options(&o(json!({ "transcode": { "preset": "-y" } })), "video").is_err());
        assert!(transcode_options(&o(json!({ "transcode": { "videoBitrate": "1G" } })), "video").is_err());
        assert!(transcode_options(&o(json!({ "transcode": { "format": "webm" } })), "video").is_err());
        let a = transcode_options(&o(json!({ "transcode": { "format": "ogg", "audioBitrate": 64000 } })), "audio")
            .unwrap()
            .unwrap();
        assert_eq!((a.ext, a.mimetype), ("ogg", "audio/ogg"));
    }
}
