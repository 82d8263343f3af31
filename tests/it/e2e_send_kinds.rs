//! Every message kind beyond text, end to end: the contact decrypts the right content
//! (image bytes and caption, document bytes and name, location, vCard, poll options).
//! Plus the media guards: private URLs, oversize media and unsupported types are 4xx.

use crate::common;

use std::time::Duration;

use base64::Engine;
use common::fixtures::file_server;
use common::{Kind, TestApp, envelope_code};
use serde_json::{Value, json};
use sha2::Digest;
use warest_sandbox::{Behaviour, Sandbox};

const TIMEOUT: Duration = Duration::from_secs(60);
const CONTACT: &str = "15550004001";
const PHONE: &str = "15550004002";

async fn gateway(sandbox: &Sandbox, env: &[(&str, &str)]) -> TestApp {
    common::wa::sandbox_gateway(Kind::Sqlite, sandbox, env).await
}

async fn link(app: &TestApp, sandbox: &Sandbox, key: &str) {
    common::wa::link_session(app, sandbox, key, "main", PHONE).await
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Bytes that sniff as `magic`'s type, with a unique body.
fn file(magic: &[u8], len: usize, seed: u8) -> Vec<u8> {
    let mut v = magic.to_vec();
    v.extend((0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)));
    v
}

