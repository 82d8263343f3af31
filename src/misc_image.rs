//! PNG decoding, resizing and encoding for `/api/v1/misc/media/*`, on the `png` crate.
//! Other input formats are decoded by the `image` crate (`outbound::imaging::decode_rgba`)
//! into the same `Rgba`; output is always PNG. Pure functions, tested here.

/// Decoded images are capped at this many pixels (and bytes, ×4), so a small compressed
/// file cannot expand into gigabytes.
pub const MAX_PIXELS: usize = 40_000_000;
/// Largest width or height a caller may ask for.
pub const MAX_SIDE: u32 = 4096;

/// An 8-bit RGBA image.
#[derive(Debug, Clone, PartialEq)]
pub struct Rgba {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
}

pub fn is_png(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x89PNG\r\n\x1a\n")
}

pub fn decode_png(bytes: &[u8]) -> Result<Rgba, String> {
    let limits = png::Limits { bytes: MAX_PIXELS * 4 };
    let mut decoder = png::Decoder::new_with_limits(std::io::Cursor::new(bytes), limits);
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(|e| format!("is not a readable PNG ({e})"))?;
    let (w, h) = (reader.info().width, reader.info().height);
    if (w as usize).saturating_mul(h as usize) > MAX_PIXELS {
        return Err(format!("is larger than {MAX_PIXELS} pixels"));
    }
    let mut buf = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut buf).map_err(|e| format!("is not a readable PNG ({e})"))?;
    let data = &buf[..frame.buffer_size()];
    let pixels: Vec<u8> = match frame.color_type {
        png::ColorType::Rgba => data.to_vec(),
        png::ColorType::Rgb => data.chunks_exact(3).flat_map(|p| [p[0], p[1], p[2], 255]).collect(),
        png::ColorType::GrayscaleAlpha => data.chunks_exact(2).flat_map(|p| [p[0], p[0], p[0], p[1]]).collect(),
        png::ColorType::Grayscale => data.iter().flat_map(|g| [*g, *g, *g, 255]).collect(),
        png::ColorType::Indexed => return Err("uses a palette that could not be expanded".into()),
    };
    Ok(Rgba { width: frame.width, height: frame.height, pixels })
}

pub fn encode_png(img: &Rgba, best: bool) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, img.width, img.height);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(if best { png::Compression::Best } else { png::Compression::Default });
    let mut w = enc.write_header().map_err(|e| e.to_string())?;
    w.write_image_data(&img.pixels).map_err(|e| e.to_string())?;
    drop(w);
    Ok(out)
}

/// The size that fits `(w, h)` inside `(max_w, max_h)` keeping the aspect ratio
/// (never enlarging), at least 1×1.
pub fn fit_inside(w: u32, h: u32, max_w: u32, max_h: u32) -> (u32, u32) {
    if w <= max_w && h <= max_h {
        return (w, h);
    }
    let scale = (f64::from(max_w) / f64::from(w)).min(f64::from(max_h) / f64::from(h));
    (((f64::from(w) * scale).round() as u32).max(1), ((f64::from(h) * scale).round() as u32).max(1))
}

/// Area-average resampling to exactly `(nw, nh)`: each target pixel is the mean of the
/// source pixels it covers (a box filter; good for shrinking, plain for enlarging).
pub fn resize(img: &Rgba, nw: u32, nh: u32) -> Rgba {
    let (w, h) = (img.width as usize, img.height as usize);
    let (nw_, nh_) = (nw.max(1) as usize, nh.max(1) as usize);
    let mut out = vec![0u8; nw_ * nh_ * 4];
    for ty in 0..nh_ {
        let (y0, y1) = (ty * h / nh_, ((ty + 1) * h).div_ceil(nh_).max(ty * h / nh_ + 1).min(h));
        for tx in 0..nw_ {
            let (x0, x1) = (tx * w / nw_, ((tx + 1) * w).div_ceil(nw_).max(tx * w / nw_ + 1).min(w));
            let mut acc = [0u64; 4];
            for y in y0..y1 {
                for x in x0..x1 {
                    let p = &img.pixels[(y * w + x) * 4..(y * w + x) * 4 + 4];
                    for c in 0..4 {
                        acc[c] += u64::from(p[c]);
                    }
                }
            }
            let n = ((y1 - y0) * (x1 - x0)) as u64;
            let o = &mut out[(ty * nw_ + tx) * 4..(ty * nw_ + tx) * 4 + 4];
            for c in 0..4 {
                o[c] = (acc[c] / n) as u8;
            }
        }
    }
    Rgba { width: nw_ as u32, height: nh_ as u32, pixels: out }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checker(w: u32, h: u32) -> Rgba {
        let pixels = (0..w * h)
            .flat_map(|i| if (i % w + i / w).is_multiple_of(2) { [0, 0, 0, 255] } else { [255, 255, 255, 255] })
            .collect();
        Rgba { width: w, height: h, pixels }
    }

    #[test]
    fn png_round_trips() {
        let img = checker(5, 3);
        let back = decode_png(&encode_png(&img, true).unwrap()).unwrap();
        assert_eq!(back, img);
        assert!(decode_png(b"\x89PNG\r\n\x1a\nbroken").is_err());
    }

    #[test]
    fn fit_keeps_aspect_and_never_enlarges() {
        assert_eq!(fit_inside(640, 480, 320, 320), (320, 240));
        assert_eq!(fit_inside(100, 50, 320, 320), (100, 50));
        assert_eq!(fit_inside(1000, 1, 10, 10), (10, 1));
    }

    #[test]
    fn box_filter_averages() {
        // A 2x2 checkerboard shrunk to one pixel is mid-grey.
        let one = resize(&checker(2, 2), 1, 1);
        assert_eq!(one.pixels, vec![127, 127, 127, 255]);
        let up = resize(&checker(2, 2), 4, 4);
        assert_eq!((up.width, up.height, up.pixels.len()), (4, 4, 64));
    }
}
