//! Still-image work, the one image path of the gateway (on the `image` crate): for sends,
//! the small JPEG preview WhatsApp shows before the download (`jpegThumbnail`) and the
//! picture size, optional downscaling of large photos (`compress`), and stickers (a 512×512
//! WebP with transparent padding); for `/misc/media/*`, resizing with a fit mode and
//! re-encoding as JPEG (with a quality), PNG or WebP. WebP output is lossless: the `image`
//! crate has no lossy WebP encoder, so a WebP's quality setting has no effect.
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

/// Any readable picture (JPEG, PNG, WebP, GIF: the first frame), within the pixel and
/// allocation limits.
pub fn decode_image(bytes: &[u8]) -> Result<DynamicImage, ImagingError> {
    reader(bytes)?.decode().map_err(|e| ImagingError::Undecodable(e.to_string()))
}

pub fn is_png(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x89PNG\r\n\x1a\n")
}

fn jpeg(img: &DynamicImage, quality: u8) -> Result<Vec<u8>, ImagingError> {
    let mut out = Vec::new();
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality.clamp(1, 100));
    // JPEG has no alpha: flatten onto white, so transparent areas do not turn black.
    let rgb = if img.color().has_alpha() {
        let mut canvas = image::RgbaImage::from_pixel(img.width(), img.height(), image::Rgba([255, 255, 255, 255]));
        image::imageops::overlay(&mut canvas, &img.to_rgba8(), 0, 0);
        DynamicImage::ImageRgba8(canvas).to_rgb8()
    } else {
        img.to_rgb8()
    };
    DynamicImage::ImageRgb8(rgb)
        .write_with_encoder(enc)
        .map_err(|e| ImagingError::Undecodable(format!("jpeg encoding failed: {e}")))?;
    Ok(out)
}

/// The formats a picture can be re-encoded to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
    WebP,
}

impl Format {
    /// `jpg`/`jpeg`, `png` or `webp`, any case.
    pub fn parse(name: &str) -> Option<Format> {
        match name.trim().to_ascii_lowercase().as_str() {
            "jpg" | "jpeg" => Some(Format::Jpeg),
            "png" => Some(Format::Png),
            "webp" => Some(Format::WebP),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Jpeg => "jpeg",
            Format::Png => "png",
            Format::WebP => "webp",
        }
    }

    pub fn mimetype(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::WebP => "image/webp",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Jpeg => "jpg",
            Format::Png => "png",
            Format::WebP => "webp",
        }
    }
}

/// Encodes `img` as `format`. `quality` (1-100) is JPEG's quality; for PNG any quality
/// asks for the smallest (slowest) encoding; lossless WebP ignores it.
pub fn encode(img: &DynamicImage, format: Format, quality: Option<u8>) -> Result<Vec<u8>, ImagingError> {
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};
    let failed = |e: image::ImageError| ImagingError::Undecodable(format!("{} encoding failed: {e}", format.name()));
    match format {
        Format::Jpeg => jpeg(img, quality.unwrap_or(85)),
        Format::Png => {
            let mut out = Vec::new();
            let level = if quality.is_some() { CompressionType::Best } else { CompressionType::Default };
            img.write_with_encoder(PngEncoder::new_with_quality(&mut out, level, FilterType::Adaptive))
                .map_err(failed)?;
            Ok(out)
        }
        Format::WebP => {
            let mut out = Vec::new();
            // The lossless encoder takes 8-bit RGB(A) only.
            let img = if img.color().has_alpha() {
                DynamicImage::ImageRgba8(img.to_rgba8())
            } else {
                DynamicImage::ImageRgb8(img.to_rgb8())
            };
            img.write_with_encoder(image::codecs::webp::WebPEncoder::new_lossless(&mut out)).map_err(failed)?;
            Ok(out)
        }
    }
}

/// How a picture is fitted to a requested width × height (the names of sharp's `fit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// Inside the box, aspect kept, never enlarged.
    Inside,
    /// Exactly the box, aspect ignored.
    Fill,
    /// Exactly the box, aspect kept, the overflow cropped from the centre.
    Cover,
    /// Exactly the box, aspect kept, the rest padded with transparency.
    Contain,
    /// Covers the box, aspect kept, nothing cropped (one side may exceed the box).
    Outside,
}

impl Fit {
    pub fn parse(name: &str) -> Option<Fit> {
        match name.trim().to_ascii_lowercase().as_str() {
            "inside" => Some(Fit::Inside),
            "fill" => Some(Fit::Fill),
            "cover" => Some(Fit::Cover),
            "contain" => Some(Fit::Contain),
            "outside" => Some(Fit::Outside),
            _ => None,
        }
    }
}

/// The size that fits `(w, h)` inside `(max_w, max_h)` keeping the aspect ratio
/// (never enlarging), at least 1×1.
pub fn fit_inside(w: u32, h: u32, max_w: u32, max_h: u32) -> (u32, u32) {
    if w <= max_w && h <= max_h {
        return (w, h);
    }
    scale_to(w, h, (f64::from(max_w) / f64::from(w)).min(f64::from(max_h) / f64::from(h)))
}

