//! What a stranger's media can do to the gateway (issue 16, items 1 and 2), against the
//! real `warest` binary (so its own media HTTP client is the one under test, and its
//! peak RSS is the gateway's alone) pointed at an in-process sandbox:
//!
//! - a contact sends images whose download fields point at a local listener (a
//!   `static_url`, a `direct_path` that is not a path): the listener is never reached;
//! - a contact sends an image whose media host answers with a body far beyond the
//!   download cap: it is cut at the cap while streaming, and RSS stays flat;
//! - 30 concurrent sends of a small PNG that claims 11,000 × 11,000 pixels are refused
//!   from the header (422), and RSS stays flat;
//! - 30 concurrent sends of a real 16-megapixel picture all succeed, with RSS bounded by
//!   the image-work limit, not by the number of requests.
//!
//! Sandbox builds only (the gateway dials the sandbox through `WAREST_WA_URL`).

use crate::common;
use crate::webhooks_support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine;
use common::eventually;
use common::process::{Proc, warest};
use serde_json::{Value, json};
use warest_sandbox::{Behaviour, CLIENT_VERSION, Sandbox};
use webhooks_support::{Hit, Receiver};

const KEY: &str = "media-hostile-admin-key-0123456789";
const PHONE: &str = "15551650001";
const CONTACT: &str = "15559650001";
const WAIT: Duration = Duration::from_secs(90);

struct Gateway {
    proc: Proc,
    http: reqwest::Client,
    _data: tempfile::TempDir,
}

impl Gateway {
    /// `warest serve` on the sandbox, session `main` linked to `PHONE`, with `env`.
    async fn start(sandbox: &Sandbox, env: &[(&str, &str)]) -> Gateway {
        let data = tempfile::tempdir().unwrap();
        let (a, b, c) = CLIENT_VERSION;
        let mut cmd = warest(&["serve"]);
        cmd.env("WAREST_DATA_DIR", data.path())
            .env("WAREST_ADMIN_APIKEY", KEY)
            .env("WAREST_WA_URL", sandbox.ws_url())
            .env("WAREST_WA_VERSION", format!("{a}.{b}.{c}"))
            .env("WAREST_SESSION_BOOT_JITTER_MS", "0")
            .env("WAREST_WEBHOOK_BACKOFF_MS", "50")
            .env("LOG_LEVEL", "warn");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let proc = Proc::start(cmd, None).await;
        let http = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(120)).build().unwrap();
        eventually("the gateway to become ready", WAIT, async || {
            http.get(format!("{}/api/v1/server/ready", proc.base())).send().await.is_ok_and(|r| r.status().is_success())
        })
        .await;
        let gw = Gateway { proc, http, _data: data };
        let (status, body) = gw.call(reqwest::Method::GET, "/api/v1/session/create?sessionId=main", None).await;
        assert_eq!(status, 200, "{body}");
        sandbox.link(body["results"][0]["qrString"].as_str().unwrap(), PHONE).unwrap();
        eventually("session main to be WORKING", WAIT, async || {
            let (_, body) = gw.call(reqwest::Method::GET, "/api/v1/session/main", None).await;
            if body["results"][0]["status"] == "WORKING" { Ok(()) } else { Err(body.to_string()) }
        })
        .await;
        gw
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.proc.base())).header("X-WAREST-API-Key", KEY);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// Status of a signed media link (no key).
    async fn link_status(&self, url: &str) -> u16 {
        self.http.get(format!("{}{url}", self.proc.base())).send().await.unwrap().status().as_u16()
    }

    fn peak_rss_mib(&self) -> u64 {
        self.proc.peak_rss_kib() / 1024
    }
}

/// Counts TCP connections; answers each with a small 200.
async fn counting_listener() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let _ = sock.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\nconnection: close\r\n\r\nsecr").await;
            });
        }
    });
    (addr, hits)
}

fn received(hits: &[Hit], id: &str) -> Option<Value> {
    hits.iter()
        .map(Hit::json)
        .find(|b| b["event"] == "message_received" && b["data"]["messageId"] == id)
        .map(|b| b["data"]["media"].clone())
}

