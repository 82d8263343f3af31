//! `/api/v1/misc/*` over HTTP: identifiers, hashes, HMACs, base64, QR codes and the
//! offline side of the WhatsApp number/JID checks, each with bad input answered 400
//! naming the field and with its size caps. (The session-backed lookups are covered in
//! `e2e_misc_wa.rs` against the sandbox.)

mod common;

use base64::Engine;
use common::{Kind, TestApp, envelope_code};
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
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let pixels: Vec<u8> = (0..w * h * 3).map(|i| (i % 251) as u8).collect();
    enc.write_header().unwrap().write_image_data(&pixels).unwrap();
    out
}

fn png_size(data_url: &str) -> (u32, u32) {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data_url.strip_prefix("data:image/png;base64,").unwrap())
        .unwrap();
    let reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().unwrap();
    (reader.info().width, reader.info().height)
}

#[tokio::test]
async fn png_thumbnails_and_resizing() {
    let (app, key) = app().await;
    let src = format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(png_of(640, 480)));
    let t = "/api/v1/misc/media/thumbnail";
    let (status, body) =
        app.post(t, Some(&key), json!({ "file": src, "type": "image", "width": 64, "height": 64 })).await;
    assert_eq!(status, 200, "{body}");
    let item = &data(&body)[0];
    assert_eq!(png_size(item["thumbnail"].as_str().unwrap()), (64, 48));
    assert_eq!(item["meta"], json!({ "mimetype": "image/png", "width": 64, "height": 48 }));
    bad(&app, &key, t, json!({ "file": src, "type": "video" }), "type").await;
    bad(&app, &key, t, json!({ "file": src, "type": "image", "width": 0 }), "width").await;
    bad(&app, &key, t, json!({ "file": src, "type": "image", "height": 5000 }), "height").await;
    bad(&app, &key, t, json!({ "file": src, "type": "image", "output": "url" }), "output").await;
    // A truncated JPEG is not readable; a real one (and a WebP) is thumbnailed like a PNG.
    bad(&app, &key, t, json!({ "file": "data:image/jpeg;base64,/9j/4AAQSkZJRg==", "type": "image" }), "file").await;
    for format in [image::ImageFormat::Jpeg, image::ImageFormat::WebP] {
        let mut bytes = Vec::new();
        image::DynamicImage::new_rgb8(300, 150).write_to(&mut std::io::Cursor::new(&mut bytes), format).unwrap();
        let file = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let (status, body) =
            app.post(t, Some(&key), json!({ "file": file, "type": "image", "width": 60, "height": 60 })).await;
        assert_eq!(status, 200, "{format:?}: {body}");
        assert_eq!(png_size(data(&body)[0]["thumbnail"].as_str().unwrap()), (60, 30), "{format:?}");
    }
    bad(&app, &key, t, json!({ "file": "%%%", "type": "image" }), "file").await;
    bad(&app, &key, t, json!({ "type": "image" }), "file").await;

    let i = "/api/v1/misc/media/image";
    let (status, body) =
        app.post(i, Some(&key), json!({ "file": src, "actions": { "resize": { "width": 100, "height": 30, "fit": "fill" }, "compress": { "quality": 80 } } })).await;
    assert_eq!(status, 200, "{body}");
    let r = &body["results"][0];
    assert_eq!(png_size(r["data"].as_str().unwrap()), (100, 30));
    assert_eq!((r["details"]["width"].as_u64(), r["details"]["height"].as_u64()), (Some(100), Some(30)));
    assert_eq!(r["actionsPerformed"], json!(["resize", "compress"]));
    let (_, body) = app.post(i, Some(&key), json!({ "file": src, "actions": { "resize": { "width": 320 } } })).await;
    assert_eq!(png_size(body["results"][0]["data"].as_str().unwrap()), (320, 240), "{body}");
    bad(&app, &key, i, json!({ "file": src, "actions": { "convert": "webp" } }), "actions.convert").await;
    bad(&app, &key, i, json!({ "file": src, "actions": { "resize": {} } }), "actions.resize").await;
    bad(
        &app,
        &key,
        i,
        json!({ "file": src, "actions": { "resize": { "width": 10, "fit": "cover" } } }),
        "actions.resize.fit",
    )
    .await;
    bad(&app, &key, i, json!({ "file": src, "actions": { "compress": { "quality": 0 } } }), "actions.compress.quality")
        .await;
    app.stop().await;
}
