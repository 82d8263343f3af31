//! The single-file send routes (media, audio, sticker, GIF, document) with their two other
//! bodies: `multipart/form-data` (the file as a part named like the JSON field) and raw
//! bytes (`application/octet-stream`, the other fields in the query string). A sandbox
//! contact decrypts what arrives, so the tests check the bytes, kind and flags it got.
//! Plus the errors: no file, a stray file part, an empty or oversized body, a wrong
//! Content-Type and a bad flag, each naming the field.
//!
//! Fixtures are made here (image crate and plain Rust; ffmpeg for the video clip and the
//! Opus tone), as in e2e_send_media.

use crate::common;

use std::time::Duration;

use base64::Engine;
use common::fixtures::{clip_gif, clip_mp4, flag, picture, sine_opus, sine_wav};
use common::{Kind, TestApp, envelope_code, require, split};
use serde_json::Value;
use warest_sandbox::{Behaviour, InboxEntry, Sandbox};

const TIMEOUT: Duration = Duration::from_secs(60);
const CONTACT: &str = "15550004201";
const OTHER: &str = "15550004203";
const PHONE: &str = "15550004202";

async fn gateway(sandbox: &Sandbox, env: &[(&str, &str)]) -> TestApp {
    common::wa::sandbox_gateway(Kind::Sqlite, sandbox, env).await
}

async fn link(app: &TestApp, sandbox: &Sandbox, key: &str) {
    common::wa::link_session(app, sandbox, key, "main", PHONE).await
}

/// One part of a form: name, then `Some((file name, content type))` for a file part, and bytes.
type Part = (String, Option<(&'static str, &'static str)>, Vec<u8>);

fn text(name: &str, value: &str) -> Part {
    (name.to_string(), None, value.as_bytes().to_vec())
}

fn file(name: &str, file_name: &'static str, ctype: &'static str, bytes: Vec<u8>) -> Part {
    (name.to_string(), Some((file_name, ctype)), bytes)
}

