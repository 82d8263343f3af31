//! `POST /api/v1/misc/whatsapp/file-decrypt`: a blob encrypted exactly as WhatsApp media is
//! (wacore's upload encryption) decrypts back to its plaintext, given as base64 or by URL,
//! answered as a data URL, a signed link or the file itself; wrong keys, types and
//! checksums are 422 with code 3153; bad input is 400 naming the field.

use crate::common;

use base64::Engine;
use common::{Kind, TestApp, envelope_code};
use serde_json::{Value, json};
use sha2::Digest;
use whatsapp_rust::wacore::download::MediaType;
use whatsapp_rust::wacore::upload::encrypt_media;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn data_url_bytes(data: &str) -> (String, Vec<u8>) {
    let rest = data.strip_prefix("data:").expect("a data URL");
    let (meta, b) = rest.split_once(";base64,").unwrap();
    (meta.to_string(), base64::engine::general_purpose::STANDARD.decode(b).unwrap())
}

#[tokio::test]
async fn file_decrypt_round_trips_whatsapp_encrypted_media_and_names_bad_fields() {
    let app =
        TestApp::spawn_with(Kind::Sqlite, &[("WAREST_ALLOW_PRIVATE_MEDIA_URLS", "true"), ("WAREST_MEDIA_MAX_MB", "1")])
            .await;
    let (_, key) = app.create_user("misc").await;
    let path = "/api/v1/misc/whatsapp/file-decrypt";
    let post = |body: Value| {
        let (app, key) = (&app, key.clone());
        async move { app.post(path, Some(&key), body).await }
    };

    let mut plain = b"\x89PNG\r\n\x1a\n".to_vec();
    plain.extend((0..50_000u32).map(|i| (i % 241) as u8));
    let enc = encrypt_media(&plain, MediaType::Image).unwrap();
    let media_key = b64(&enc.media_key);

    // Base64 blob, type from the mimetype, checksum checked.
    let (status, body) =
        post(json!({ "mediaKey": media_key, "file": b64(&enc.data_to_upload), "mimeType": "image/png",
                                      "fileSha256": b64(&enc.file_sha256) }))
        .await;
    assert_eq!((status, envelope_code(&body)), (200, 1000), "{body}");
    let r = &body["results"][0];
    let (mime, bytes) = data_url_bytes(r["data"].as_str().unwrap());
    assert_eq!((mime.as_str(), bytes == plain), ("image/png", true));
    assert_eq!(r["meta"]["size"], plain.len());
    assert_eq!(r["meta"]["mode"], "base64");

    // By URL, the type given explicitly, no mimetype: sniffed from the plaintext.
    let url = common::fixtures::file_server(enc.data_to_upload.clone(), "application/octet-stream").await;
    let (status, body) = post(json!({ "mediaKey": media_key, "file": url, "mediaType": "image" })).await;
    assert_eq!(status, 200, "{body}");
    let (mime, bytes) = data_url_bytes(body["results"][0]["data"].as_str().unwrap());
    assert_eq!((mime.as_str(), bytes == plain), ("image/png", true));

    // output=url: a signed link that serves the same bytes without a key, until it expires.
    let blob = b64(&enc.data_to_upload);
    let (status, body) =
        post(json!({ "mediaKey": media_key, "file": blob, "mimeType": "image/png", "output": "url" })).await;
    assert_eq!(status, 200, "{body}");
    let r = &body["results"][0];
    assert_eq!((r["meta"]["mode"].as_str(), r["meta"]["size"].as_u64()), (Some("url"), Some(plain.len() as u64)));
    assert!(r["meta"]["expiresAt"].as_i64().is_some(), "{body}");
    let link = r["data"].as_str().unwrap();
    let url = if link.starts_with("http") { link.to_string() } else { app.url(link) };
    assert!(url.contains("/api/v1/media/") && url.contains("sig="), "{url}");
    let res = app.http.get(&url).send().await.unwrap();
    assert_eq!((res.status().as_u16(), res.headers()["content-type"].to_str().unwrap()), (200, "image/png"));
    assert!(res.bytes().await.unwrap().as_ref() == plain.as_slice(), "the link serves the plaintext");
    // A tampered signature is refused.
    let (status, answer) = common::call(app.http.get(url.replace("sig=", "sig=00"))).await;
    assert_eq!((status, envelope_code(&answer)), (403, 3151), "{answer}");

    // output=file: the plaintext itself, with its type and a download name.
    let res = app
        .req(reqwest::Method::POST, path, Some(&key))
        .json(&json!({ "mediaKey": media_key, "file": blob, "mediaType": "image", "mimeType": "image/png", "output": "file" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["content-type"].to_str().unwrap(), "image/png");
    assert_eq!(res.headers()["content-disposition"].to_str().unwrap(), "attachment; filename=\"decrypted.png\"");
    assert!(res.bytes().await.unwrap().as_ref() == plain.as_slice(), "the body is the plaintext");

    // A document's keys differ from an image's: the same blob as a document does not verify.
    let (status, body) =
        post(json!({ "mediaKey": media_key, "file": b64(&enc.data_to_upload), "mediaType": "document" })).await;
    assert_eq!((status, envelope_code(&body)), (422, 3153), "{body}");
    let other_key = b64(&[9u8; 32]);
    let (status, body) =
        post(json!({ "mediaKey": other_key, "file": b64(&enc.data_to_upload), "mimeType": "image/png" })).await;
    assert_eq!((status, envelope_code(&body)), (422, 3153), "{body}");
    let wrong_sum = b64(&sha2::Sha256::digest(b"something else"));
    let (status, body) =
        post(json!({ "mediaKey": media_key, "file": b64(&enc.data_to_upload), "mimeType": "image/png",
                                      "fileSha256": wrong_sum }))
        .await;
    assert_eq!((status, envelope_code(&body)), (422, 3153), "{body}");

    // Bad input: 400 naming the field.
    let cases = [
        (json!({ "file": "AAAA" }), "mediaKey"),
        (json!({ "mediaKey": media_key }), "file"),
        (json!({ "mediaKey": "not base64!", "file": "AAAA", "mimeType": "image/png" }), "mediaKey"),
        (json!({ "mediaKey": b64(&[1u8; 16]), "file": "AAAA", "mimeType": "image/png" }), "mediaKey"),
        (json!({ "mediaKey": media_key, "file": "AAAA" }), "mediaType"),
        (json!({ "mediaKey": media_key, "file": "AAAA", "mediaType": "hologram" }), "mediaType"),
        (json!({ "mediaKey": media_key, "file": "AAAA", "mimeType": "image/png", "output": "ftp" }), "output"),
        (json!({ "mediaKey": media_key, "file": "AAAA", "mimeType": "image/png\r\nX-Evil: 1" }), "mimeType"),
        (json!({ "mediaKey": media_key, "file": "AAAA", "mimeType": "png" }), "mimeType"),
        (json!({ "mediaKey": media_key, "file": "/etc/passwd", "mimeType": "image/png" }), "file"),
        (json!({ "mediaKey": media_key, "file": "", "mimeType": "image/png" }), "file"),
        (json!({ "mediaKey": media_key, "file": "AAAA", "mimeType": "image/png", "fileSha256": "%%" }), "fileSha256"),
    ];
    for (body, field) in cases {
        let (status, answer) = post(body.clone()).await;
        assert_eq!((status, answer["results"][0]["field"].as_str()), (400, Some(field)), "{body} -> {answer}");
    }
    // Over the size cap (1 MiB here): 413, before decoding.
    let big = b64(&vec![0u8; 2 * 1024 * 1024]);
    let (status, body) = post(json!({ "mediaKey": media_key, "file": big, "mimeType": "image/png" })).await;
    assert_eq!((status, envelope_code(&body)), (413, 3011), "{body}");
    // No key: 401.
    let (status, _) = app.post(path, None, json!({})).await;
    assert_eq!(status, 401);
    app.stop().await;
}

#[tokio::test]
async fn generated_files_are_pruned_once_their_links_expired() {
    use warest::media::generated;
    let app = TestApp::spawn(Kind::Sqlite).await;
    let (db, dir, cfg) = (&app.state.db, &app.state.config.data_dir, &app.state.config.media);
    let who = warest::auth::Principal { registry: "r1".into(), username: "u1".into(), is_admin: false, key_id: None };
    let old = generated::store(db, dir, cfg, &who, b"old bytes", "text/plain").await.unwrap();
    let path = |id: &str| warest::media::stored_path(dir, generated::OWNER, id);
    assert!(path(&old.id).is_file());
    // Age the first file past the link lifetime; the next store removes it.
    let long_ago = warest::store::now_ms() - (cfg.url_ttl.as_millis() as i64) - 1000;
    sqlx::query("UPDATE media SET created_at = $1 WHERE id = $2")
        .bind(long_ago)
        .bind(&old.id)
        .execute(db.pool())
        .await
        .unwrap();
    let new = generated::store(db, dir, cfg, &who, b"new bytes", "text/plain").await.unwrap();
    assert!(!path(&old.id).exists(), "the expired file is deleted");
    assert!(warest::media::received::get(db, &old.id).await.unwrap().is_none(), "and forgotten");
    assert!(path(&new.id).is_file());
    let (status, _) = common::call(app.http.get(app.url(&old.url))).await;
    assert_eq!(status, 404);
    app.stop().await;
}
