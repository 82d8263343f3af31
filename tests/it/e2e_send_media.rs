//! The media kinds end to end: video, voice note, audio file, sticker, GIF and multipart
//! uploads reach a sandbox contact, which decrypts them; the test checks what it got
//! (bytes, mimetypes, flags). Plus the guards: unsupported types, oversize uploads, too
//! many files and a missing ffmpeg are 4xx/503 naming the field.
//!
//! Fixtures are made here (image crate and plain Rust; ffmpeg for the video clip and the
//! Opus tone). The tests that need ffmpeg, for their fixtures or for the gateway's
//! conversions, skip with one line without it; the guards run anyway (they point the
//! gateway at a missing ffmpeg on purpose).

use crate::common;

use std::time::Duration;

use base64::Engine;
use common::fixtures::{clip_gif, clip_mp4, flag, picture, silent_opus, sine_opus, sine_wav};
use common::{Kind, TestApp, envelope_code, require, split};
use serde_json::{Value, json};
use warest_sandbox::{Behaviour, InboxEntry, Sandbox};

const TIMEOUT: Duration = Duration::from_secs(60);
const CONTACT: &str = "15550004101";
const PHONE: &str = "15550004102";

async fn gateway(sandbox: &Sandbox, env: &[(&str, &str)]) -> TestApp {
    common::wa::sandbox_gateway(Kind::Sqlite, sandbox, env).await
}

