//! Reads what WhatsApp shows next to media straight from the container bytes: an MP4's
//! duration and picture size (the `mvhd` and `tkhd` boxes) and an Ogg/Opus stream's
//! duration (the last page's granule position). Pure functions over bytes, so no external
//! tool is needed for files that are sent as they are.

/// Duration and picture size of an MP4 (any field may be unknown).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Mp4Info {
    pub seconds: Option<u32>,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

/// Boxes that hold other boxes on the way to `mvhd` and `tkhd`.
const CONTAINERS: &[&[u8; 4]] = &[b"moov", b"trak"];

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn be64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Walks the boxes of `b`, descending into containers; depth-bounded.
fn walk(b: &[u8], depth: u8, info: &mut Mp4Info) {
    let mut at = 0usize;
    while at + 8 <= b.len() && depth < 4 {
        let Some(size32) = be32(b, at) else { return };
        let kind: [u8; 4] = b[at + 4..at + 8].try_into().unwrap_or_default();
        let (header, size) = match size32 {
            1 => (16usize, be64(b, at + 8).map(|s| s as usize).unwrap_or(0)),
            0 => (8, b.len() - at),
            n => (8, n as usize),
        };
        if size < header || at.saturating_add(size) > b.len() {
            return;
        }
        let body = &b[at + header..at + size];
        if CONTAINERS.contains(&&kind) {
            walk(body, depth + 1, info);
        } else if &kind == b"mvhd" {
            let v1 = body.first() == Some(&1);
            let (scale, duration) =
                if v1 { (be32(body, 20), be64(body, 24)) } else { (be32(body, 12), be32(body, 16).map(u64::from)) };
            if let (Some(scale), Some(d)) = (scale, duration)
                && scale > 0
                && d != u64::MAX
                && d != u32::MAX as u64
            {
                // Rounded, but a clip shorter than half a second still lasts one.
                let secs = (d + scale as u64 / 2) / scale as u64;
                info.seconds = Some(secs.clamp(u64::from(d > 0), u32::MAX as u64) as u32);
            }
        } else if &kind == b"tkhd" && info.width.is_none() {
            // Width and height are the last 8 bytes, 16.16 fixed point; audio tracks have 0.
            if body.len() >= 8 {
                let w = be32(body, body.len() - 8).unwrap_or(0) >> 16;
                let h = be32(body, body.len() - 4).unwrap_or(0) >> 16;
                if w > 0 && h > 0 {
                    info.width = Some(w);
                    info.height = Some(h);
                }
            }
        }
        at += size;
    }
}

/// Duration and size of an MP4 file; unknown parts stay None.
pub fn mp4(b: &[u8]) -> Mp4Info {
    let mut info = Mp4Info::default();
    walk(b, 0, &mut info);
    info
}

/// True when the bytes are an Ogg stream whose first packet is an Opus header.
pub fn is_ogg_opus(b: &[u8]) -> bool {
    // The first page's segment table is followed by the first packet.
    if !b.starts_with(b"OggS") || b.len() < 27 {
        return false;
    }
    let segments = b[26] as usize;
    b.get(27 + segments..27 + segments + 8) == Some(b"OpusHead")
}

/// Seconds of an Ogg/Opus stream: the last page's granule position (48 kHz samples)
/// minus the pre-skip of the Opus header.
pub fn ogg_opus_seconds(b: &[u8]) -> Option<u32> {
    if !is_ogg_opus(b) {
        return None;
    }
    let segments = b[26] as usize;
    let head = &b[27 + segments..];
    let pre_skip = u16::from_le_bytes(head.get(10..12)?.try_into().ok()?) as u64;
    // The last "OggS" capture pattern starts the last page.
    let last = b.windows(4).rposition(|w| w == b"OggS")?;
    let granule = u64::from_le_bytes(b.get(last + 6..last + 14)?.try_into().ok()?);
    if granule == u64::MAX {
        return None;
    }
    let samples = granule.saturating_sub(pre_skip);
    Some(((samples + 24_000) / 48_000).max(u64::from(samples > 0)) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxed(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        b.extend(kind);
        b.extend(body);
        b
    }

    #[test]
    fn mp4_duration_and_size_come_from_mvhd_and_tkhd() {
        let mut mvhd = vec![0u8; 100];
        mvhd[12..16].copy_from_slice(&1000u32.to_be_bytes()); // timescale
        mvhd[16..20].copy_from_slice(&2600u32.to_be_bytes()); // 2.6 s
        let mut tkhd = vec![0u8; 84];
        tkhd[76..80].copy_from_slice(&(320u32 << 16).to_be_bytes());
        tkhd[80..84].copy_from_slice(&(240u32 << 16).to_be_bytes());
        let trak = boxed(b"trak", &boxed(b"tkhd", &tkhd));
        let moov = boxed(b"moov", &[boxed(b"mvhd", &mvhd), trak].concat());
        let file = [boxed(b"ftyp", b"isom\0\0\0\0"), moov].concat();
        assert_eq!(mp4(&file), Mp4Info { seconds: Some(3), width: Some(320), height: Some(240) });
        assert_eq!(mp4(b"garbage"), Mp4Info::default());
    }

    #[test]
    fn ogg_opus_duration_is_the_last_granule_less_pre_skip() {
        let page = |granule: u64, packet: &[u8]| {
            let mut p = b"OggS\0\0".to_vec();
            p.extend(granule.to_le_bytes());
            p.extend([0u8; 12]);
            p.push(1);
            p.push(packet.len() as u8);
            p.extend(packet);
            p
        };
        let mut head = b"OpusHead\x01\x01".to_vec();
        head.extend(312u16.to_le_bytes());
        head.extend([0u8; 7]);
        let file = [page(0, &head), page(0, b"OpusTags"), page(48_000 * 4 + 312, b"x")].concat();
        assert!(is_ogg_opus(&file));
        assert_eq!(ogg_opus_seconds(&file), Some(4));
        assert!(!is_ogg_opus(&page(0, b"\x01vorbis")));
    }
}
