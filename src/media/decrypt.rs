//! Decrypting a WhatsApp media blob from its mediaKey (AES-256-CBC + HMAC, keys derived by
//! HKDF with the media type's label), as `/misc/whatsapp/file-decrypt` offers it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::{Digest, Sha256};
use whatsapp_rust::wacore::download::{DownloadUtils, MediaType};

use super::base_mimetype;

/// Why a blob was not decrypted.
#[derive(Debug, thiserror::Error)]
pub enum DecryptError {
    /// A request field is malformed; `field` names it.
    #[error("{field}: {why}")]
    Invalid { field: &'static str, why: String },
    /// The key, the type or the blob did not verify, or the plaintext is not the one named.
    #[error("{0}")]
    Failed(String),
}

fn invalid(field: &'static str, why: impl Into<String>) -> DecryptError {
    DecryptError::Invalid { field, why: why.into() }
}

/// A checked decryption request: the key, the media type, and the plaintext's expected
/// SHA-256 (when given).
pub struct Decryption {
    key: Vec<u8>,
    kind: MediaType,
    expected: Option<Vec<u8>>,
    /// The caller's plain `type/subtype`, when given.
    pub mimetype: Option<String>,
}

/// A base64 field.
pub fn b64(field: &'static str, value: &str) -> Result<Vec<u8>, DecryptError> {
    B64.decode(value.trim().as_bytes()).map_err(|_| invalid(field, "must be base64"))
}

impl Decryption {
    /// `mediaKey` (base64, 32 bytes), `mimeType` (a plain `type/subtype`), `mediaType`
    /// (named, else taken from the mimetype) and `fileSha256` (base64).
    pub fn parse(
        media_key: &str,
        mime_type: Option<&str>,
        media_type: Option<&str>,
        file_sha256: Option<&str>,
    ) -> Result<Decryption, DecryptError> {
        let key = b64("mediaKey", media_key)?;
        if key.len() != 32 {
            return Err(invalid("mediaKey", "must be 32 bytes"));
        }
        let mimetype = mime_type.map(base_mimetype).filter(|m| !m.is_empty());
        if let Some(base) = &mimetype {
            // It becomes a Content-Type and part of a data URL: a plain `type/subtype` only.
            let token =
                |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b));
            if base.len() > 127 || !base.split_once('/').is_some_and(|(t, s)| token(t) && token(s)) {
                return Err(invalid("mimeType", "must be a mimetype like image/jpeg"));
            }
        }
        let kind = kind_of(media_type, mime_type)?;
        let expected = file_sha256.map(|s| b64("fileSha256", s)).transpose()?;
        Ok(Decryption { key, kind, expected, mimetype })
    }

    /// The media type, lower case (`image`, `video`, …).
    pub fn kind(&self) -> String {
        format!("{:?}", self.kind).to_lowercase()
    }

    /// The plaintext of `blob`, verified (MAC, and `fileSha256` when given).
    pub fn open(&self, blob: &[u8]) -> Result<Vec<u8>, DecryptError> {
        let plain = DownloadUtils::verify_and_decrypt(blob, &self.key, self.kind)
            .map_err(|e| DecryptError::Failed(format!("The media did not decrypt: {e}")))?;
        if let Some(want) = &self.expected
            && Sha256::digest(&plain).as_slice() != want.as_slice()
        {
            return Err(DecryptError::Failed("The plaintext does not match fileSha256".into()));
        }
        Ok(plain)
    }
}

fn kind_of(explicit: Option<&str>, mime: Option<&str>) -> Result<MediaType, DecryptError> {
    if let Some(t) = explicit {
        return match t.trim().to_ascii_lowercase().as_str() {
            "image" => Ok(MediaType::Image),
            "video" | "gif" => Ok(MediaType::Video),
            "audio" | "ptt" => Ok(MediaType::Audio),
            "document" => Ok(MediaType::Document),
            "sticker" => Ok(MediaType::Sticker),
            "thumbnail-link" => Ok(MediaType::LinkThumbnail),
            other => Err(invalid("mediaType", format!("unknown media type {other:?}"))),
        };
    }
    let m = base_mimetype(mime.unwrap_or(""));
    if m == "image/webp" {
        return Ok(MediaType::Sticker);
    }
    match m.split('/').next().unwrap_or("") {
        "image" => Ok(MediaType::Image),
        "video" => Ok(MediaType::Video),
        "audio" => Ok(MediaType::Audio),
        "" => Err(invalid("mediaType", "required when mimeType is absent")),
        _ => Ok(MediaType::Document),
    }
}
