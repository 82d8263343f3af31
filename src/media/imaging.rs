//! Still-image work, the one image path of the gateway (on the `image` crate): for sends,
//! the small JPEG preview WhatsApp shows before the download (`jpegThumbnail`) and the
//! picture size, optional downscaling of large photos (`compress`), and stickers (a 512×512
//! WebP with transparent padding); for `/misc/media/*`, resizing with a fit mode and
//! re-encoding as JPEG (with a quality), PNG or WebP. WebP output is lossless: the `image`
//! crate has no lossy WebP encoder, so a WebP's quality setting has no effect.
//!
//! CPU- and memory-bound: callers run these through [`run`], which holds one permit of
//! a process-wide semaphore (`WAREST_IMAGE_CONCURRENCY`) on the blocking pool, so the
//! memory of image work is bounded by the permits, not by the number of requests. A
//! picture's size is read from its header before anything is decoded: more than
//! `WAREST_IMAGE_MAX_PIXELS` is refused at once ([`ImagingError::TooLarge`]), and the
//! decoder may allocate no more than such a picture needs as 8-bit RGBA, so a small file
//! that claims a huge picture cannot exhaust memory.

use std::io::Cursor;
use std::sync::{Arc, Mutex};

use image::{DynamicImage, ImageFormat, ImageReader, Limits};
use tokio::sync::Semaphore;

/// Longest side of the preview WhatsApp shows before the download.
const THUMB_SIDE: u32 = 72;
/// Longest side kept when `compress` is on; WhatsApp's apps send photos at about this size.
pub const COMPRESS_SIDE: u32 = 1600;
/// A sticker is a square of this side.
pub const STICKER_SIDE: u32 = 512;
/// Largest side decoded, whatever the pixel limit says.
const MAX_SIDE: u32 = 12_000;
/// Bytes per pixel the allocation cap allows: 8-bit RGBA.
const ALLOC_PER_PIXEL: u64 = 4;

/// The process-wide limits of image work (`WAREST_IMAGE_*`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImageLimits {
    /// Pictures decoded or encoded at once.
    pub concurrency: usize,
    /// Largest width × height decoded.
    pub max_pixels: u64,
}

impl Default for ImageLimits {
    fn default() -> Self {
        ImageLimits { concurrency: 2, max_pixels: 40_000_000 }
    }
}

struct Gate {
    limits: ImageLimits,
    slots: Arc<Semaphore>,
}

/// One gate for the whole process: image work competes for the same memory whichever
/// route or action asks for it. Replaced (not resized) by [`configure`]; work holding a
/// permit of the old one finishes on it.
static GATE: Mutex<Option<Arc<Gate>>> = Mutex::new(None);

fn gate() -> Arc<Gate> {
    let mut g = GATE.lock().unwrap_or_else(|e| e.into_inner());
    g.get_or_insert_with(|| new_gate(ImageLimits::default())).clone()
}

fn new_gate(limits: ImageLimits) -> Arc<Gate> {
    Arc::new(Gate { limits, slots: Arc::new(Semaphore::new(limits.concurrency.max(1))) })
}

/// Sets the limits of image work (at start, from the configuration).
pub fn configure(limits: ImageLimits) {
    *GATE.lock().unwrap_or_else(|e| e.into_inner()) = Some(new_gate(limits));
}

/// Runs image work on the blocking pool once a permit is free. The permit moves into
/// the blocking task, so a request that goes away while its picture is being decoded
/// still holds it until the memory is released.
pub async fn run<T: Send + 'static>(job: impl FnOnce() -> T + Send + 'static) -> Result<T, ImagingError> {
    run_on(&gate(), job).await
}

async fn run_on<T: Send + 'static>(gate: &Gate, job: impl FnOnce() -> T + Send + 'static) -> Result<T, ImagingError> {
    let slots = gate.slots.clone();
    let permit = slots.acquire_owned().await.map_err(|_| ImagingError::Undecodable("image work stopped".into()))?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        job()
    })
    .await
    .map_err(|e| ImagingError::Undecodable(format!("image task failed: {e}")))
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ImagingError {
    #[error("is not a readable image ({0})")]
    Undecodable(String),
    #[error("is {0}×{1} pixels, more than the {2} allowed (WAREST_IMAGE_MAX_PIXELS)")]
    TooLarge(u32, u32, u64),
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

fn guessed(bytes: &[u8]) -> Result<ImageReader<Cursor<&[u8]>>, ImagingError> {
    ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|e| ImagingError::Undecodable(e.to_string()))
}

