//! Media made on the spot for the send tests. What plain Rust can write is written here
//! (pictures through `image`, a WAV tone, an animated GIF, an Ogg/Opus voice note of
//! silence), so the tests of the gateway's own ffmpeg-missing answers run on a machine
//! without ffmpeg. The compressed video and the Opus tone come from ffmpeg's synthetic
//! sources: a test using them calls `require::ffmpeg()` first.

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
        .expect("ffmpeg is not on PATH: a test using this fixture must start with `require::ffmpeg()`");
    assert!(status.success(), "ffmpeg {args:?}");
    std::fs::read(out).unwrap()
}

/// A 2 s, 440 Hz mono tone as 16-bit PCM WAV at 44.1 kHz (what ffmpeg's `sine` gives).
pub fn sine_wav() -> Vec<u8> {
    const RATE: u32 = 44_100;
    let samples: Vec<i16> = (0..RATE * 2)
        .map(|i| ((i as f64 * 440.0 * std::f64::consts::TAU / f64::from(RATE)).sin() * 8000.0) as i16)
        .collect();
    let data_len = (samples.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend(b"RIFF");
    out.extend((36 + data_len).to_le_bytes());
    out.extend(b"WAVEfmt ");
    out.extend(16u32.to_le_bytes()); // fmt chunk size
    out.extend(1u16.to_le_bytes()); // PCM
    out.extend(1u16.to_le_bytes()); // mono
    out.extend(RATE.to_le_bytes());
    out.extend((RATE * 2).to_le_bytes()); // bytes per second
    out.extend(2u16.to_le_bytes()); // block align
    out.extend(16u16.to_le_bytes()); // bits per sample
    out.extend(b"data");
    out.extend(data_len.to_le_bytes());
    for s in samples {
        out.extend(s.to_le_bytes());
    }
    out
}

/// A 3 s, 660 Hz Opus tone in Ogg (needs ffmpeg).
pub fn sine_opus() -> Vec<u8> {
    ffmpeg(&["-f", "lavfi", "-i", "sine=frequency=660:duration=3", "-c:a", "libopus", "-f", "ogg"], "ogg")
}

/// A 3 s Ogg/Opus voice note of silence, written by hand: the Opus header and tags
/// pages, then 151 packets of 20 ms (the 3-byte CELT silence frame), granule 3 s after
/// the pre-skip. Enough for anything that sends Opus as it is.
pub fn silent_opus() -> Vec<u8> {
    const PRE_SKIP: u16 = 312;
    let mut head = b"OpusHead\x01\x01".to_vec(); // version 1, mono
    head.extend(PRE_SKIP.to_le_bytes());
    head.extend(48_000u32.to_le_bytes());
    head.extend([0, 0, 0]); // output gain, mapping family 0
    let mut tags = b"OpusTags".to_vec();
    let vendor = b"warest-tests";
    tags.extend((vendor.len() as u32).to_le_bytes());
    tags.extend(vendor);
    tags.extend(0u32.to_le_bytes()); // no user comments
    let packets = vec![vec![0xF8, 0xFF, 0xFE]; 151];
    let granule = 3 * 48_000 + u64::from(PRE_SKIP);
    [ogg_page(0x02, 0, 0, &[head]), ogg_page(0, 0, 1, &[tags]), ogg_page(0x04, granule, 2, &packets)].concat()
}

/// One Ogg page holding whole `packets` (each under 255 bytes, at most 255 of them).
fn ogg_page(flags: u8, granule: u64, seq: u32, packets: &[Vec<u8>]) -> Vec<u8> {
    let mut page = b"OggS\0".to_vec();
    page.push(flags);
    page.extend(granule.to_le_bytes());
    page.extend(0x5741_5245u32.to_le_bytes()); // stream serial
    page.extend(seq.to_le_bytes());
    page.extend([0; 4]); // CRC, filled in below
    page.push(packets.len() as u8);
    page.extend(packets.iter().map(|p| p.len() as u8));
    for p in packets {
        page.extend(p);
    }
    let crc = ogg_crc(&page);
    page[22..26].copy_from_slice(&crc.to_le_bytes());
    page
}

/// Ogg's CRC-32: polynomial 0x04c11db7, MSB first, no reflection, zero start and end.
fn ogg_crc(bytes: &[u8]) -> u32 {
    let mut crc = 0u32;
    for &b in bytes {
        crc ^= u32::from(b) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 { (crc << 1) ^ 0x04c1_1db7 } else { crc << 1 };
        }
    }
    crc
}

/// A 2 s, 160×120, 10 fps H.264 MP4 (needs ffmpeg).
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

/// A 1 s, 64×48 animated GIF: five frames at 5 fps, looping.
pub fn clip_gif() -> Vec<u8> {
    use image::codecs::gif::{GifEncoder, Repeat};
    let frames = (0..5u32).map(|n| {
        let img =
            image::RgbaImage::from_fn(64, 48, |x, y| image::Rgba([(x * 4) as u8, (y * 5) as u8, (n * 50) as u8, 255]));
        image::Frame::from_parts(img, 0, 0, image::Delay::from_numer_denom_ms(200, 1))
    });
    let mut out = Vec::new();
    {
        let mut enc = GifEncoder::new(&mut out);
        enc.set_repeat(Repeat::Infinite).unwrap();
        enc.encode_frames(frames).unwrap();
    }
    out
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

/// A file server on loopback that answers every GET with `body` as `content_type`; its URL.
pub async fn file_server(body: Vec<u8>, content_type: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(move || {
        let body = body.clone();
        async move { ([(axum::http::header::CONTENT_TYPE, content_type)], body) }
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/file")
}

/// 3 s of 160×120 MPEG-4 Part 2 video (not H.264: what a re-encode visibly changes; needs ffmpeg).
pub fn mpeg4_clip() -> Vec<u8> {
    ffmpeg(
        &["-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=3", "-c:v", "mpeg4", "-pix_fmt", "yuv420p"],
        "mp4",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hand_written_media_sniff_as_their_kinds() {
        let wav = sine_wav();
        assert_eq!((&wav[..4], &wav[8..12], wav.len()), (&b"RIFF"[..], &b"WAVE"[..], 44 + 44_100 * 2 * 2));
        let gif = image::load_from_memory(&clip_gif()).unwrap();
        assert_eq!((gif.width(), gif.height()), (64, 48));
        let opus = silent_opus();
        assert!(opus.starts_with(b"OggS") && opus[28..36] == *b"OpusHead");
        // The CRC of the Ogg spec's check value: "123456789" gives 0x89a1897f.
        assert_eq!(ogg_crc(b"123456789"), 0x89a1_897f);
    }
}
