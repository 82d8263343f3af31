//! Link previews for text messages: the first http(s) URL of the text is fetched behind
//! the media SSRF guard (tighter size and time limits than media), its Open Graph
//! title/description/image are read, and the image becomes the preview's JPEG thumbnail.
//! Any failure means "no preview": the text is sent either way.
//!
//! Fetched when the send is accepted, not when it runs, so every attempt (and a resend
//! after a crash) carries the same preview and a slow page never holds up the queue.

use std::time::Duration;

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::media::fetch::{MediaLimits, load, sniff};

/// Largest page read for its `<head>`.
const MAX_PAGE_BYTES: usize = 512 * 1024;
/// Largest preview image kept as the thumbnail (WhatsApp thumbnails are a few KiB).
const MAX_THUMB_BYTES: usize = 96 * 1024;
/// Time limit of each fetch (page, then image).
const MAX_FETCH_TIME: Duration = Duration::from_secs(4);
const MAX_TITLE_CHARS: usize = 256;
const MAX_DESCRIPTION_CHARS: usize = 1024;

/// What the recipient's app shows above the text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkPreview {
    /// The URL as it appears in the text (`matchedText`).
    pub url: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JPEG bytes, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<String>,
}

impl LinkPreview {
    pub fn thumbnail_bytes(&self) -> Option<Vec<u8>> {
        self.thumbnail.as_ref().and_then(|t| base64::engine::general_purpose::STANDARD.decode(t).ok())
    }
}

/// The first http(s) URL in `text`, trimmed of trailing punctuation.
pub fn first_url(text: &str) -> Option<&str> {
    let start = text.find("https://").into_iter().chain(text.find("http://")).min()?;
    let rest = &text[start..];
    let end = rest.find(|c: char| c.is_whitespace() || c == '<' || c == '>' || c == '"').unwrap_or(rest.len());
    let url = rest[..end].trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']', '\'']);
    (url.len() > "https://".len()).then_some(url)
}

/// Builds the preview of the first URL in `text`, or None (no URL, fetch failed, no title).
pub async fn build(text: &str, limits: &MediaLimits) -> Option<LinkPreview> {
    let url = first_url(text)?;
    let page_limits = MediaLimits {
        max_bytes: MAX_PAGE_BYTES,
        allow_private: limits.allow_private,
        timeout: limits.timeout.min(MAX_FETCH_TIME),
    };
    let page = match load(url, &page_limits).await {
        Ok(p) => p,
        Err(e) => {
            // The host only: a URL in a message can carry tokens in its path or query.
            let host = reqwest::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_string));
            tracing::info!(host = host.as_deref().unwrap_or("?"), error = %e, "link preview skipped");
            return None;
        }
    };
    let html = String::from_utf8_lossy(&page.bytes);
    let meta = parse(&html);
    let title = meta.title?;
    let thumbnail = match meta.image {
        Some(img) => {
            let img = absolute(url, &img);
            let thumb_limits = MediaLimits { max_bytes: MAX_THUMB_BYTES, ..page_limits };
            match load(&img, &thumb_limits).await {
                // The thumbnail field is JPEG only; other formats would need a transcoder.
                Ok(l) if sniff(&l.bytes) == Some("image/jpeg") => {
                    Some(base64::engine::general_purpose::STANDARD.encode(&l.bytes))
                }
                _ => None,
            }
        }
        None => None,
    };
    Some(LinkPreview { url: url.to_string(), title, description: meta.description, thumbnail })
}

/// An `og:image` may be relative to the page.
fn absolute(page: &str, href: &str) -> String {
    match reqwest::Url::parse(page).and_then(|base| base.join(href)) {
        Ok(u) => u.to_string(),
        Err(_) => href.to_string(),
    }
}

#[derive(Debug, Default, PartialEq)]
struct Meta {
    title: Option<String>,
    description: Option<String>,
    image: Option<String>,
}

