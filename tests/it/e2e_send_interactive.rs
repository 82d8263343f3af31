//! Buttons, lists and forwards end to end: the contact decrypts an interactive message
//! with the right button texts and list rows, and a forwarded message arrives with the
//! same content marked forwarded. Bad input is a 400 naming the field; an unknown
//! message id to forward is a 404 (3003). A received image is forwarded from its downloaded
//! file (`WAREST_DOWNLOAD_MEDIA_RECEIVED`); without the file it cannot be (422, 3020).

use crate::common;

use std::time::Duration;

use base64::Engine;
use common::fixtures::picture;
use common::{Kind, TestApp, envelope_code, eventually, kinds};
use serde_json::{Value, json};
use warest_sandbox::{Behaviour, Sandbox};

const TIMEOUT: Duration = Duration::from_secs(60);
const CONTACT: &str = "15550006001";
const OTHER: &str = "15550006003";
const PHONE: &str = "15550006002";

async fn gateway(sandbox: &Sandbox) -> TestApp {
    gateway_on(Kind::Sqlite, sandbox).await
}

async fn gateway_on(kind: Kind, sandbox: &Sandbox) -> TestApp {
    common::wa::sandbox_gateway(kind, sandbox, &[]).await
}

async fn link(app: &TestApp, sandbox: &Sandbox, key: &str) {
    common::wa::link_session(app, sandbox, key, "main", PHONE).await
}

async fn send(app: &TestApp, key: &str, kind: &str, body: Value) -> String {
    let (status, answer) = app.post(&format!("/api/v1/messages/send/{kind}"), Some(key), body).await;
    assert_eq!((status, envelope_code(&answer)), (200, 1000), "{kind}: {answer}");
    answer["results"][0]["messageId"].as_str().unwrap().to_string()
}

fn forwarded(json: &str) -> bool {
    json.contains("\"is_forwarded\":true") || json.contains("\"isForwarded\":true")
}

#[tokio::test]
async fn buttons_and_lists_arrive_with_their_texts_and_rows() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.create_contact(CONTACT, Behaviour::Silent).await.unwrap();
    let app = gateway(&sandbox).await;
    let (_, key) = app.create_user("ops").await;
    link(&app, &sandbox, &key).await;
    // The stanza as it leaves the gateway's client: a top-level interactive message gets
    // the `<biz>` node phones need to render it (a wrapped one would not).
    let row = app.state.db.session("main").await.unwrap();
    let client = app.state.sessions.handle(&row).client().expect("a connected client");
    let stanza = client
        .wait_for_sent_node(whatsapp_rust::NodeFilter::tag("message").attr("to", format!("{CONTACT}@s.whatsapp.net")));

    let id_buttons = send(
        &app,
        &key,
        "button",
        json!({ "sessionId": "main", "to": CONTACT, "text": "Need help?", "footer": "Support desk",
                "buttons": [
                    { "type": "reply", "displayText": "Talk to agent", "id": "agent" },
                    { "type": "url", "displayText": "Open site", "url": "https://example.com/help" },
                    { "type": "call", "displayText": "Call us", "phoneNumber": "+15550000000" } ] }),
    )
    .await;
    // A header image is uploaded when the job runs and decrypts on the contact's side.
    let png = [b"\x89PNG\r\n\x1a\n".as_slice(), &[7u8; 500]].concat();
    let id_list = send(
        &app,
        &key,
        "list",
        json!({ "sessionId": "main", "to": CONTACT,
                "image": base64::engine::general_purpose::STANDARD.encode(&png),
                "list": { "buttonText": "Choose fruit", "title": "Fruit shop", "text": "Select a fruit:",
                          "footer": "Fresh daily",
                          "sections": [
                              { "title": "Red", "rows": [ { "id": "apple", "title": "Apple", "description": "Sweet" } ] },
                              { "title": "Yellow", "rows": [ { "id": "banana", "title": "Banana" } ] } ] } }),
    )
    .await;

    let node = tokio::time::timeout(TIMEOUT, stanza).await.expect("the stanza left").unwrap();
    assert_eq!(node.attrs().optional_string("id").as_deref(), Some(id_buttons.as_str()));
    let biz = node.get_optional_child("biz").expect("a <biz> node");
    assert!(biz.get_optional_child("interactive").is_some(), "native flow announced: {node:?}");

    let e = sandbox.wait_inbox(CONTACT, TIMEOUT, |e| e.id == id_buttons).await.unwrap();
    let json = e.message_json.unwrap();
    for needle in ["Need help?", "Support desk", "Talk to agent", "quick_reply", "Open site", "cta_url", "Call us"] {
        assert!(json.contains(needle), "{needle} in {json}");
    }
    let e = sandbox.wait_inbox(CONTACT, TIMEOUT, |e| e.id == id_list).await.unwrap();
    let json = e.message_json.unwrap();
    for needle in ["Select a fruit:", "Fruit shop", "Fresh daily", "single_select", "Choose fruit", "Apple", "banana"] {
        assert!(json.contains(needle), "{needle} in {json}");
    }
    assert!(json.contains("image/png"), "the header image: {json}");
    app.stop().await;
}

