//! Media made on the spot for the send tests: audio and video through ffmpeg's synthetic
//! sources (the tests need ffmpeg on PATH, as the gateway does), images through `image`.

use std::io::Cursor;

/// Runs ffmpeg on a synthetic source (`lavfi`) and returns the output file's bytes.
pub fn ffmpeg(args: &[&str], ext: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join(format!("out.{ext}"));
    let status = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
        .args(args)
        .arg(&out)
        .status()
        .expect("these tests need ffmpeg on PATH");
    assert!(status.success(), "ffmpeg {args:?}");
    std::fs::read(out).unwrap()
}

pub fn sine_wav() -> Vec<u8> {
    ffmpeg(&["-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-f", "wav"], "wav")
}

pub fn sine_opus() -> Vec<u8> {
    ffmpeg(&["-f", "lavfi", "-i", "sine=frequency=660:duration=3", "-c:a", "libopus", "-f", "ogg"], "ogg")
}

pub fn clip_mp4() -> Vec<u8> {
    ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=duration=2:size=160x120:rate=10",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-movflags",
            "+faststart",
            "-f",
            "mp4",
        ],
        "mp4",
    )
}

pub fn clip_gif() -> Vec<u8> {
    ffmpeg(&["-f", "lavfi", "-i", "testsrc=duration=1:size=64x48:rate=5", "-f", "gif"], "gif")
}

pub fn picture(w: u32, h: u32, format: image::ImageFormat) -> Vec<u8> {
    let img = image::RgbaImage::from_fn(w, h, |x, y| image::Rgba([(x * 7) as u8, (y * 3) as u8, 120, 255]));
    let mut out = Vec::new();
    image::DynamicImage::ImageRgba8(img).write_to(&mut Cursor::new(&mut out), format).unwrap();
    out
}

/// Whether the proto JSON has `field` (snake or camel case) set to true.
pub fn flag(json: &str, snake: &str, camel: &str) -> bool {
    json.contains(&format!("\"{snake}\":true")) || json.contains(&format!("\"{camel}\":true"))
}