async fn send(app: &TestApp, key: &str, kind: &str, body: Value) -> String {
    let (status, answer) = app.post(&format!("/api/v1/messages/send/{kind}"), Some(key), body).await;
    assert_eq!((status, envelope_code(&answer)), (200, 1000), "{kind}: {answer}");
    answer["results"][0]["messageId"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn every_kind_arrives_decrypted_with_the_right_content() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.create_contact(CONTACT, Behaviour::Silent).await.unwrap();
    let app = gateway(&sandbox, &[("WAREST_ALLOW_PRIVATE_MEDIA_URLS", "true")]).await;
    let (_, key) = app.create_user("ops").await;
    link(&app, &sandbox, &key).await;

    let png = file(b"\x89PNG\r\n\x1a\n", 30_000, 1);
    let id_png = send(
        &app,
        &key,
        "media",
        json!({ "sessionId": "main", "to": CONTACT, "media": b64(&png), "caption": "a png" }),
    )
    .await;
    let jpeg = file(&[0xFF, 0xD8, 0xFF, 0xE0], 20_000, 2);
    let url = file_server(jpeg.clone(), "application/octet-stream").await;
    let id_jpeg =
        send(&app, &key, "media", json!({ "sessionId": "main", "to": CONTACT, "media": url, "viewOnce": true })).await;
    let pdf = file(b"%PDF-1.7\n", 10_000, 3);
    let id_pdf = send(
        &app,
        &key,
        "document",
        json!({ "sessionId": "main", "to": CONTACT, "document": format!("data:application/pdf;base64,{}", b64(&pdf)), "filename": "contract.pdf", "caption": "please sign" }),
    )
    .await;
    let id_loc = send(
        &app,
        &key,
        "location",
        json!({ "sessionId": "main", "to": CONTACT, "location": { "latitude": -6.175392, "longitude": 106.827153, "name": "Monas", "address": "Jakarta" } }),
    )
    .await;
    let id_card = send(
        &app,
        &key,
        "contact",
        json!({ "sessionId": "main", "to": CONTACT, "contact": { "name": "John", "fullName": "John Doe", "phone": "15550009001, 15550009002", "organization": "Acme" } }),
    )
    .await;
    let id_poll = send(
        &app,
        &key,
        "poll",
        json!({ "sessionId": "main", "to": CONTACT, "question": "Lunch?", "options": ["Rice", "Noodles", "Soup"], "maxSelection": 2 }),
    )
    .await;

    let entry = |id: &str| {
        let id = id.to_string();
        let sandbox = &sandbox;
        async move { sandbox.wait_inbox(CONTACT, TIMEOUT, |e| e.id == id).await.unwrap() }
    };
    let e = entry(&id_png).await;
    let m = e.media.expect("image");
    assert_eq!((m.kind, m.mimetype.as_deref(), m.caption.as_deref()), ("image", Some("image/png"), Some("a png")));
    assert_eq!(sha2::Sha256::digest(&m.bytes), sha2::Sha256::digest(&png));

    let e = entry(&id_jpeg).await;
    let m = e.media.expect("image by URL");
    assert_eq!(
        (m.mimetype.as_deref(), m.bytes == jpeg),
        (Some("image/jpeg"), true),
        "sniffed, not the server's octet-stream"
    );
    let json = e.message_json.unwrap();
    assert!(json.contains("view_once\":true") || json.contains("viewOnce\":true"), "view-once flag: {json}");

    let e = entry(&id_pdf).await;
    let m = e.media.expect("document");
    assert_eq!(
        (m.kind, m.mimetype.as_deref(), m.caption.as_deref(), m.bytes == pdf),
        ("document", Some("application/pdf"), Some("please sign"), true)
    );
    assert!(e.message_json.unwrap().contains("contract.pdf"));

    let json = entry(&id_loc).await.message_json.unwrap();
    assert!(json.contains("-6.175392") && json.contains("106.827153") && json.contains("Monas"), "{json}");

    let json = entry(&id_card).await.message_json.unwrap();
    assert!(
        json.contains("FN:John Doe") && json.contains("waid=15550009001") && json.contains("waid=15550009002"),
        "{json}"
    );
    assert!(json.contains("ORG:Acme"), "{json}");

    let json = entry(&id_poll).await.message_json.unwrap();
    for needle in ["Lunch?", "Rice", "Noodles", "Soup"] {
        assert!(json.contains(needle), "{needle} in {json}");
    }
    app.stop().await;
}

#[tokio::test]
async fn media_guards_answer_4xx_naming_the_problem() {
    let sandbox = Sandbox::start().await.unwrap();
    let app = gateway(&sandbox, &[("WAREST_MEDIA_MAX_MB", "1")]).await;
    let (_, key) = app.create_user("ops").await;
    link(&app, &sandbox, &key).await;
    let url = file_server(file(&[0xFF, 0xD8, 0xFF], 100, 0), "image/jpeg").await;
    let big = b64(&file(b"\x89PNG\r\n\x1a\n", 1_100_000, 0));
    let cases = [
        ("media", json!({ "sessionId": "main", "to": CONTACT, "media": url }), 403, 3013, "media"),
        (
            "media",
            json!({ "sessionId": "main", "to": CONTACT, "media": "http://169.254.169.254/latest" }),
            403,
            3013,
            "media",
        ),
        ("media", json!({ "sessionId": "main", "to": CONTACT, "media": big }), 413, 3011, "media"),
        (
            "media",
            json!({ "sessionId": "main", "to": CONTACT, "media": b64(b"%PDF-1.4 not an image") }),
            415,
            3010,
            "media",
        ),
        ("media", json!({ "sessionId": "main", "to": CONTACT, "media": "***" }), 400, 2001, "media"),
        (
            "document",
            json!({ "sessionId": "main", "to": CONTACT, "document": b64(b"hello"), "mimetype": "application/x-evil" }),
            415,
            3010,
            "mimetype",
        ),
        (
            "document",
            json!({ "sessionId": "main", "to": CONTACT, "document": b64(b"hello"), "filename": "../x" }),
            400,
            2001,
            "filename",
        ),
        (
            "location",
            json!({ "sessionId": "main", "to": CONTACT, "location": { "latitude": 91.0, "longitude": 0.0 } }),
            400,
            2001,
            "location.latitude",
        ),
        (
            "contact",
            json!({ "sessionId": "main", "to": CONTACT, "contact": { "name": "X", "phone": "abc" } }),
            400,
            2001,
            "contact.phone[0]",
        ),
        (
            "poll",
            json!({ "sessionId": "main", "to": CONTACT, "question": "Q", "options": ["a", "a"] }),
            400,
            2001,
            "options[1]",
        ),
        (
            "poll",
            json!({ "sessionId": "main", "to": CONTACT, "question": "Q", "options": ["a", "b"], "maxSelection": 3 }),
            400,
            2001,
            "maxSelection",
        ),
        ("media", json!({ "sessionId": "nope", "to": CONTACT, "media": b64(b"\x89PNG\r\n\x1a\nxx") }), 404, 1101, ""),
    ];
    for (kind, body, status, code, field) in cases {
        let (got, answer) = app.post(&format!("/api/v1/messages/send/{kind}"), Some(&key), body).await;
        assert_eq!((got, envelope_code(&answer)), (status, code), "{kind}: {answer}");
        if !field.is_empty() {
            assert_eq!(answer["results"][0]["field"], field, "{answer}");
        }
    }
    app.stop().await;
}
