//! `/api/v1/misc/*` over HTTP: identifiers, hashes, HMACs, base64, QR codes and the
//! offline side of the WhatsApp number/JID checks, each with bad input answered 400
//! naming the field and with its size caps. (The session-backed lookups are covered in
//! `e2e_misc_wa.rs` against the sandbox.)

use crate::common;

use base64::Engine;
use common::{Kind, TestApp, envelope_code, require};
use serde_json::{Value, json};

async fn app() -> (TestApp, String) {
    let app = TestApp::spawn(Kind::Sqlite).await;
    let (_, key) = app.create_user("misc").await;
    (app, key)
}

fn data(body: &Value) -> &Value {
    &body["results"][0]["data"]
}

async fn bad(app: &TestApp, key: &str, path: &str, body: Value, field: &str) {
    let (status, res) = app.post(path, Some(key), body.clone()).await;
    assert_eq!((status, envelope_code(&res)), (400, 2001), "{path} {body}: {res}");
    assert_eq!(res["results"][0]["field"], field, "{path} {body}: {res}");
}

#[tokio::test]
async fn uuid_generate_and_validate() {
    let (app, key) = app().await;
    let (status, body) = app.post("/api/v1/misc/uuid/generate", Some(&key), json!({ "count": 3 })).await;
    assert_eq!(status, 200, "{body}");
    let ids: Vec<&str> = data(&body).as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(ids.len(), 3);
    assert!(ids[0] != ids[1] && ids[1] != ids[2]);
    for id in &ids {
        assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 4);
    }
    // No body at all: one v4.
    let (status, body) = common::call(app.req(reqwest::Method::POST, "/api/v1/misc/uuid/generate", Some(&key))).await;
    assert_eq!((status, data(&body).as_array().map(Vec::len)), (200, Some(1)), "{body}");
    let (_, body) = app
        .post(
            "/api/v1/misc/uuid/generate",
            Some(&key),
            json!({ "version": "v5", "namespace": "dns", "name": "python.org" }),
        )
        .await;
    assert_eq!(data(&body), &json!(["886313e1-3b8a-5372-9b90-0c9aee199e5d"]), "{body}");
    let (_, body) = app.post("/api/v1/misc/uuid/generate", Some(&key), json!({ "type": "ulid", "count": 2 })).await;
    let ulid = data(&body)[0].as_str().unwrap().to_string();
    assert_eq!(ulid.len(), 26, "{body}");
    let (_, body) =
        app.post("/api/v1/misc/uuid/generate", Some(&key), json!({ "version": "v7", "format": "xxxx-xxxx" })).await;
    assert_eq!(data(&body)[0].as_str().unwrap().len(), 9, "{body}");

    let (status, body) = app
        .post("/api/v1/misc/uuid/validate", Some(&key), json!({ "value": "f47ac10b-58cc-4372-a567-0e02b2c3d479" }))
        .await;
    assert_eq!(status, 200);
    assert_eq!(data(&body), &json!({ "isValid": true, "type": "uuid", "version": "v4" }));
    let (_, body) = app.post("/api/v1/misc/uuid/validate", Some(&key), json!({ "value": ulid })).await;
    assert_eq!(data(&body)["type"], "ulid", "{body}");
    let (_, body) = app.post("/api/v1/misc/uuid/validate", Some(&key), json!({ "value": "nope" })).await;
    assert_eq!(data(&body)["isValid"], false, "{body}");

    let g = "/api/v1/misc/uuid/generate";
    bad(&app, &key, g, json!({ "count": 0 }), "count").await;
    bad(&app, &key, g, json!({ "count": 1001 }), "count").await;
    bad(&app, &key, g, json!({ "count": "two" }), "count").await;
    bad(&app, &key, g, json!({ "version": "v9" }), "version").await;
    bad(&app, &key, g, json!({ "version": "v3" }), "namespace").await;
    bad(&app, &key, g, json!({ "version": "v3", "namespace": "dns" }), "name").await;
    bad(&app, &key, g, json!({ "type": "snowflake" }), "type").await;
    bad(&app, &key, g, json!({ "format": "----" }), "format").await;
    bad(&app, &key, "/api/v1/misc/uuid/validate", json!({}), "value").await;
    bad(&app, &key, "/api/v1/misc/uuid/validate", json!({ "value": "x", "type": "guid" }), "type").await;
    // Unauthenticated callers are refused.
    let (status, _) = app.post(g, None, json!({})).await;
    assert_eq!(status, 401);
    app.stop().await;
}