fn form(parts: &[Part]) -> (String, Vec<u8>) {
    let boundary = "warest-bodies-boundary-91ad";
    let mut body = Vec::new();
    for (name, file, bytes) in parts {
        let head = match file {
            Some((file_name, ctype)) => format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: {ctype}\r\n\r\n"
            ),
            None => format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n"),
        };
        body.extend(head.bytes());
        body.extend(bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// `sessionId` and `to` as form fields, then `parts`.
fn with_dest(parts: Vec<Part>) -> Vec<Part> {
    let mut all = vec![text("sessionId", "main"), text("to", CONTACT)];
    all.extend(parts);
    all
}

async fn post_form(app: &TestApp, key: &str, kind: &str, parts: &[Part]) -> (u16, Value) {
    let (ctype, body) = form(parts);
    let req = app.req(reqwest::Method::POST, &format!("/api/v1/messages/send/{kind}"), Some(key));
    split(req.header("content-type", ctype).body(body).send().await.unwrap()).await
}

/// Raw bytes with `query` (after the path's `?`) and `ctype` (none when empty).
async fn post_raw(app: &TestApp, key: &str, kind: &str, query: &str, ctype: &str, bytes: Vec<u8>) -> (u16, Value) {
    let req = app.req(reqwest::Method::POST, &format!("/api/v1/messages/send/{kind}?{query}"), Some(key));
    let req = if ctype.is_empty() { req } else { req.header("content-type", ctype) };
    split(req.body(bytes).send().await.unwrap()).await
}

fn dest_query(extra: &str) -> String {
    format!("sessionId=main&to={CONTACT}{extra}")
}

/// The first message id of a 200 answer.
fn queued(what: &str, (status, answer): (u16, Value)) -> String {
    assert_eq!((status, envelope_code(&answer)), (200, 1000), "{what}: {answer}");
    answer["results"][0]["messageId"].as_str().unwrap().to_string()
}

async fn received(sandbox: &Sandbox, contact: &str, id: &str) -> InboxEntry {
    sandbox.wait_inbox(contact, TIMEOUT, |e| e.id == id).await.unwrap()
}

#[tokio::test]
async fn form_and_raw_bodies_reach_the_contact_on_every_single_file_route() {
    let Some(_) = require::ffmpeg() else { return };
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.create_contact(CONTACT, Behaviour::Silent).await.unwrap();
    sandbox.create_contact(OTHER, Behaviour::Silent).await.unwrap();
    let app = gateway(&sandbox, &[("SPAM_COOLDOWN_MS", "0")]).await;
    let (_, key) = app.create_user("ops").await;
    link(&app, &sandbox, &key).await;
    let (png, webp, mp4, gif) = (
        picture(120, 80, image::ImageFormat::Png),
        picture(512, 512, image::ImageFormat::WebP),
        clip_mp4(),
        clip_gif(),
    );
    let (wav, opus) = (sine_wav(), sine_opus());
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.extend((0..3000u32).map(|i| (i % 251) as u8));
    let csv = b"a,b\n1,2\n".to_vec();

    // media: a form to two recipients (a comma list) with a form boolean; raw MP4 with query fields.
    let parts = vec![
        text("sessionId", "main"),
        text("to", &format!("{CONTACT},{OTHER}")),
        text("caption", "from a form"),
        text("viewOnce", "true"),
        file("media", "photo.png", "image/png", png.clone()),
    ];
    let (status, answer) = post_form(&app, &key, "media", &parts).await;
    assert_eq!((status, answer["results"].as_array().map(Vec::len)), (200, Some(2)), "{answer}");
    let to_other = answer["results"][1]["messageId"].as_str().unwrap().to_string();
    let form_image = queued("media form", (status, answer));
    let raw_video = queued(
        "media raw",
        post_raw(&app, &key, "media", &dest_query("&caption=raw%20clip"), "application/octet-stream", mp4.clone())
            .await,
    );
    // A text part named like the file is a URL or base64, as in JSON.
    let b64 = base64::engine::general_purpose::STANDARD.encode(&png);
    let text_image =
        queued("media text part", post_form(&app, &key, "media", &with_dest(vec![text("media", &b64)])).await);

    // audio: a form voice note (WAV, converted) and raw Opus as a plain audio file, flag from the query.
    let vn_form = with_dest(vec![text("isVN", "true"), file("audio", "tone.wav", "audio/wav", wav.clone())]);
    let form_ptt = queued("audio form", post_form(&app, &key, "audio", &vn_form).await);
    let raw_ptt = queued(
        "audio raw",
        post_raw(&app, &key, "audio", &dest_query("&isVN=true"), "application/octet-stream", opus.clone()).await,
    );
    let raw_audio = queued(
        "audio raw plain",
        post_raw(&app, &key, "audio", &dest_query("&isVN=false"), "audio/wav", wav.clone()).await,
    );

    // sticker: a WebP form part (the `file` alias) is sent as it is; raw PNG is converted.
    let form_sticker = queued(
        "sticker form",
        post_form(&app, &key, "sticker", &with_dest(vec![file("file", "s.webp", "image/webp", webp.clone())])).await,
    );
    let raw_sticker =
        queued("sticker raw", post_raw(&app, &key, "sticker", &dest_query(""), "image/png", png.clone()).await);

    // gif: a GIF form part becomes MP4; a raw MP4 under its own type is sent as it is.
    let gif_form = with_dest(vec![text("caption", "loop"), file("gif", "a.gif", "image/gif", gif.clone())]);
    let form_gif = queued("gif form", post_form(&app, &key, "gif", &gif_form).await);
    let raw_gif = queued("gif raw", post_raw(&app, &key, "gif", &dest_query(""), "video/mp4", mp4.clone()).await);

    // document: the part's own file name and type; raw bytes with filename in the query.
    let doc_form =
        with_dest(vec![text("caption", "numbers"), file("document", "dir/notes.csv", "text/csv", csv.clone())]);
    let form_doc = queued("document form", post_form(&app, &key, "document", &doc_form).await);
    let raw_doc = queued(
        "document raw",
        post_raw(&app, &key, "document", &dest_query("&filename=report.pdf"), "application/octet-stream", pdf.clone())
            .await,
    );

    let e = received(&sandbox, CONTACT, &form_image).await;
    let m = e.media.unwrap();
    assert_eq!(
        (m.kind, m.mimetype.as_deref(), m.caption.as_deref(), m.bytes == png),
        ("image", Some("image/png"), Some("from a form"), true)
    );
    assert!(flag(&e.message_json.unwrap(), "view_once", "viewOnce"), "viewOnce from the form");
    let m = received(&sandbox, OTHER, &to_other).await.media.unwrap();
    assert_eq!((m.kind, m.bytes == png), ("image", true), "the second recipient of the comma list");
    let m = received(&sandbox, CONTACT, &raw_video).await.media.unwrap();
    assert_eq!(
        (m.kind, m.mimetype.as_deref(), m.caption.as_deref(), m.bytes == mp4),
        ("video", Some("video/mp4"), Some("raw clip"), true)
    );
    let m = received(&sandbox, CONTACT, &text_image).await.media.unwrap();
    assert_eq!((m.kind, m.bytes == png), ("image", true));

    let e = received(&sandbox, CONTACT, &form_ptt).await;
    let m = e.media.unwrap();
    assert_eq!((m.kind, m.mimetype.as_deref()), ("audio", Some("audio/ogg; codecs=opus")));
    assert!(m.bytes.windows(8).any(|w| w == b"OpusHead"), "the WAV was converted to Opus");
    assert!(flag(&e.message_json.unwrap(), "ptt", "ptt"), "isVN from the form");
    let e = received(&sandbox, CONTACT, &raw_ptt).await;
    assert!(e.media.unwrap().bytes == opus, "Opus/Ogg is sent as it is");
    assert!(flag(&e.message_json.unwrap(), "ptt", "ptt"), "isVN from the query");
    let e = received(&sandbox, CONTACT, &raw_audio).await;
    let m = e.media.unwrap();
    assert_eq!((m.kind, m.mimetype.as_deref(), m.bytes == wav), ("audio", Some("audio/wav"), true));
    assert!(!flag(&e.message_json.unwrap(), "ptt", "ptt"), "isVN=false is a plain audio file");

    let m = received(&sandbox, CONTACT, &form_sticker).await.media.unwrap();
    assert_eq!((m.kind, m.bytes == webp), ("sticker", true));
    let m = received(&sandbox, CONTACT, &raw_sticker).await.media.unwrap();
    assert_eq!((m.kind, m.mimetype.as_deref()), ("sticker", Some("image/webp")));
    let img = image::load_from_memory_with_format(&m.bytes, image::ImageFormat::WebP).unwrap();
    assert_eq!((img.width(), img.height()), (512, 512));

    let e = received(&sandbox, CONTACT, &form_gif).await;
    let m = e.media.unwrap();
    assert_eq!((m.kind, m.caption.as_deref(), &m.bytes[4..8]), ("video", Some("loop"), &b"ftyp"[..]));
    assert!(flag(&e.message_json.unwrap(), "gif_playback", "gifPlayback"));
    let e = received(&sandbox, CONTACT, &raw_gif).await;
    assert!(e.media.unwrap().bytes == mp4, "an MP4 is sent as it is");
    assert!(flag(&e.message_json.unwrap(), "gif_playback", "gifPlayback"));

    let e = received(&sandbox, CONTACT, &form_doc).await;
    let m = e.media.unwrap();
    assert_eq!(
        (m.kind, m.mimetype.as_deref(), m.caption.as_deref(), m.bytes == csv),
        ("document", Some("text/csv"), Some("numbers"), true)
    );
    let json = e.message_json.unwrap();
    assert!(json.contains("\"notes.csv\"") && !json.contains("dir/"), "the part's file name, last component: {json}");
    let e = received(&sandbox, CONTACT, &raw_doc).await;
    let m = e.media.unwrap();
    assert_eq!((m.kind, m.mimetype.as_deref(), m.bytes == pdf), ("document", Some("application/pdf"), true));
    assert!(e.message_json.unwrap().contains("\"report.pdf\""));
    app.stop().await;
}

/// Route, query, Content-Type, body; then the expected status, code and field.
type RawCase = (&'static str, String, &'static str, Vec<u8>, u16, u64, &'static str);

#[tokio::test]
async fn bad_form_and_raw_bodies_answer_naming_the_field() {
    let app = TestApp::spawn_with(Kind::Sqlite, &[("WAREST_MEDIA_MAX_MB", "1")]).await;
    let (_, key) = app.create_user("ops").await;
    let png = picture(16, 16, image::ImageFormat::Png);
    let big = vec![7u8; 1_100_000];

    let forms: Vec<(&str, Vec<Part>, u16, u64, &str)> = vec![
        ("media", with_dest(vec![text("caption", "no file")]), 400, 2001, "media"),
        ("document", with_dest(vec![]), 400, 2001, "document"),
        ("media", with_dest(vec![file("photo", "p.png", "image/png", png.clone())]), 400, 2001, "photo"),
        (
            "media",
            with_dest(vec![
                file("media", "a.png", "image/png", png.clone()),
                file("file", "b.png", "image/png", png.clone()),
            ]),
            400,
            2001,
            "media",
        ),
        ("sticker", with_dest(vec![file("sticker", "big.png", "image/png", big.clone())]), 413, 3011, "sticker"),
        (
            "audio",
            with_dest(vec![text("isVN", "maybe"), file("audio", "a.ogg", "audio/ogg", png.clone())]),
            400,
            2001,
            "isVN",
        ),
        ("gif", vec![text("to", CONTACT), file("gif", "a.gif", "image/gif", png.clone())], 400, 2001, "sessionId"),
    ];
    for (kind, parts, status, code, field) in forms {
        let (got, answer) = post_form(&app, &key, kind, &parts).await;
        assert_eq!((got, envelope_code(&answer)), (status, code), "{kind} form: {answer}");
        assert_eq!(answer["results"][0]["field"], field, "{kind} form: {answer}");
    }

    let dest = dest_query("");
    let raws: Vec<RawCase> = vec![
        ("audio", dest.clone(), "application/octet-stream", vec![], 400, 2001, "audio"),
        ("media", dest.clone(), "application/octet-stream", big.clone(), 413, 3011, "media"),
        ("media", dest.clone(), "text/plain", png.clone(), 415, 3010, "Content-Type"),
        ("document", dest.clone(), "", png.clone(), 415, 3010, "Content-Type"),
        ("sticker", format!("to={CONTACT}"), "application/octet-stream", png.clone(), 400, 2001, "sessionId"),
        ("audio", dest_query("&presence=often"), "application/octet-stream", png.clone(), 400, 2001, "presence"),
        ("media", "sessionId=main".into(), "image/png", png.clone(), 400, 2001, "to"),
    ];
    for (kind, query, ctype, bytes, status, code, field) in raws {
        let (got, answer) = post_raw(&app, &key, kind, &query, ctype, bytes).await;
        assert_eq!((got, envelope_code(&answer)), (status, code), "{kind} raw {ctype}: {answer}");
        assert_eq!(answer["results"][0]["field"], field, "{kind} raw {ctype}: {answer}");
    }
    app.stop().await;
}