#[tokio::test]
async fn forwards_resend_stored_content_marked_forwarded() {
    for kind in kinds() {
        forward_case(kind).await;
    }
}

async fn forward_case(kind: Kind) {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.create_contact(CONTACT, Behaviour::Silent).await.unwrap();
    sandbox.create_contact(OTHER, Behaviour::Silent).await.unwrap();
    let app = gateway_on(kind, &sandbox).await;
    let (_, key) = app.create_user("ops").await;
    link(&app, &sandbox, &key).await;

    // A message the gateway sent (the queue keeps its payload) …
    let sent = send(&app, &key, "text", json!({ "sessionId": "main", "to": CONTACT, "message": "the original" })).await;
    sandbox.wait_inbox(CONTACT, TIMEOUT, |e| e.id == sent).await.unwrap();
    let fwd = send(&app, &key, "forward", json!({ "sessionId": "main", "to": OTHER, "messageId": sent })).await;
    let e = sandbox.wait_inbox(OTHER, TIMEOUT, |e| e.id == fwd).await.unwrap();
    assert_eq!(e.text.as_deref(), Some("the original"));
    assert!(forwarded(&e.message_json.unwrap()), "marked forwarded");

    // … and one it received (the inbound store keeps its text).
    let got = sandbox.contact_send(CONTACT, PHONE, "said by the contact").await.unwrap();
    eventually("the received message to be stored", TIMEOUT, async || {
        app.state.db.stored_message("main", &got).await.is_ok()
    })
    .await;
    let fwd = send(&app, &key, "forward", json!({ "sessionId": "main", "to": OTHER, "messageId": got })).await;
    let e = sandbox.wait_inbox(OTHER, TIMEOUT, |e| e.id == fwd).await.unwrap();
    assert_eq!(e.text.as_deref(), Some("said by the contact"));
    assert!(forwarded(&e.message_json.unwrap()), "marked forwarded");

    // A received image whose file was not kept (downloads off): it cannot be forwarded.
    let img = [&[0xFF, 0xD8, 0xFF, 0xE0][..], &[1u8; 300]].concat();
    let got = sandbox.contact_send_image(CONTACT, PHONE, img, "image/jpeg", Some("pic")).await.unwrap();
    eventually("the received image to be stored", TIMEOUT, async || {
        app.state.db.stored_message("main", &got).await.is_ok()
    })
    .await;
    let (status, answer) = app
        .post(
            "/api/v1/messages/send/forward",
            Some(&key),
            json!({ "sessionId": "main", "to": OTHER, "messageId": got }),
        )
        .await;
    assert_eq!((status, envelope_code(&answer)), (422, 3020), "{answer}");
    app.stop().await;
}

#[tokio::test]
async fn a_received_image_is_forwarded_from_its_downloaded_file() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.create_contact(CONTACT, Behaviour::Silent).await.unwrap();
    sandbox.create_contact(OTHER, Behaviour::Silent).await.unwrap();
    let env =
        [("WAREST_DOWNLOAD_MEDIA_RECEIVED", "true"), ("WAREST_MEDIA_URL_SECRET", "forward-test-secret-0123456789")];
    let app = common::wa::sandbox_gateway(Kind::Sqlite, &sandbox, &env).await;
    let (_, key) = app.create_user("ops").await;
    link(&app, &sandbox, &key).await;

    let png = picture(40, 30, image::ImageFormat::Png);
    let got = sandbox.contact_send_image(CONTACT, PHONE, png.clone(), "image/png", Some("look")).await.unwrap();
    // The download runs off the event path; the forward needs the kept file.
    let kept = "SELECT COUNT(*) FROM media WHERE session_id = 'main' AND message_id = $1";
    eventually("the received image to be downloaded", TIMEOUT, async || {
        sqlx::query_scalar::<_, i64>(kept).bind(&got).fetch_one(app.state.db.pool()).await.unwrap() > 0
    })
    .await;
    let fwd = send(&app, &key, "forward", json!({ "sessionId": "main", "to": OTHER, "messageId": got })).await;
    let e = sandbox.wait_inbox(OTHER, TIMEOUT, |e| e.id == fwd).await.unwrap();
    let media = e.media.clone().expect("an image arrived");
    assert_eq!(
        (media.kind, media.mimetype.as_deref(), media.caption.as_deref()),
        ("image", Some("image/png"), Some("look"))
    );
    assert_eq!(media.bytes, png, "the same picture, decrypted by the new recipient");
    assert!(forwarded(&e.message_json.unwrap()), "marked forwarded");
    app.stop().await;
}