#[tokio::test]
async fn hashes_hmacs_and_base64() {
    let (app, key) = app().await;
    let h = "/api/v1/misc/crypto/hash";
    let (status, body) = app.post(h, Some(&key), json!({ "input": "abc" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(data(&body), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    let (_, body) = app.post(h, Some(&key), json!({ "input": "abc", "algo": "md5" })).await;
    assert_eq!(data(&body), "900150983cd24fb0d6963f7d28e17f72");
    let (_, body) = app.post(h, Some(&key), json!({ "input": "abc", "algo": "sha1", "output": "base64" })).await;
    assert_eq!(data(&body), "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=");
    bad(&app, &key, h, json!({ "input": "abc", "algo": "crc32" }), "algo").await;
    bad(&app, &key, h, json!({ "input": "abc", "output": "binary" }), "output").await;
    bad(&app, &key, h, json!({ "input": "x".repeat(1024 * 1024 + 1) }), "input").await;
    bad(&app, &key, h, json!({}), "input").await;

    let m = "/api/v1/misc/crypto/hmac";
    // RFC 4231 test case 2.
    let (status, body) =
        app.post(m, Some(&key), json!({ "key": "Jefe", "input": "what do ya want for nothing?" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(data(&body), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    bad(&app, &key, m, json!({ "key": "", "input": "x" }), "key").await;
    bad(&app, &key, m, json!({ "input": "x" }), "key").await;
    bad(&app, &key, m, json!({ "key": "k", "input": "x", "algo": "whirlpool" }), "algo").await;

    let b = "/api/v1/misc/base64";
    let (_, body) = app.post(b, Some(&key), json!({ "action": "encode", "input": "Hello" })).await;
    assert_eq!(data(&body), "SGVsbG8=");
    let (_, body) = app.post(b, Some(&key), json!({ "action": "decode", "input": "SGVsbG8" })).await;
    assert_eq!(data(&body), "Hello");
    let (_, body) = app.post(b, Some(&key), json!({ "action": "decode", "input": "__8=", "output": "base64" })).await;
    assert_eq!(data(&body), "//8=");
    bad(&app, &key, b, json!({ "action": "decode", "input": "%%%" }), "input").await;
    bad(&app, &key, b, json!({ "action": "decode", "input": "//8=" }), "input").await;
    bad(&app, &key, b, json!({ "action": "rot13", "input": "x" }), "action").await;
    bad(&app, &key, b, json!({ "input": "x", "output": "file" }), "output").await;
    app.stop().await;
}

#[tokio::test]
async fn qr_codes_as_png_and_svg() {
    let (app, key) = app().await;
    for target in ["base64", "png"] {
        let (status, body) = app
            .post(&format!("/api/v1/misc/convert-string-toqr/{target}"), Some(&key), json!({ "string": "Hello QR" }))
            .await;
        assert_eq!(status, 200, "{body}");
        let url = data(&body).as_str().unwrap();
        let png = base64::engine::general_purpose::STANDARD
            .decode(url.strip_prefix("data:image/png;base64,").unwrap())
            .unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(body["results"][0]["meta"]["mimeType"], "image/png");
        assert_eq!(body["results"][0]["meta"]["size"], png.len());
    }
    let (_, body) = app.post("/api/v1/misc/convert-string-toqr/svg", Some(&key), json!({ "string": "Hello QR" })).await;
    let url = data(&body).as_str().unwrap();
    let svg = base64::engine::general_purpose::STANDARD
        .decode(url.strip_prefix("data:image/svg+xml;base64,").unwrap())
        .unwrap();
    assert!(String::from_utf8(svg).unwrap().starts_with("<svg"));
    let q = "/api/v1/misc/convert-string-toqr/png";
    bad(&app, &key, q, json!({ "string": "" }), "string").await;
    bad(&app, &key, q, json!({ "string": "x".repeat(2049) }), "string").await;
    bad(&app, &key, q, json!({ "string": "x", "encoding": "latin1" }), "encoding").await;
    bad(&app, &key, q, json!({}), "string").await;
    bad(&app, &key, "/api/v1/misc/convert-string-toqr/gif", json!({ "string": "x" }), "target").await;
    app.stop().await;
}

#[tokio::test]
async fn phone_and_jid_checks_offline() {
    let (app, key) = app().await;
    let p = "/api/v1/misc/whatsapp/validate/phone";
    let (status, body) = app.post(p, Some(&key), json!({ "phone": "+62 812-3456-7890" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        data(&body),
        &json!({ "exists": null, "e164": "+6281234567890", "jid": "6281234567890@s.whatsapp.net", "lid": null, "country": "ID" })
    );
    let (_, body) = app.post(p, Some(&key), json!({ "phone": "08123456789", "country": "ID" })).await;
    assert_eq!(data(&body)["e164"], "+628123456789", "{body}");
    bad(&app, &key, p, json!({ "phone": "abc" }), "phone").await;
    bad(&app, &key, p, json!({ "phone": "123", "country": "XX" }), "country").await;
    bad(&app, &key, p, json!({ "phone": "1".repeat(65) }), "phone").await;
    bad(&app, &key, p, json!({ "phone": "62812@s.whatsapp.net" }), "phone").await;
    bad(&app, &key, p, json!({}), "phone").await;

    let j = "/api/v1/misc/whatsapp/validate/jid";
    for (jid, kind) in [("62812@s.whatsapp.net", "user"), ("120363@g.us", "group"), ("100000000000001@lid", "lid")] {
        let (_, body) = app.post(j, Some(&key), json!({ "jid": jid })).await;
        assert_eq!(data(&body), &json!({ "isValid": true, "exists": null, "type": kind }), "{jid}");
    }
    let (_, body) = app.post(j, Some(&key), json!({ "jid": "hello" })).await;
    assert_eq!(data(&body)["isValid"], false, "{body}");
    bad(&app, &key, j, json!({ "jid": "x".repeat(129) }), "jid").await;

    let r = "/api/v1/misc/whatsapp/resolve/jid-or-lid";
    let (_, body) = app.post(r, Some(&key), json!({ "input": "lid:12345" })).await;
    assert_eq!(data(&body)["lid"], "12345@lid", "{body}");
    assert_eq!(data(&body)["type"], "lid");
    let (_, body) = app.post(r, Some(&key), json!({ "input": "628123456789" })).await;
    assert_eq!(
        (data(&body)["type"].as_str(), data(&body)["jid"].as_str()),
        (Some("phone"), Some("628123456789@s.whatsapp.net"))
    );
    assert_eq!(data(&body)["country"], "ID");
    bad(&app, &key, r, json!({ "input": "" }), "input").await;
    bad(&app, &key, r, json!({ "input": "lid:abc" }), "input").await;
    bad(&app, &key, r, json!({ "input": "120363@g.us" }), "input").await;
    // With a session the caller does not own: not found, never someone else's data.
    let (status, res) = app.post(r, Some(&key), json!({ "input": "628123456789", "sessionId": "nope" })).await;
    assert_eq!((status, envelope_code(&res)), (404, 1101), "{res}");
    app.stop().await;
}

fn png_of(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 251) as u8, (y % 251) as u8, 90]));
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img).write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png).unwrap();
    out
}

/// A `data:` URL's mimetype and bytes.
fn data_url(s: &str) -> (String, Vec<u8>) {
    let (mime, b64) = s.strip_prefix("data:").and_then(|r| r.split_once(";base64,")).expect("a data URL");
    (mime.to_string(), base64::engine::general_purpose::STANDARD.decode(b64).unwrap())
}

/// The format and size of encoded picture bytes.
fn picture(bytes: &[u8]) -> (image::ImageFormat, u32, u32) {
    let format = image::guess_format(bytes).unwrap();
    let img = image::load_from_memory(bytes).unwrap();
    (format, img.width(), img.height())
}

fn picture_of_data_url(s: &str) -> (String, image::ImageFormat, u32, u32) {
    let (mime, bytes) = data_url(s);
    let (f, w, h) = picture(&bytes);
    (mime, f, w, h)
}

/// Fetches a signed link (no API key) and returns status, Content-Type and bytes.
async fn fetch_link(app: &TestApp, link: &str) -> (u16, String, Vec<u8>) {
    let url = if link.starts_with("http") { link.to_string() } else { app.url(link) };
    assert!(url.contains("/api/v1/media/") && url.contains("sig="), "{url}");
    let res = app.http.get(url).send().await.unwrap();
    let status = res.status().as_u16();
    let ct = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (status, ct, res.bytes().await.unwrap().to_vec())
}

/// POSTs and returns status, Content-Type, Content-Disposition and the raw body.
async fn post_raw(app: &TestApp, key: &str, path: &str, body: Value) -> (u16, String, String, Vec<u8>) {
    let res = app.req(reqwest::Method::POST, path, Some(key)).json(&body).send().await.unwrap();
    let h = |n: &str| res.headers().get(n).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let (status, ct, cd) = (res.status().as_u16(), h("content-type"), h("content-disposition"));
    (status, ct, cd, res.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn image_thumbnails_in_each_format_and_output() {
    use image::ImageFormat::{Jpeg, Png, WebP};
    let (app, key) = app().await;
    let src = format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(png_of(640, 480)));
    let t = "/api/v1/misc/media/thumbnail";
    // Default: a JPEG data URL fitted in the box.
    let (status, body) =
        app.post(t, Some(&key), json!({ "file": src, "type": "image", "width": 64, "height": 64 })).await;
    assert_eq!(status, 200, "{body}");
    let item = &data(&body)[0];
    assert_eq!(picture_of_data_url(item["thumbnail"].as_str().unwrap()), ("image/jpeg".into(), Jpeg, 64, 48));
    assert_eq!(item["meta"], json!({ "mimetype": "image/jpeg", "width": 64, "height": 48 }));
    for (format, want, mime) in [("png", Png, "image/png"), ("webp", WebP, "image/webp")] {
        let (status, body) =
            app.post(t, Some(&key), json!({ "file": src, "type": "image", "width": 100, "format": format })).await;
        assert_eq!(status, 200, "{body}");
        let got = picture_of_data_url(data(&body)[0]["thumbnail"].as_str().unwrap());
        assert_eq!(got, (mime.to_string(), want, 100, 75), "{format}");
    }
    // JPEG and WebP inputs are thumbnailed like a PNG.
    for format in [Jpeg, WebP] {
        let mut bytes = Vec::new();
        image::DynamicImage::new_rgb8(300, 150).write_to(&mut std::io::Cursor::new(&mut bytes), format).unwrap();
        let file = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let (status, body) =
            app.post(t, Some(&key), json!({ "file": file, "type": "image", "width": 60, "height": 60 })).await;
        assert_eq!(status, 200, "{format:?}: {body}");
        assert_eq!(picture_of_data_url(data(&body)[0]["thumbnail"].as_str().unwrap()).2, 60, "{format:?}");
    }
    // output=url: a signed link the media route serves without a key.
    let (status, body) = app.post(t, Some(&key), json!({ "file": src, "type": "image", "output": "url" })).await;
    assert_eq!(status, 200, "{body}");
    let item = &data(&body)[0];
    assert!(item["meta"]["expiresAt"].as_i64().is_some(), "{body}");
    let (status, ct, bytes) = fetch_link(&app, item["thumbnail"].as_str().unwrap()).await;
    assert_eq!((status, ct.as_str(), picture(&bytes)), (200, "image/jpeg", (Jpeg, 320, 240)));
    // output=file: the thumbnail itself.
    let (status, ct, cd, bytes) =
        post_raw(&app, &key, t, json!({ "file": src, "type": "image", "format": "png", "output": "file" })).await;
    assert_eq!((status, ct.as_str(), cd.as_str()), (200, "image/png", "attachment; filename=\"thumbnail.png\""));
    assert_eq!(picture(&bytes), (Png, 320, 240));

    bad(&app, &key, t, json!({ "file": src, "type": "audio" }), "type").await;
    bad(&app, &key, t, json!({ "file": src, "type": "image", "width": 0 }), "width").await;
    bad(&app, &key, t, json!({ "file": src, "type": "image", "height": 5000 }), "height").await;
    bad(&app, &key, t, json!({ "file": src, "type": "image", "output": "ftp" }), "output").await;
    bad(&app, &key, t, json!({ "file": src, "type": "image", "format": "tiff" }), "format").await;
    bad(&app, &key, t, json!({ "file": src, "type": "image", "count": 2 }), "count").await;
    bad(&app, &key, t, json!({ "file": src, "type": "video", "count": 11 }), "count").await;
    bad(&app, &key, t, json!({ "file": src, "type": "video", "count": 2, "output": "file" }), "output").await;
    bad(&app, &key, t, json!({ "file": "data:image/jpeg;base64,/9j/4AAQSkZJRg==", "type": "image" }), "file").await;
    bad(&app, &key, t, json!({ "file": "%%%", "type": "image" }), "file").await;
    bad(&app, &key, t, json!({ "type": "image" }), "file").await;
    app.stop().await;
}

/// A small MP4 (160×120, 10 fps, 3 s) made with the system ffmpeg.
#[tokio::test]
async fn video_thumbnails_are_stills_through_ffmpeg() {
    let Some(_) = require::ffmpeg() else { return };
    let (app, key) = app().await;
    let video = format!(
        "data:video/mp4;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(common::fixtures::mpeg4_clip())
    );
    let t = "/api/v1/misc/media/thumbnail";
    let (status, body) =
        app.post(t, Some(&key), json!({ "file": video, "type": "video", "width": 80, "height": 80, "count": 3 })).await;
    assert_eq!(status, 200, "{body}");
    let stills = data(&body).as_array().unwrap();
    assert_eq!(stills.len(), 3, "{body}");
    let decoded: Vec<_> = stills.iter().map(|s| data_url(s["thumbnail"].as_str().unwrap()).1).collect();
    for bytes in &decoded {
        assert_eq!(picture(bytes), (image::ImageFormat::Jpeg, 80, 60));
    }
    assert!(decoded[0] != decoded[2], "stills are taken at different times");
    let (status, ct, _, bytes) =
        post_raw(&app, &key, t, json!({ "file": video, "type": "video", "format": "webp", "output": "file" })).await;
    assert_eq!((status, ct.as_str(), picture(&bytes)), (200, "image/webp", (image::ImageFormat::WebP, 160, 120)));
    // Not a video: ffmpeg cannot read it.
    let (status, body) = app.post(t, Some(&key), json!({ "file": "AAAAAAAAAAAA", "type": "video" })).await;
    assert_eq!((status, body["results"][0]["field"].as_str()), (422, Some("file")), "{body}");
    app.stop().await;
}

/// Needs no ffmpeg: the gateway looks for it before ffmpeg would read the video, so the
/// start of an MP4 (its `ftyp` box) does.
#[tokio::test]
async fn video_thumbnails_without_ffmpeg_are_503() {
    let app = TestApp::spawn_with(Kind::Sqlite, &[("WAREST_FFMPEG_PATH", "/nonexistent/ffmpeg")]).await;
    let (_, key) = app.create_user("misc").await;
    let mp4_start = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom";
    let video = format!("data:video/mp4;base64,{}", base64::engine::general_purpose::STANDARD.encode(mp4_start));
    let (status, body) =
        app.post("/api/v1/misc/media/thumbnail", Some(&key), json!({ "file": video, "type": "video" })).await;
    assert_eq!((status, envelope_code(&body)), (503, 3014), "{body}");
    app.stop().await;
}

#[tokio::test]
async fn images_are_converted_resized_and_compressed() {
    use image::ImageFormat::{Jpeg, Png, WebP};
    let (app, key) = app().await;
    let src = format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(png_of(640, 480)));
    let i = "/api/v1/misc/media/image";
    let run = |body: Value| {
        let (app, key) = (&app, key.clone());
        async move {
            let (status, res) = app.post(i, Some(&key), body.clone()).await;
            assert_eq!(status, 200, "{body}: {res}");
            res["results"][0].clone()
        }
    };
    let r = run(json!({ "file": src, "actions": { "resize": { "width": 100, "height": 30, "fit": "fill" }, "compress": { "quality": 80 } } })).await;
    assert_eq!(picture_of_data_url(r["data"].as_str().unwrap()), ("image/png".into(), Png, 100, 30));
    assert_eq!((r["details"]["width"].as_u64(), r["details"]["height"].as_u64()), (Some(100), Some(30)));
    assert_eq!(
        (r["details"]["format"].as_str(), r["actionsPerformed"].clone()),
        (Some("png"), json!(["resize", "compress"]))
    );
    let r = run(json!({ "file": src, "actions": { "resize": { "width": 320 } } })).await;
    assert_eq!(picture_of_data_url(r["data"].as_str().unwrap()).2, 320);

    // Convert to JPEG: a lower quality gives a smaller file, both decode at the right size.
    let mut sizes = Vec::new();
    for q in [95, 20] {
        let r = run(json!({ "file": src, "actions": { "convert": "jpg", "compress": { "quality": q } } })).await;
        assert_eq!(picture_of_data_url(r["data"].as_str().unwrap()), ("image/jpeg".into(), Jpeg, 640, 480));
        assert_eq!(
            (r["details"]["format"].as_str(), r["meta"]["mimeType"].as_str()),
            (Some("jpeg"), Some("image/jpeg"))
        );
        sizes.push(r["details"]["size"].as_u64().unwrap());
    }
    assert!(sizes[1] < sizes[0], "quality 20 is smaller than 95: {sizes:?}");
    // WebP, and each fit mode's size.
    let r = run(json!({ "file": src, "actions": { "convert": "webp", "resize": { "height": 120 } } })).await;
    assert_eq!(picture_of_data_url(r["data"].as_str().unwrap()), ("image/webp".into(), WebP, 160, 120));
    assert_eq!(r["actionsPerformed"], json!(["convert", "resize"]));
    for (fit, w, h) in [("cover", 100, 100), ("contain", 100, 100), ("inside", 100, 75), ("outside", 133, 100)] {
        let r = run(json!({ "file": src, "actions": { "resize": { "width": 100, "height": 100, "fit": fit } } })).await;
        assert_eq!(picture_of_data_url(r["data"].as_str().unwrap()).2, w, "{fit}");
        assert_eq!(picture_of_data_url(r["data"].as_str().unwrap()).3, h, "{fit}");
    }
    // output=url and output=file.
    let r = run(json!({ "file": src, "actions": { "convert": "webp" }, "output": "url" })).await;
    let (status, ct, bytes) = fetch_link(&app, r["data"].as_str().unwrap()).await;
    assert_eq!((status, ct.as_str(), picture(&bytes)), (200, "image/webp", (WebP, 640, 480)));
    assert_eq!(r["details"]["size"].as_u64(), Some(bytes.len() as u64));
    let (status, ct, cd, bytes) =
        post_raw(&app, &key, i, json!({ "file": src, "actions": { "convert": "jpeg" }, "output": "file" })).await;
    assert_eq!((status, ct.as_str(), cd.as_str()), (200, "image/jpeg", "attachment; filename=\"image.jpg\""));
    assert_eq!(picture(&bytes), (Jpeg, 640, 480));

    bad(&app, &key, i, json!({ "file": src, "actions": { "convert": "tiff" } }), "actions.convert").await;
    bad(&app, &key, i, json!({ "file": src, "actions": { "resize": {} } }), "actions.resize").await;
    bad(&app, &key, i, json!({ "file": src, "actions": { "resize": { "width": 5000 } } }), "actions.resize.width")
        .await;
    // 640×480 covering 4096×4096 would be 5461 wide.
    let huge = json!({ "file": src, "actions": { "resize": { "width": 4096, "height": 4096, "fit": "outside" } } });
    bad(&app, &key, i, huge, "actions.resize").await;
    bad(
        &app,
        &key,
        i,
        json!({ "file": src, "actions": { "resize": { "width": 10, "fit": "squash" } } }),
        "actions.resize.fit",
    )
    .await;
    bad(&app, &key, i, json!({ "file": src, "actions": { "compress": { "quality": 0 } } }), "actions.compress.quality")
        .await;
    bad(&app, &key, i, json!({ "file": src, "output": "fax" }), "output").await;
    bad(&app, &key, i, json!({ "file": "bm90IGFuIGltYWdl" }), "file").await;
    app.stop().await;
}