/// A reader whose picture's header was checked against the pixel limit, with the
/// decoder's side and allocation limits set.
fn reader(bytes: &[u8]) -> Result<ImageReader<Cursor<&[u8]>>, ImagingError> {
    let max_pixels = gate().limits.max_pixels;
    // The header alone: nothing of the picture is decoded yet.
    let (w, h) = guessed(bytes)?.into_dimensions().map_err(|e| ImagingError::Undecodable(e.to_string()))?;
    if u64::from(w) * u64::from(h) > max_pixels || w > MAX_SIDE || h > MAX_SIDE {
        return Err(ImagingError::TooLarge(w, h, max_pixels));
    }
    let mut r = guessed(bytes)?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(max_pixels * ALLOC_PER_PIXEL);
    r.limits(limits);
    Ok(r)
}

fn decode(r: ImageReader<Cursor<&[u8]>>) -> Result<DynamicImage, ImagingError> {
    r.decode().map_err(|e| match e {
        // A header that understated the picture, or a deeper format than 8-bit RGBA.
        image::ImageError::Limits(_) => {
            ImagingError::Undecodable(format!("needs more memory than the image limit allows ({e})"))
        }
        e => ImagingError::Undecodable(e.to_string()),
    })
}

/// Any readable picture (JPEG, PNG, WebP, GIF: the first frame), within the pixel and
/// allocation limits.
pub fn decode_image(bytes: &[u8]) -> Result<DynamicImage, ImagingError> {
    decode(reader(bytes)?)
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
    let img = decode(r)?;
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

    /// An 8-bit RGBA PNG's signature, IHDR, an empty IDAT and IEND: a header and no pixels.
    fn png_header(w: u32, h: u32) -> Vec<u8> {
        fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
            let body = [kind, data].concat();
            let crc = body.iter().fold(!0u32, |mut c, &b| {
                c ^= u32::from(b);
                for _ in 0..8 {
                    c = if c & 1 == 1 { (c >> 1) ^ 0xEDB8_8320 } else { c >> 1 };
                }
                c
            });
            out.extend_from_slice(&(data.len() as u32).to_be_bytes());
            out.extend_from_slice(&body);
            out.extend_from_slice(&(!crc).to_be_bytes());
        }
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        chunk(&mut out, b"IHDR", &[&w.to_be_bytes()[..], &h.to_be_bytes(), &[8, 6, 0, 0, 0]].concat());
        chunk(&mut out, b"IDAT", &[]);
        chunk(&mut out, b"IEND", &[]);
        out
    }

    #[test]
    fn a_picture_over_the_pixel_limit_is_refused_from_its_header() {
        // A PNG header claiming 11,000 × 11,000 RGBA (~0.5 GB decoded) and no pixels at all:
        // the refusal cannot have come from decoding.
        let bomb = png_header(11_000, 11_000);
        let want = ImagingError::TooLarge(11_000, 11_000, ImageLimits::default().max_pixels);
        assert_eq!(decode_image(&bomb).unwrap_err(), want);
        assert_eq!(still(&bomb, "image/png", true).unwrap_err(), want);
        assert_eq!(sticker(&bomb).unwrap_err(), want);
    }

    #[tokio::test]
    async fn image_work_holds_one_permit_of_the_global_limit() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        // Its own gate: other tests may replace the process-wide one meanwhile.
        let gate = new_gate(ImageLimits { concurrency: 3, ..ImageLimits::default() });
        let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let jobs = (0..9).map(|_| {
            let (now, most) = (now.clone(), most.clone());
            run_on(&gate, move || {
                let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(n, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(30));
                now.fetch_sub(1, Ordering::SeqCst);
            })
        });
        for r in futures_util::future::join_all(jobs).await {
            r.unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 3);
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