/// Reads Open Graph tags (falling back to `<title>` and `description`) from the page.
/// A small scanner, not an HTML parser: it only looks at `<meta …>` and `<title>`.
fn parse(html: &str) -> Meta {
    let mut m = Meta::default();
    let (mut plain_title, mut plain_desc) = (None, None);
    let lower = html.to_ascii_lowercase();
    let mut at = 0;
    while let Some(pos) = lower[at..].find("<meta") {
        let start = at + pos;
        let Some(len) = lower[start..].find('>') else { break };
        let tag = &html[start..start + len];
        at = start + len;
        let key = attr(tag, "property").or_else(|| attr(tag, "name")).map(|k| k.to_ascii_lowercase());
        let (Some(key), Some(content)) = (key, attr(tag, "content")) else { continue };
        let content = unescape(&content);
        if content.trim().is_empty() {
            continue;
        }
        match key.as_str() {
            "og:title" => m.title = m.title.or(Some(content)),
            "og:description" => m.description = m.description.or(Some(content)),
            "og:image" | "og:image:url" => m.image = m.image.or(Some(content)),
            "description" => plain_desc = plain_desc.or(Some(content)),
            _ => {}
        }
    }
    if let Some(s) = lower.find("<title")
        && let Some(open) = lower[s..].find('>')
        && let Some(close) = lower[s + open..].find("</title")
    {
        let t = unescape(html[s + open + 1..s + open + close].trim());
        plain_title = Some(t).filter(|t| !t.is_empty());
    }
    let clip = |s: String, n: usize| s.chars().take(n).collect::<String>();
    Meta {
        title: m.title.or(plain_title).map(|t| clip(t, MAX_TITLE_CHARS)),
        description: m.description.or(plain_desc).map(|d| clip(d, MAX_DESCRIPTION_CHARS)),
        image: m.image,
    }
}

/// The value of attribute `name` in one tag (quoted with " or ', or bare).
fn attr(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(pos) = lower[from..].find(name) {
        let i = from + pos;
        from = i + name.len();
        let before_ok = i == 0 || lower.as_bytes()[i - 1].is_ascii_whitespace();
        let rest = lower[from..].trim_start();
        if !before_ok || !rest.starts_with('=') {
            continue;
        }
        let value_start = tag.len() - rest.len() + 1;
        let v = tag[value_start..].trim_start();
        return Some(match v.chars().next() {
            Some(q @ ('"' | '\'')) => v[1..].split(q).next().unwrap_or("").to_string(),
            // A bare value runs to the next space; a `/` right before `>` closes the tag.
            _ => {
                let bare = v.split(char::is_whitespace).next().unwrap_or("");
                let at_end = bare.len() == v.trim_end().len();
                if at_end { bare.strip_suffix('/').unwrap_or(bare) } else { bare }.to_string()
            }
        });
    }
    None
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Collects what `tracing` writes while a test runs (on this thread).
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_failed_preview_logs_the_host_not_the_url() {
        let logs = Captured::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let limits = MediaLimits { max_bytes: 1024, allow_private: false, timeout: Duration::from_secs(2) };
        // Refused by the address guard, so nothing is fetched.
        let text = "see http://127.0.0.1:9/reset-password?token=s3cr3t-t0ken now";
        assert!(build(text, &limits).await.is_none());
        let out = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
        assert!(out.contains("link preview skipped") && out.contains("127.0.0.1"), "{out}");
        for private in ["s3cr3t-t0ken", "reset-password"] {
            assert!(!out.contains(private), "the log has {private:?}: {out}");
        }
    }

    #[test]
    fn the_first_url_is_found_without_trailing_punctuation() {
        assert_eq!(first_url("see https://example.com/a?b=1, ok"), Some("https://example.com/a?b=1"));
        assert_eq!(first_url("x http://a.io/p). y https://b.io"), Some("http://a.io/p"));
        assert_eq!(first_url("no link here"), None);
        assert_eq!(first_url("https://"), None);
    }

    #[test]
    fn open_graph_tags_win_over_title_and_description() {
        let html = r#"<html><head><title>Plain</title>
            <meta name="description" content="plain desc">
            <META property='og:title' content="Caf&amp;e &quot;OG&quot;" />
            <meta content="og desc" property="og:description">
            <meta property="og:image" content=/img/a.jpg>
            </head></html>"#;
        let m = parse(html);
        assert_eq!(m.title.as_deref(), Some("Caf&e \"OG\""));
        assert_eq!(m.description.as_deref(), Some("og desc"));
        assert_eq!(m.image.as_deref(), Some("/img/a.jpg"));
        assert_eq!(absolute("http://h.io/x/y", "/img/a.jpg"), "http://h.io/img/a.jpg");
        let plain = parse("<title> Just a title </title><meta name=description content=d/>");
        assert_eq!((plain.title.as_deref(), plain.description.as_deref()), (Some("Just a title"), Some("d")));
        assert_eq!(parse("<p>nothing</p>"), Meta::default());
    }
}