async fn link(app: &TestApp, sandbox: &Sandbox, key: &str) {
    common::wa::link_session(app, sandbox, key, "main", PHONE).await
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

async fn send(app: &TestApp, key: &str, kind: &str, body: Value) -> (String, Value) {
    let (status, answer) = app.post(&format!("/api/v1/messages/send/{kind}"), Some(key), body).await;
    assert_eq!((status, envelope_code(&answer)), (200, 1000), "{kind}: {answer}");
    (answer["results"][0]["messageId"].as_str().unwrap().to_string(), answer)
}

async fn received(sandbox: &Sandbox, id: &str) -> InboxEntry {
    sandbox.wait_inbox(CONTACT, TIMEOUT, |e| e.id == id).await.unwrap()
}

/// One file part of an upload: name, content type, bytes.
type FilePart<'a> = (&'a str, &'a str, Vec<u8>);

/// A multipart/form-data body from text fields and `(name, content type, bytes)` files.
fn multipart(text: &[(&str, &str)], files: &[FilePart]) -> (String, Vec<u8>) {
    let boundary = "warest-test-boundary-7c1d";
    let mut body = Vec::new();
    for (name, value) in text {
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").bytes(),
        );
    }
    for (name, ctype, bytes) in files {
        body.extend(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\nContent-Type: {ctype}\r\n\r\n"
            )
            .bytes(),
        );
        body.extend(bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(app: &TestApp, key: &str, text: &[(&str, &str)], files: &[FilePart<'_>]) -> (u16, Value) {
    let (ctype, body) = multipart(text, files);
    let req = app
        .req(reqwest::Method::POST, "/api/v1/messages/send/files", Some(key))
        .header("content-type", ctype)
        .body(body);
    split(req.send().await.unwrap()).await
}

#[tokio::test]
async fn video_voice_notes_audio_stickers_and_gifs_arrive_as_their_kinds() {
    let Some(_) = require::ffmpeg() else { return };
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.create_contact(CONTACT, Behaviour::Silent).await.unwrap();
    // No cooldown: the same voice note is sent twice below (once more with a key).
    let app = gateway(&sandbox, &[("SPAM_COOLDOWN_MS", "0")]).await;
    let (_, key) = app.create_user("ops").await;
    link(&app, &sandbox, &key).await;
    let dest = |extra: Value| {
        let mut v = json!({ "sessionId": "main", "to": CONTACT });
        v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        v
    };

    // A real PNG gets its size and a JPEG preview.
    let png = picture(300, 150, image::ImageFormat::Png);
    let (id_png, _) = send(&app, &key, "media", dest(json!({ "media": b64(&png), "caption": "photo" }))).await;
    let mp4 = clip_mp4();
    let (id_video, answer) = send(
        &app,
        &key,
        "media",
        dest(json!({ "media": format!("data:video/mp4;base64,{}", b64(&mp4)), "caption": "a clip", "viewOnce": true })),
    )
    .await;
    assert_eq!(answer["results"][0]["status"], "video success", "{answer}");
    let wav = sine_wav();
    let (id_ptt, answer) = send(&app, &key, "audio", dest(json!({ "audio": b64(&wav), "isVN": true }))).await;
    assert_eq!(answer["results"][0]["status"], "ptt success", "{answer}");
    // Conversions are bit-exact, so a retried request with the same key is the same request.
    let vn = dest(json!({ "audio": b64(&wav), "isVN": true, "idempotencyKey": "vn-retry" }));
    let (first, _) = send(&app, &key, "audio", vn.clone()).await;
    let (again, answer) = send(&app, &key, "audio", vn).await;
    assert_eq!((again, answer["results"][0]["replayed"].as_bool()), (first, Some(true)), "{answer}");
    let opus = sine_opus();
    let (id_ptt_ogg, _) = send(&app, &key, "audio", dest(json!({ "audio": b64(&opus), "isVN": true }))).await;
    let (id_audio, _) = send(&app, &key, "audio", dest(json!({ "audio": b64(&wav) }))).await;
    let (id_sticker, _) = send(&app, &key, "sticker", dest(json!({ "sticker": b64(&png) }))).await;
    let webp = picture(512, 512, image::ImageFormat::WebP);
    let (id_webp, _) = send(&app, &key, "sticker", dest(json!({ "sticker": b64(&webp) }))).await;
    let gif = clip_gif();
    let (id_gif, answer) = send(&app, &key, "gif", dest(json!({ "gif": b64(&gif), "caption": "loop" }))).await;
    assert_eq!(answer["results"][0]["status"], "gif success", "{answer}");
    let (id_gif_mp4, _) = send(&app, &key, "gif", dest(json!({ "gif": b64(&mp4) }))).await;

    let e = received(&sandbox, &id_png).await;
    let m = e.media.unwrap();
    assert_eq!((m.kind, m.bytes == png), ("image", true));
    let json = e.message_json.unwrap();
    assert!(json.contains("\"width\":300") && json.contains("\"height\":150"), "{json}");
    assert!(json.contains("\"jpeg_thumbnail\":[255,216,"), "a JPEG preview is attached: {json}");

    let e = received(&sandbox, &id_video).await;
    let m = e.media.unwrap();
    assert_eq!(
        (m.kind, m.mimetype.as_deref(), m.caption.as_deref(), m.bytes == mp4),
        ("video", Some("video/mp4"), Some("a clip"), true)
    );
    let json = e.message_json.unwrap();
    assert!(flag(&json, "view_once", "viewOnce"), "{json}");
    assert!(json.contains("\"width\":160") && json.contains("\"seconds\":2"), "{json}");
    assert!(json.contains("\"jpeg_thumbnail\":[255,216,"), "a preview of the first frame: {json}");
    assert!(!flag(&json, "gif_playback", "gifPlayback"), "{json}");

    let e = received(&sandbox, &id_ptt).await;
    let m = e.media.unwrap();
    assert_eq!((m.kind, m.mimetype.as_deref()), ("audio", Some("audio/ogg; codecs=opus")));
    assert!(m.bytes.starts_with(b"OggS") && m.bytes.windows(8).any(|w| w == b"OpusHead"), "converted to Opus/Ogg");
    let json = e.message_json.unwrap();
    assert!(flag(&json, "ptt", "ptt") && json.contains("\"seconds\":2"), "{json}");

    let e = received(&sandbox, &id_ptt_ogg).await;
    let m = e.media.unwrap();
    assert!(m.bytes == opus, "Opus/Ogg is sent as it is");
    assert!(e.message_json.unwrap().contains("\"seconds\":3"));

    let e = received(&sandbox, &id_audio).await;
    let m = e.media.unwrap();
    assert_eq!((m.kind, m.mimetype.as_deref(), m.bytes == wav), ("audio", Some("audio/wav"), true));
    assert!(!flag(&e.message_json.unwrap(), "ptt", "ptt"));

    let e = received(&sandbox, &id_sticker).await;
    let m = e.media.unwrap();
    assert_eq!((m.kind, m.mimetype.as_deref()), ("sticker", Some("image/webp")));
    let img = image::load_from_memory_with_format(&m.bytes, image::ImageFormat::WebP).unwrap();
    assert_eq!((img.width(), img.height()), (512, 512));

    let m = received(&sandbox, &id_webp).await.media.unwrap();
    assert_eq!((m.kind, m.bytes == webp), ("sticker", true), "a WebP sticker is sent as it is");

    let e = received(&sandbox, &id_gif).await;
    let m = e.media.unwrap();
    assert_eq!((m.kind, m.mimetype.as_deref(), m.caption.as_deref()), ("video", Some("video/mp4"), Some("loop")));
    assert_eq!(&m.bytes[4..8], b"ftyp", "the GIF arrives as an MP4");
    let json = e.message_json.unwrap();
    assert!(flag(&json, "gif_playback", "gifPlayback") && json.contains("\"width\":64"), "{json}");

    let e = received(&sandbox, &id_gif_mp4).await;
    assert!(e.media.unwrap().bytes == mp4, "an MP4 is sent as it is");
    assert!(flag(&e.message_json.unwrap(), "gif_playback", "gifPlayback"));
    app.stop().await;
}

#[tokio::test]
async fn a_multipart_upload_sends_each_file_as_its_kind() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.create_contact(CONTACT, Behaviour::Silent).await.unwrap();
    let app = gateway(&sandbox, &[]).await;
    let (_, key) = app.create_user("ops").await;
    link(&app, &sandbox, &key).await;

    let png = picture(64, 64, image::ImageFormat::Png);
    let wav = sine_wav();
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.extend((0..5000u32).map(|i| (i % 251) as u8));
    let (status, answer) = upload(
        &app,
        &key,
        &[("sessionId", "main"), ("to", CONTACT), ("caption", "for you")],
        &[
            ("photo.png", "application/octet-stream", png.clone()),
            ("report.pdf", "application/pdf", pdf.clone()),
            ("tone.wav", "audio/wav", wav.clone()),
            ("setup.exe", "application/octet-stream", b"MZ\x90\x00not really".to_vec()),
        ],
    )
    .await;
    assert_eq!((status, envelope_code(&answer)), (200, 1000), "{answer}");
    let r = &answer["results"][0];
    assert_eq!(r["status"], "files success", "{answer}");
    let files = r["advancedInfo"]["files"].as_array().unwrap();
    let kinds: Vec<_> = files.iter().map(|f| f["kind"].as_str().unwrap_or_default()).collect();
    assert_eq!(kinds, ["image", "document", "audio"], "{answer}");
    assert_eq!(r["advancedInfo"]["blockedFiles"][0]["name"], "setup.exe", "{answer}");

    let e = received(&sandbox, files[0]["messageId"].as_str().unwrap()).await;
    let m = e.media.unwrap();
    assert_eq!(
        (m.kind, m.mimetype.as_deref(), m.caption.as_deref(), m.bytes == png),
        ("image", Some("image/png"), Some("for you"), true)
    );
    let e = received(&sandbox, files[1]["messageId"].as_str().unwrap()).await;
    let m = e.media.unwrap();
    assert_eq!((m.kind, m.mimetype.as_deref(), m.bytes == pdf), ("document", Some("application/pdf"), true));
    assert!(e.message_json.unwrap().contains("report.pdf"));
    let m = received(&sandbox, files[2]["messageId"].as_str().unwrap()).await.media.unwrap();
    assert_eq!((m.kind, m.mimetype.as_deref(), m.bytes == wav), ("audio", Some("audio/wav"), true));
    app.stop().await;
}

#[tokio::test]
async fn media_conversion_guards_answer_naming_the_problem() {
    let sandbox = Sandbox::start().await.unwrap();
    let app = gateway(
        &sandbox,
        &[
            ("WAREST_FFMPEG_PATH", "/nonexistent/bin/ffmpeg"),
            ("WAREST_MEDIA_MAX_MB", "1"),
            ("WAREST_FILES_MAX_COUNT", "2"),
        ],
    )
    .await;
    sandbox.create_contact(CONTACT, Behaviour::Silent).await.unwrap();
    let (_, key) = app.create_user("ops").await;
    link(&app, &sandbox, &key).await;
    let dest = |extra: Value| {
        let mut v = json!({ "sessionId": "main", "to": CONTACT });
        v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        v
    };
    let wav = sine_wav();
    let png = picture(32, 32, image::ImageFormat::Png);
    let cases = [
        ("audio", dest(json!({ "audio": b64(&wav), "isVN": true })), 503, 3014, "audio"),
        ("gif", dest(json!({ "gif": b64(&clip_gif()) })), 503, 3014, "gif"),
        ("media", dest(json!({ "media": b64(b"%PDF-1.4 not media") })), 415, 3010, "media"),
        ("audio", dest(json!({ "audio": b64(&png) })), 415, 3010, "audio"),
        ("gif", dest(json!({ "gif": b64(&png) })), 415, 3010, "gif"),
        ("sticker", dest(json!({ "sticker": b64(b"%PDF-1.4") })), 415, 3010, "sticker"),
        ("sticker", dest(json!({ "sticker": b64(b"\x89PNG\r\n\x1a\nbroken") })), 422, 3015, "sticker"),
    ];
    for (kind, body, status, code, field) in cases {
        let (got, answer) = app.post(&format!("/api/v1/messages/send/{kind}"), Some(&key), body).await;
        assert_eq!((got, envelope_code(&answer)), (status, code), "{kind}: {answer}");
        assert_eq!(answer["results"][0]["field"], field, "{answer}");
        if code == 3014 {
            assert!(answer["message"].as_str().unwrap().contains("/nonexistent/bin/ffmpeg"), "{answer}");
        }
    }
    // A voice note already in Opus/Ogg needs no ffmpeg.
    send(&app, &key, "audio", dest(json!({ "audio": b64(&silent_opus()), "isVN": true }))).await;

    let base = [("sessionId", "main"), ("to", CONTACT)];
    let three: Vec<FilePart> = ["a.png", "b.png", "c.png"].iter().map(|n| (*n, "image/png", png.clone())).collect();
    let big = vec![7u8; 1_100_000];
    let uploads: Vec<(Vec<FilePart>, u16, u64, &str)> = vec![
        (three, 400, 2001, "files"),
        (vec![("big.bin", "application/octet-stream", big)], 413, 3011, "files[0]"),
        (vec![("run.sh", "text/plain", b"#!/bin/sh\necho hi".to_vec())], 415, 3010, "files[0]"),
        (vec![], 400, 2001, "files"),
    ];
    for (files, status, code, field) in uploads {
        let (got, answer) = upload(&app, &key, &base, &files).await;
        assert_eq!((got, envelope_code(&answer)), (status, code), "{answer}");
        assert_eq!(answer["results"][0]["field"], field, "{answer}");
    }
    let (got, answer) = upload(&app, &key, &[("to", CONTACT)], &[("a.png", "image/png", png.clone())]).await;
    assert_eq!((got, answer["results"][0]["field"].as_str()), (400, Some("sessionId")), "{answer}");
    let (got, answer) = app.post("/api/v1/messages/send/files", Some(&key), json!({ "sessionId": "main" })).await;
    assert_eq!((got, answer["results"][0]["field"].as_str()), (400, Some("body")), "{answer}");
    app.stop().await;
}

/// An upload is queued whole or not at all (issue 16, item 9): three files to a queue with
/// room for two leave nothing queued and answer 429; two files fit and both are queued.
#[tokio::test]
async fn an_upload_is_queued_whole_or_not_at_all() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.create_contact(CONTACT, Behaviour::Silent).await.unwrap();
    let app = gateway(&sandbox, &[("WAREST_QUEUE_MAX_SIZE", "2"), ("SPAM_COOLDOWN_MS", "0")]).await;
    let (_, key) = app.create_user("ops").await;
    link(&app, &sandbox, &key).await;
    let (status, _) = app.post("/api/v1/session/main/queue/pause", Some(&key), json!({})).await;
    assert_eq!(status, 200);
    let pdf = |n: u8| -> FilePart<'static> {
        ("doc.pdf", "application/pdf", [b"%PDF-1.4\n%".as_slice(), &[n; 64], b"\n%%EOF\n"].concat())
    };
    let queued = async || -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM outbound_messages WHERE session_id = 'main'")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap()
    };
    let text = [("sessionId", "main"), ("to", CONTACT)];
    let (status, answer) = upload(&app, &key, &text, &[pdf(1), pdf(2), pdf(3)]).await;
    assert_eq!(status, 429, "{answer}");
    assert_eq!(queued().await, 0, "no file of a refused upload is queued");
    let (status, answer) = upload(&app, &key, &text, &[pdf(4), pdf(5)]).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(queued().await, 2);
    app.stop().await;
}
