//! Media: fetching what callers name (URLs behind the address guard, base64, data URLs:
//! `fetch.rs`), probing and converting it (`probe.rs`, `imaging.rs`, `picture.rs`, ffmpeg
//! in `ffmpeg.rs`), decrypting WhatsApp blobs (`decrypt.rs`), and the media the gateway
//! keeps: received attachments downloaded off the event path (`received.rs`, from the
//! hosts `received_source.rs` allows) and generated
//! files (`generated.rs`), stored under the data dir and handed out through signed,
//! expiring links (`signed.rs`). Owns the storage layout and the link format; sending is
//! `outbound`'s, serving is `http::routes::media`.

pub mod decrypt;
pub mod fetch;
pub mod ffmpeg;
pub mod generated;
pub mod imaging;
pub mod picture;
pub mod probe;
pub mod received;
pub mod received_source;
pub mod signed;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::Secret;

/// Received-media settings (`WAREST_DOWNLOAD_MEDIA_*`, `WAREST_MEDIA_URL_*`).
#[derive(Debug, Clone)]
pub struct MediaConfig {
    pub download_received: bool,
    /// Lower-case mimetypes without parameters.
    pub allow_mimetypes: Vec<String>,
    pub max_bytes: u64,
    pub workers: usize,
    /// The HMAC key of signed links.
    pub url_secret: Secret,
    pub url_ttl: Duration,
    /// `https://host[:port]` without a trailing slash, or `None` for path-only links.
    pub public_url: Option<String>,
    /// Bytes of unexpired generated files one tenant may hold (0: no limit; admins exempt).
    pub tenant_generated_max_bytes: u64,
}

impl MediaConfig {
    /// Whether received media of this type is downloaded.
    pub fn allows(&self, mimetype: &str) -> bool {
        let m = base_mimetype(mimetype);
        self.allow_mimetypes.contains(&m)
    }

    /// A signed link to media `id`, valid for the configured lifetime from `now_secs`.
    pub fn link(&self, id: &str, now_secs: i64) -> String {
        let exp = now_secs + self.url_ttl.as_secs() as i64;
        let sig = signed::sign(self.url_secret.expose(), id, exp);
        let path = format!("/api/v1/media/{id}?exp={exp}&sig={sig}");
        match &self.public_url {
            Some(base) => format!("{base}{path}"),
            None => path,
        }
    }
}

/// `image/jpeg; codecs=x` → `image/jpeg`.
pub fn base_mimetype(m: &str) -> String {
    m.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

/// Where received media of a session lives: `<data>/media/<session>/<id>`. Ids are hex
/// (see `received::media_id`) and session ids are validated names, so neither can
/// climb out of the directory.
pub fn stored_path(data_dir: &Path, session: &str, id: &str) -> PathBuf {
    session_dir(data_dir, session).join(id)
}

/// The directory of one session's stored media (with `""`: the directory of them all).
pub fn session_dir(data_dir: &Path, session: &str) -> PathBuf {
    data_dir.join("media").join(session)
}