#[tokio::test]
async fn bad_interactive_and_forward_input_is_a_4xx_naming_the_field() {
    let sandbox = Sandbox::start().await.unwrap();
    let app = gateway(&sandbox).await;
    let (_, key) = app.create_user("ops").await;
    link(&app, &sandbox, &key).await;
    let row = |i: usize| json!({ "id": format!("r{i}"), "title": format!("Row {i}") });
    let eleven: Vec<Value> = (0..11).map(row).collect();
    let sections: Vec<Value> = (0..11).map(|i| json!({ "title": "S", "rows": [row(i)] })).collect();
    let ok_button = json!({ "displayText": "Yes" });
    let cases = [
        ("button", json!({ "sessionId": "main", "to": CONTACT, "text": "t", "buttons": [] }), 400, 2001, "buttons"),
        (
            "button",
            json!({ "sessionId": "main", "to": CONTACT, "text": "t", "buttons": vec![ok_button.clone(); 11] }),
            400,
            2001,
            "buttons",
        ),
        (
            "button",
            json!({ "sessionId": "main", "to": CONTACT, "text": " ", "buttons": [ok_button] }),
            400,
            2001,
            "text",
        ),
        (
            "button",
            json!({ "sessionId": "main", "to": CONTACT, "text": "t", "buttons": [{ "displayText": "" }] }),
            400,
            2001,
            "buttons[0].displayText",
        ),
        (
            "button",
            json!({ "sessionId": "main", "to": CONTACT, "text": "t", "buttons": [{ "type": "url", "displayText": "x", "url": "javascript:alert(1)" }] }),
            400,
            2001,
            "buttons[0].url",
        ),
        (
            "button",
            json!({ "sessionId": "main", "to": CONTACT, "text": "t", "buttons": [{ "displayText": "a", "id": "x" }, { "displayText": "b", "id": "x" }] }),
            400,
            2001,
            "buttons[1].id",
        ),
        (
            "button",
            json!({ "sessionId": "main", "to": CONTACT, "text": "t", "buttons": [{ "type": "fax", "displayText": "a" }] }),
            400,
            2001,
            "buttons[0].type",
        ),
        ("list", json!({ "sessionId": "main", "to": CONTACT, "text": "t" }), 400, 2001, "sections"),
        (
            "list",
            json!({ "sessionId": "main", "to": CONTACT, "text": "t", "sections": sections }),
            400,
            2001,
            "sections",
        ),
        (
            "list",
            json!({ "sessionId": "main", "to": CONTACT, "text": "t", "lists": [{ "title": "S", "rows": eleven }] }),
            400,
            2001,
            "lists[0].rows",
        ),
        (
            "list",
            json!({ "sessionId": "main", "to": CONTACT, "text": "t", "sections": [{ "rows": [] }] }),
            400,
            2001,
            "sections[0].rows",
        ),
        (
            "list",
            json!({ "sessionId": "main", "to": CONTACT, "list": { "text": "t", "sections": [{ "rows": [{ "id": "a" }] }] } }),
            400,
            2001,
            "list.sections[0].rows[0].title",
        ),
        (
            "list",
            json!({ "sessionId": "main", "to": CONTACT, "sections": [{ "rows": [{ "title": "a" }] }] }),
            400,
            2001,
            "text",
        ),
        ("forward", json!({ "sessionId": "main", "to": CONTACT, "messageId": "" }), 400, 2001, "messageId"),
        ("forward", json!({ "sessionId": "main", "to": CONTACT, "messageId": "3EB0NOPE" }), 404, 3003, ""),
        ("forward", json!({ "sessionId": "nope", "to": CONTACT, "messageId": "3EB0NOPE" }), 404, 1101, ""),
    ];
    for (kind, body, status, code, field) in cases {
        let (got, answer) = app.post(&format!("/api/v1/messages/send/{kind}"), Some(&key), body).await;
        assert_eq!((got, envelope_code(&answer)), (status, code), "{kind} {field}: {answer}");
        if !field.is_empty() {
            assert_eq!(answer["results"][0]["field"], field, "{answer}");
        }
    }
    app.stop().await;
}