fn scale_to(w: u32, h: u32, scale: f64) -> (u32, u32) {
    let side = |v: u32| ((f64::from(v) * scale).round().clamp(1.0, f64::from(u32::MAX))) as u32;
    (side(w), side(h))
}

/// The size of the result of resizing a `w`×`h` picture to `width`×`height` (either may
/// be absent: then it follows from the other and the aspect ratio) with `fit`. Pure, so
/// callers can refuse an oversized result before doing any work.
pub fn resized_size(w: u32, h: u32, width: Option<u32>, height: Option<u32>, fit: Fit) -> (u32, u32) {
    let (w, h) = (w.max(1), h.max(1));
    match (width, height) {
        (None, None) => (w, h),
        (Some(bw), None) if fit == Fit::Inside => fit_inside(w, h, bw, u32::MAX),
        (None, Some(bh)) if fit == Fit::Inside => fit_inside(w, h, u32::MAX, bh),
        (Some(bw), None) => scale_to(w, h, f64::from(bw) / f64::from(w)),
        (None, Some(bh)) => scale_to(w, h, f64::from(bh) / f64::from(h)),
        (Some(bw), Some(bh)) => match fit {
            Fit::Inside => fit_inside(w, h, bw, bh),
            Fit::Fill | Fit::Cover | Fit::Contain => (bw, bh),
            Fit::Outside => scale_to(w, h, (f64::from(bw) / f64::from(w)).max(f64::from(bh) / f64::from(h))),
        },
    }
}

/// Resizes as [`resized_size`] says.
pub fn resize(img: &DynamicImage, width: Option<u32>, height: Option<u32>, fit: Fit) -> DynamicImage {
    use image::imageops::FilterType::Lanczos3;
    let (tw, th) = resized_size(img.width(), img.height(), width, height, fit);
    if (tw, th) == (img.width(), img.height()) {
        return img.clone();
    }
    match (fit, width.zip(height)) {
        (Fit::Cover, Some(_)) => img.resize_to_fill(tw, th, Lanczos3),
        (Fit::Contain, Some(_)) => {
            let fitted = img.resize(tw, th, Lanczos3).to_rgba8();
            let mut canvas = image::RgbaImage::new(tw, th);
            let (x, y) = ((tw - fitted.width()) / 2, (th - fitted.height()) / 2);
            image::imageops::overlay(&mut canvas, &fitted, i64::from(x), i64::from(y));
            DynamicImage::ImageRgba8(canvas)
        }
        _ => img.resize_exact(tw, th, Lanczos3),
    }
}

/// The preview JPEG of a decoded picture.
pub fn thumbnail_of(img: &DynamicImage) -> Result<Vec<u8>, ImagingError> {
    jpeg(&img.thumbnail(THUMB_SIDE, THUMB_SIDE), 60)
}

/// Reads an image, makes its preview and, with `compress`, re-encodes a picture larger
/// than [`COMPRESS_SIDE`] as a downscaled JPEG. Smaller pictures are sent as given.
pub fn still(bytes: &[u8], mimetype: &str, compress: bool) -> Result<Still, ImagingError> {
    let img = decode_image(bytes)?;
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
    fn fit_modes_give_the_documented_sizes() {
        assert_eq!(fit_inside(640, 480, 320, 320), (320, 240));
        assert_eq!(fit_inside(100, 50, 320, 320), (100, 50), "inside never enlarges");
        assert_eq!(resized_size(640, 480, Some(320), None, Fit::Inside), (320, 240));
        assert_eq!(resized_size(640, 480, Some(1280), None, Fit::Fill), (1280, 960));
        assert_eq!(resized_size(640, 480, Some(100), Some(30), Fit::Fill), (100, 30));
        assert_eq!(resized_size(640, 480, Some(100), Some(100), Fit::Outside), (133, 100));
        let img = DynamicImage::ImageRgb8(image::RgbImage::new(640, 480));
        for fit in [Fit::Cover, Fit::Contain, Fit::Fill] {
            let out = resize(&img, Some(50), Some(40), fit);
            assert_eq!((out.width(), out.height()), (50, 40), "{fit:?}");
        }
        let padded = resize(&img, Some(100), Some(100), Fit::Contain).to_rgba8();
        assert_eq!((padded.get_pixel(50, 0)[3], padded.get_pixel(50, 50)[3]), (0, 255));
    }

    #[test]
    fn encodes_each_format_so_it_decodes_back() {
        let img = decode_image(&png(30, 20)).unwrap();
        for (format, magic) in
            [(Format::Jpeg, &b"\xFF\xD8"[..]), (Format::Png, &b"\x89PNG"[..]), (Format::WebP, &b"RIFF"[..])]
        {
            let bytes = encode(&img, format, Some(70)).unwrap();
            assert!(bytes.starts_with(magic), "{format:?}");
            let back = image::load_from_memory(&bytes).unwrap();
            assert_eq!((back.width(), back.height()), (30, 20), "{format:?}");
        }
        let lossless = image::load_from_memory(&encode(&img, Format::WebP, None).unwrap()).unwrap();
        assert_eq!(lossless.to_rgb8(), img.to_rgb8(), "WebP output is lossless");
        assert_eq!(Format::parse("JPG"), Some(Format::Jpeg));
        assert_eq!(Format::parse("tiff"), None);
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