/// Sends a genuine image after the hostile ones and waits until its link serves it: with
/// one download worker the queue is first in, first out, so every earlier download has
/// been tried (twice) by then.
async fn drain_downloads(gw: &Gateway, sandbox: &Sandbox, rx: &Receiver) {
    let picture: Vec<u8> = (0..20_000u32).map(|i| (i * 13 % 251) as u8).collect();
    let id = sandbox.contact_send_image(CONTACT, PHONE, picture, "image/png", None).await.unwrap();
    let hits = rx.wait_until("the genuine image", WAIT, |h| received(h, &id).is_some()).await;
    let url = received(&hits, &id).unwrap()["url"].as_str().expect("a link for the genuine image").to_string();
    eventually("the genuine image to be downloaded", WAIT, async || {
        let s = gw.link_status(&url).await;
        if s == 200 { Ok(()) } else { Err(s) }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn received_media_pointing_outside_the_media_hosts_is_never_fetched() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.create_contact(CONTACT, Behaviour::Silent).await.unwrap();
    let (trap, trapped) = counting_listener().await;
    let rx = Receiver::start().await;
    let hook = rx.url("/in");
    let env = [
        ("WAREST_DOWNLOAD_MEDIA_RECEIVED", "true"),
        ("WAREST_DOWNLOAD_MEDIA_WORKERS", "1"),
        ("WEBHOOK_DEFAULT_URL", hook.as_str()),
    ];
    let gw = Gateway::start(&sandbox, &env).await;

    // A static URL anywhere, a direct path that turns the media host into a user name,
    // a direct path that is a whole URL, and a static URL on the trap with an https scheme.
    let hostile = [
        (None, Some(format!("http://{trap}/static.enc"))),
        (Some(format!("@{trap}/v/t62.7118-24/x.enc")), None),
        (Some(format!("http://{trap}/v/x.enc")), None),
        (Some("/v/t62.7118-24/ok.enc".to_string()), Some(format!("https://{trap}/s.enc"))),
    ];
    let mut ids = Vec::new();
    for (direct_path, static_url) in &hostile {
        let id = sandbox
            .contact_send_crafted_image(CONTACT, PHONE, direct_path.as_deref(), static_url.as_deref(), 1000)
            .await
            .unwrap();
        ids.push(id);
    }
    drain_downloads(&gw, &sandbox, &rx).await;

    assert_eq!(trapped.load(Ordering::SeqCst), 0, "the gateway connected to an address a sender chose");
    let hits = rx.wait_until("every hostile image", WAIT, |h| ids.iter().all(|id| received(h, id).is_some())).await;
    for id in &ids {
        let media = received(&hits, id).unwrap();
        // Refused at once (skipped) or when its turn came (the link never serves anything).
        match media["url"].as_str() {
            None => assert_eq!(media["download"], "skipped", "{media}"),
            Some(url) => assert_eq!(gw.link_status(url).await, 404, "{media}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_received_body_is_cut_at_the_cap_and_rss_stays_flat() {
    const BODY: u64 = 512 * 1024 * 1024;
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.create_contact(CONTACT, Behaviour::Silent).await.unwrap();
    let rx = Receiver::start().await;
    let hook = rx.url("/in");
    let env = [
        ("WAREST_DOWNLOAD_MEDIA_RECEIVED", "true"),
        ("WAREST_DOWNLOAD_MEDIA_WORKERS", "1"),
        ("WAREST_DOWNLOAD_MEDIA_MAX_MB", "1"),
        ("WEBHOOK_DEFAULT_URL", hook.as_str()),
    ];
    let gw = Gateway::start(&sandbox, &env).await;
    let before = gw.peak_rss_mib();

    // Declares 1000 bytes; the media host sends 512 MiB for it.
    let path = sandbox.media_stream_path(BODY);
    let id = sandbox.contact_send_crafted_image(CONTACT, PHONE, Some(&path), None, 1000).await.unwrap();
    drain_downloads(&gw, &sandbox, &rx).await;

    let hits = rx.wait_until("the oversized image", WAIT, |h| received(h, &id).is_some()).await;
    let media = received(&hits, &id).unwrap();
    let url = media["url"].as_str().expect("queued: the declared length is small");
    assert_eq!(gw.link_status(url).await, 404, "an over-cap download must not be kept: {media}");
    let streamed_mib = sandbox.media_streamed_bytes() / (1024 * 1024);
    let grown = gw.peak_rss_mib().saturating_sub(before);
    eprintln!("oversized download: {streamed_mib} MiB sent by the media host, peak RSS +{grown} MiB");
    // Streamed to a file through the cap: a few buffers. Buffered, it would be 512 MiB.
    assert!(grown < 64, "peak RSS grew by {grown} MiB during the oversized download");
    // Two attempts, each stopped at the 1 MiB cap; the rest is what sockets buffer.
    assert!(streamed_mib < 48, "the gateway read {streamed_mib} MiB of a body capped at 1 MiB");
}

/// A PNG of `w`×`h` transparent pixels (RGBA8): compresses to almost nothing.
fn png(w: u32, h: u32) -> Vec<u8> {
    use image::ImageEncoder;
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};
    let pixels = vec![0u8; w as usize * h as usize * 4];
    let mut out = Vec::new();
    PngEncoder::new_with_quality(&mut out, CompressionType::Default, FilterType::NoFilter)
        .write_image(&pixels, w, h, image::ExtendedColorType::Rgba8)
        .unwrap();
    out
}

/// `n` concurrent `/messages/send/media` of `file`; their statuses and bodies.
async fn send_concurrently(gw: &Gateway, file: &[u8], n: usize, compress: bool) -> Vec<(u16, Value)> {
    let media = format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(file));
    let body = json!({ "sessionId": "main", "to": CONTACT, "media": media, "compress": compress });
    let sends = (0..n).map(|_| gw.call(reqwest::Method::POST, "/api/v1/messages/send/media", Some(body.clone())));
    futures_util::future::join_all(sends).await
}

const SENDS: usize = 30;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sends_of_a_pixel_bomb_are_refused_from_the_header_with_flat_rss() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.create_contact(CONTACT, Behaviour::Silent).await.unwrap();
    let gw = Gateway::start(&sandbox, &[("SPAM_COOLDOWN_MS", "0"), ("QUOTA_MAX", "0")]).await;
    // 11,000 × 11,000 RGBA: ~0.5 GB decoded, under 1 MB as a file.
    let bomb = png(11_000, 11_000);
    assert!(bomb.len() < 1024 * 1024, "{}", bomb.len());
    let before = gw.peak_rss_mib();
    let answers = send_concurrently(&gw, &bomb, SENDS, true).await;
    for (status, body) in &answers {
        assert_eq!(*status, 422, "{body}");
        assert_eq!(body["results"][0]["field"], "media", "{body}");
        assert!(body["message"].as_str().unwrap_or_default().contains("WAREST_IMAGE_MAX_PIXELS"), "{body}");
    }
    // Refused before any pixel buffer exists: only the request bodies (30 × ~1 MB).
    let grown = gw.peak_rss_mib().saturating_sub(before);
    eprintln!("{SENDS} pixel-bomb sends: peak RSS +{grown} MiB");
    assert!(grown < 128, "peak RSS grew by {grown} MiB during {SENDS} pixel-bomb sends");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sends_of_large_pictures_are_bounded_by_the_image_limit() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.create_contact(CONTACT, Behaviour::Silent).await.unwrap();
    let env = [("SPAM_COOLDOWN_MS", "0"), ("QUOTA_MAX", "0"), ("WAREST_IMAGE_CONCURRENCY", "2")];
    let gw = Gateway::start(&sandbox, &env).await;
    // 4,000 × 4,000 RGBA: 64 MiB decoded each; 30 at once unbounded would be ~1.9 GiB.
    let picture = png(4_000, 4_000);
    let before = gw.peak_rss_mib();
    let answers = send_concurrently(&gw, &picture, SENDS, false).await;
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
    }
    // Two decodes at a time (64 MiB each plus the preview work), whatever the request count.
    let grown = gw.peak_rss_mib().saturating_sub(before);
    eprintln!("{SENDS} sends of a 16-megapixel picture: peak RSS +{grown} MiB");
    assert!(grown < 400, "peak RSS grew by {grown} MiB during {SENDS} concurrent sends");
}
