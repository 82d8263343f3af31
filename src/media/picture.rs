//! What `/api/v1/misc/media/*` does to a picture, on the shared image path
//! (`media::imaging`): the limits of these routes, a thumbnail fitted in a box, and the
//! `actions` of the image route (convert, resize, compress) applied in one go. Pure and
//! CPU-bound: the routes run these on the blocking pool.

use image::{DynamicImage, ImageFormat};

use crate::media::imaging::{self, Fit, Format};

/// Decoded pictures are capped at this many pixels (on top of imaging's own side and
/// memory limits), so a small compressed file cannot keep a worker busy for long.
pub const MAX_PIXELS: u64 = 40_000_000;
/// Largest width or height a caller may ask for, and of any resized output.
pub const MAX_SIDE: u32 = 4096;
/// Most stills one video thumbnail request may ask for.
pub const MAX_STILLS: u32 = 10;

/// Why a picture could not be processed, by the request field to blame.
#[derive(Debug, PartialEq)]
pub enum MiscImageError {
    /// The input (`file`) is not a readable picture or is too large.
    Input(String),
    /// The requested resize would give a picture larger than [`MAX_SIDE`].
    TooLarge(u32, u32),
    /// Encoding failed (not the caller's fault).
    Encode(String),
}

/// A produced picture.
#[derive(Debug, Clone)]
pub struct Picture {
    pub bytes: Vec<u8>,
    pub format: Format,
    pub width: u32,
    pub height: u32,
}

fn decode(bytes: &[u8]) -> Result<DynamicImage, MiscImageError> {
    let img = imaging::decode_image(bytes).map_err(|e| MiscImageError::Input(e.to_string()))?;
    if u64::from(img.width()) * u64::from(img.height()) > MAX_PIXELS {
        return Err(MiscImageError::Input(format!("is larger than {MAX_PIXELS} pixels")));
    }
    Ok(img)
}

fn encode(img: &DynamicImage, format: Format, quality: Option<u8>) -> Result<Picture, MiscImageError> {
    let bytes = imaging::encode(img, format, quality).map_err(|e| MiscImageError::Encode(e.to_string()))?;
    Ok(Picture { bytes, format, width: img.width(), height: img.height() })
}

/// A thumbnail of a picture: fitted inside `box_w` × `box_h` (aspect kept, never enlarged).
pub fn thumbnail(bytes: &[u8], box_w: u32, box_h: u32, format: Format) -> Result<Picture, MiscImageError> {
    let img = decode(bytes)?;
    let small = imaging::resize(&img, Some(box_w), Some(box_h), Fit::Inside);
    encode(&small, format, Some(80).filter(|_| format == Format::Jpeg))
}

/// The image route's actions.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Actions {
    /// Output format; None keeps the input's (JPEG, PNG or WebP; anything else becomes PNG).
    pub convert: Option<Format>,
    pub resize: Option<(Option<u32>, Option<u32>, Fit)>,
    /// 1-100: JPEG quality; for PNG the smallest encoding; lossless WebP ignores it.
    pub quality: Option<u8>,
}

/// Applies `actions` to a picture. The resized size is checked before any pixel work.
pub fn process(bytes: &[u8], actions: Actions) -> Result<Picture, MiscImageError> {
    let format = actions.convert.unwrap_or(match image::guess_format(bytes) {
        Ok(ImageFormat::Jpeg) => Format::Jpeg,
        Ok(ImageFormat::WebP) => Format::WebP,
        _ => Format::Png,
    });
    let img = decode(bytes)?;
    let img = match actions.resize {
        None => img,
        Some((w, h, fit)) => {
            let (tw, th) = imaging::resized_size(img.width(), img.height(), w, h, fit);
            if tw > MAX_SIDE || th > MAX_SIDE {
                return Err(MiscImageError::TooLarge(tw, th));
            }
            imaging::resize(&img, w, h, fit)
        }
    };
    encode(&img, format, actions.quality)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let mut out = Vec::new();
        DynamicImage::new_rgb8(w, h).write_to(&mut std::io::Cursor::new(&mut out), ImageFormat::Png).unwrap();
        out
    }

    #[test]
    fn thumbnails_fit_the_box_in_the_asked_format() {
        let t = thumbnail(&png(640, 480), 64, 64, Format::Jpeg).unwrap();
        assert_eq!((t.width, t.height), (64, 48));
        assert!(t.bytes.starts_with(&[0xFF, 0xD8]));
        assert!(matches!(thumbnail(b"nope", 64, 64, Format::Png), Err(MiscImageError::Input(_))));
    }

    #[test]
    fn process_keeps_the_input_format_unless_converted_and_refuses_huge_outputs() {
        let p = process(&png(40, 20), Actions::default()).unwrap();
        assert_eq!((p.format, p.width, p.height), (Format::Png, 40, 20));
        let a = Actions { convert: Some(Format::WebP), resize: Some((Some(10), None, Fit::Fill)), quality: None };
        let p = process(&png(40, 20), a).unwrap();
        assert_eq!((p.format, p.width, p.height), (Format::WebP, 10, 5));
        let a = Actions { resize: Some((Some(4000), Some(4000), Fit::Outside)), ..Actions::default() };
        assert_eq!(process(&png(400, 20), a).unwrap_err(), MiscImageError::TooLarge(80_000, 4000));
    }
}
