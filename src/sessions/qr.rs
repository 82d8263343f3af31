//! Renders a pairing QR string as a PNG (and a `data:` URL), without an image stack.

use base64::Engine;
use qrcode::{EcLevel, QrCode};

/// Pixels per QR module and the quiet zone around the code, in modules.
const SCALE: usize = 8;
const QUIET: usize = 4;

pub fn png(text: &str) -> anyhow::Result<Vec<u8>> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::L)?;
    let n = code.width();
    let colors = code.to_colors();
    let side = (n + 2 * QUIET) * SCALE;
    let mut pixels = vec![255u8; side * side];
    for (i, c) in colors.iter().enumerate() {
        if *c == qrcode::Color::Dark {
            let (x0, y0) = ((i % n + QUIET) * SCALE, (i / n + QUIET) * SCALE);
            for y in y0..y0 + SCALE {
                pixels[y * side + x0..y * side + x0 + SCALE].fill(0);
            }
        }
    }
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, side as u32, side as u32);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header()?.write_image_data(&pixels)?;
    Ok(out)
}

pub fn data_url(text: &str) -> anyhow::Result<String> {
    Ok(format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(png(text)?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_png_data_url() {
        let url = data_url("2@abc,def,ghi,jkl").unwrap();
        assert!(url.starts_with("data:image/png;base64,iVBORw0KGgo"), "PNG magic");
        let bytes = png("x").unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let info = decoder.read_info().unwrap().info().clone();
        assert_eq!(info.width, info.height);
        assert_eq!(info.width as usize % SCALE, 0);
    }
}
