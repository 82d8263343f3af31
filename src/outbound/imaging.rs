//! Still-image work done when a send is accepted: the small JPEG preview WhatsApp shows
//! before the download (`jpegThumbnail`) and the picture size, optional downscaling of
//! large photos (`compress`), and stickers (a 512×512 WebP with transparent padding).
//!
//! CPU-bound: callers run these on the blocking pool. Decoding is bounded by pixel and
//! allocation limits, so a small file that claims a huge picture cannot exhaust memory.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, ImageReader, Limits};

/// Longest side of the preview WhatsApp shows before the download.
const THUMB_SIDE: u32 = 72;
/// Longest side kept when `compress` is on; WhatsApp's apps send photos at about this size.
pub const COMPRESS_SIDE: u32 = 1600;
/// A sticker is a square of this side.
pub const STICKER_SIDE: u32 = 512;
/// Largest picture decoded (either side) and the memory a decode may take.
const MAX_SIDE: u32 = 12_000;
const MAX_ALLOC: u64 = 512 * 1024 * 1024;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ImagingError {
    #[error("is not a readable image ({0})")]
    Undecodable(String),
}

/// An image ready to send: its bytes (re-encoded when compressed), type, size and preview.
#[derive(Debug, Clone)]
pub struct Still {
    pub bytes: Vec<u8>,
    pub mimetype: String,
    pub width: u32,
    pub height: u32,
    pub thumbnail: Vec<u8>,
    pub compressed: bool,
}

fn reader(bytes: &[u8]) -> Result<ImageReader<Cursor<&[u8]>>, ImagingError> {
    let mut r = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| ImagingError::Undecodable(e.to_string()))?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    r.limits(limits);
    Ok(r)
}

fn decode(bytes: &[u8]) -> Result<DynamicImage, ImagingError> {
    reader(bytes)?.decode().map_err(|e| ImagingError::Undecodable(e.to_string()))
}

/// Any readable picture (JPEG, PNG, WebP, GIF) as 8-bit RGBA: width, height, pixels.
pub fn decode_rgba(bytes: &[u8]) -> Result<(u32, u32, Vec<u8>), ImagingError> {
    let img = decode(bytes)?.to_rgba8();
    Ok((img.width(), img.height(), img.into_raw()))
}

fn jpeg(img: &DynamicImage, quality: u8) -> Result<Vec<u8>, ImagingError> {
    let mut out = Vec::new();
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality);
    // JPEG has no alpha: flatten to RGB first.
    DynamicImage::ImageRgb8(img.to_rgb8())
        .write_with_encoder(enc)
        .map_err(|e| ImagingError::Undecodable(format!("jpeg encoding failed: {e}")))?;
    Ok(out)
}

/// The preview JPEG of a decoded picture.
pub fn thumbnail_of(img: &DynamicImage) -> Result<Vec<u8>, ImagingError> {
    jpeg(&img.thumbnail(THUMB_SIDE, THUMB_SIDE), 60)
}

/// Reads an image, makes its preview and, with `compress`, re-encodes a picture larger
/// than [`COMPRESS_SIDE`] as a downscaled JPEG. Smaller pictures are sent as given.
pub fn still(bytes: &[u8], mimetype: &str, compress: bool) -> Result<Still, ImagingError> {
    let img = decode(bytes)?;
    let thumbnail = thumbnail_of(&img)?;
    if compress && img.width().max(img.height()) > COMPRESS_SIDE {
        let small = img.resize(COMPRESS_SIDE, COMPRESS_SIDE, image::imageops::FilterType::Triangle);
        return Ok(Still {
            bytes: jpeg(&small, 80)?,
            mimetype: "image/jpeg".into(),
            width: small.width(),
            height: small.height(),
            thumbnail,
            compressed: true,
        });
    }
    Ok(Still {
        bytes: bytes.to_vec(),
        mimetype: mimetype.to_string(),
        width: img.width(),
        height: img.height(),
        thumbnail,
        compressed: false,
    })
}

/// A sticker: a WebP is sent as it is; any other image is scaled to fit a 512×512
/// square (aspect kept, transparent padding) and encoded as lossless WebP.
pub fn sticker(bytes: &[u8]) -> Result<Still, ImagingError> {
    let r = reader(bytes)?;
    if r.format() == Some(ImageFormat::WebP) {
        let (width, height) = r.into_dimensions().map_err(|e| ImagingError::Undecodable(e.to_string()))?;
        return Ok(Still {
            bytes: bytes.to_vec(),
            mimetype: "image/webp".into(),
            width,
            height,
            thumbnail: Vec::new(),
            compressed: false,
        });
    }
    let img = r.decode().map_err(|e| ImagingError::Undecodable(e.to_string()))?;
    let fitted = img.resize(STICKER_SIDE, STICKER_SIDE, image::imageops::FilterType::Lanczos3).to_rgba8();
    let mut canvas = image::RgbaImage::new(STICKER_SIDE, STICKER_SIDE);
    let x = (STICKER_SIDE - fitted.width()) / 2;
    let y = (STICKER_SIDE - fitted.height()) / 2;
    image::imageops::overlay(&mut canvas, &fitted, x as i64, y as i64);
    let mut out = Vec::new();
    DynamicImage::ImageRgba8(canvas)
        .write_with_encoder(image::codecs::webp::WebPEncoder::new_lossless(&mut out))
        .map_err(|e| ImagingError::Undecodable(format!("webp encoding failed: {e}")))?;
    Ok(Still {
        bytes: out,
        mimetype: "image/webp".into(),
        width: STICKER_SIDE,
        height: STICKER_SIDE,
        thumbnail: Vec::new(),
        compressed: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
        let mut out = Vec::new();
        DynamicImage::ImageRgb8(img).write_to(&mut Cursor::new(&mut out), ImageFormat::Png).unwrap();
        out
    }

    #[test]
    fn a_small_image_is_kept_and_gets_a_jpeg_preview() {
        let src = png(200, 100);
        let s = still(&src, "image/png", true).unwrap();
        assert_eq!((s.bytes == src, s.mimetype.as_str(), s.width, s.height), (true, "image/png", 200, 100));
        let thumb = image::load_from_memory(&s.thumbnail).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (72, 36));
        assert!(s.thumbnail.starts_with(&[0xFF, 0xD8]));
    }

    #[test]
    fn compress_downscales_a_large_picture_to_jpeg() {
        let s = still(&png(2000, 1000), "image/png", true).unwrap();
        assert_eq!((s.mimetype.as_str(), s.width, s.height, s.compressed), ("image/jpeg", 1600, 800, true));
        let s = still(&png(2000, 1000), "image/png", false).unwrap();
        assert_eq!((s.mimetype.as_str(), s.width), ("image/png", 2000));
    }

    #[test]
    fn a_sticker_is_a_padded_512_square_webp() {
        let s = sticker(&png(100, 50)).unwrap();
        let img = image::load_from_memory(&s.bytes).unwrap().to_rgba8();
        assert_eq!((img.width(), img.height(), s.mimetype.as_str()), (512, 512, "image/webp"));
        assert_eq!(img.get_pixel(0, 0)[3], 0, "padding is transparent");
        assert_eq!(img.get_pixel(256, 256)[3], 255, "the picture is opaque");
        let again = sticker(&s.bytes).unwrap();
        assert_eq!(again.bytes, s.bytes, "a WebP is sent as it is");
        assert!(matches!(sticker(b"nope"), Err(ImagingError::Undecodable(_))));
    }
}
