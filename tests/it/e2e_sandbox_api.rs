//! `/api/v1/sandbox/*` end to end (sandbox builds only): virtual contacts talk to each
//! other, and a gateway session is linked with a virtual phone through the gateway's own
//! session API, then receives (decrypts and acknowledges) a contact's message.

use crate::common;

use std::time::Duration;

use common::{Kind, TestApp, envelope_code};
use serde_json::json;
use warest::sandbox_api::SandboxHost;
use warest_sandbox::{CLIENT_VERSION, Sandbox, SandboxEvent};

#[tokio::test]
async fn contacts_and_a_linked_session_over_the_sandbox_api() {
    let net = Sandbox::start().await.unwrap();
    let url = net.ws_url();
    let host = SandboxHost::new(net);
    let h = host.clone();
    let app = TestApp::spawn_full(
        Kind::Sqlite,
        &[],
        move |c| {
            c.wa_url = Some(url);
            c.wa_version = Some(CLIENT_VERSION);
        },
        move |s| s.sandbox = Some(h),
    )
    .await;
    let (_, key) = app.create_user("dev").await;

    // Two contacts: a silent one talks to an echo one, and gets its own words back.
    for (phone, behaviour) in [("15550000001", "echo"), ("15550000002", "silent")] {
        let (status, body) =
            app.post("/api/v1/sandbox/contacts", Some(&key), json!({ "phone": phone, "behaviour": behaviour })).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["results"][0]["jid"], format!("{phone}@s.whatsapp.net"));
    }
    let (status, body) = app.post("/api/v1/sandbox/contacts", Some(&key), json!({ "phone": "15550000001" })).await;
    assert_eq!((status, envelope_code(&body)), (409, 2300));
    let (status, body) =
        app.post("/api/v1/sandbox/contacts", Some(&key), json!({ "phone": "1", "behaviour": "loud" })).await;
    assert_eq!((status, body["results"][0]["field"].as_str()), (400, Some("phone")));
    let (_, body) = app.get("/api/v1/sandbox/contacts", Some(&key)).await;
    assert_eq!(body["results"][0]["total"], 2);

    let (status, body) = app
        .post("/api/v1/sandbox/contacts/15550000002/send", Some(&key), json!({ "to": "15550000001", "text": "ping" }))
        .await;
    assert_eq!(status, 200, "{body}");
    let ping_id = body["results"][0]["messageId"].as_str().unwrap().to_string();
    host.sandbox
        .wait_inbox("15550000002", Duration::from_secs(30), |e| e.text.as_deref() == Some("ping"))
        .await
        .unwrap();
    let (_, body) = app.get("/api/v1/sandbox/contacts/15550000001/inbox", Some(&key)).await;
    assert_eq!(body["results"][0]["items"][0]["text"], "ping");
    assert_eq!(body["results"][0]["items"][0]["from"], "15550000002");
    let (_, body) = app.get("/api/v1/sandbox/contacts/15550000002/inbox", Some(&key)).await;
    assert_eq!(body["results"][0]["items"][0]["text"], "ping", "the echo came back");

    // An image goes through the media host encrypted and arrives intact.
    use base64::Engine;
    let picture: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&picture);
    let (status, body) = app
        .post(
            "/api/v1/sandbox/contacts/15550000001/send",
            Some(&key),
            json!({ "to": "15550000002", "image": { "base64": b64, "mimetype": "image/png", "caption": "a picture" } }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    host.sandbox.wait_inbox("15550000002", Duration::from_secs(30), |e| e.media.is_some()).await.unwrap();
    let (_, body) = app.get("/api/v1/sandbox/contacts/15550000002/inbox", Some(&key)).await;
    let items = body["results"][0]["items"].as_array().unwrap();
    let media = items.iter().find_map(|i| i["media"].as_object()).expect("image in the inbox");
    use sha2::Digest;
    assert_eq!(media["sha256"], hex::encode(sha2::Sha256::digest(&picture)));
    assert_eq!((media["caption"].as_str(), media["mimetype"].as_str()), (Some("a picture"), Some("image/png")));
    let (status, body) = app
        .post(
            "/api/v1/sandbox/contacts/15550000001/send",
            Some(&key),
            json!({ "to": "15550000002", "image": { "base64": "***" } }),
        )
        .await;
    assert_eq!((status, body["results"][0]["field"].as_str()), (400, Some("image.base64")));

    // The other things a contact can do, and the one-action rule.
    let send = "/api/v1/sandbox/contacts/15550000002/send";
    for action in [
        json!({ "to": "15550000001", "edit": { "messageId": ping_id, "text": "ping (edited)" } }),
        json!({ "to": "15550000001", "typing": true }),
        json!({ "to": "15550000001", "revoke": { "messageId": ping_id } }),
    ] {
        let (status, body) = app.post(send, Some(&key), action.clone()).await;
        assert_eq!(status, 200, "{action}: {body}");
    }
    let (status, body) = app.post(send, Some(&key), json!({ "to": "15550000001", "text": "a", "typing": true })).await;
    assert_eq!((status, body["results"][0]["field"].as_str()), (400, Some("body")));
    let (status, _) = app
        .post("/api/v1/sandbox/contacts/15559999999/send", Some(&key), json!({ "to": "15550000001", "text": "x" }))
        .await;
    assert_eq!(status, 404, "unknown contact");

    // Any device showing a QR can be linked by a virtual phone.
    let plain = host.sandbox.client("plain").await.unwrap();
    let qr = plain.wait_for_qr(Duration::from_secs(30)).await.unwrap();
    let (status, body) =
        app.post("/api/v1/sandbox/link", Some(&key), json!({ "qr": qr, "phone": "15550000200" })).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["results"][0]["jid"].as_str().unwrap().starts_with("15550000200"));
    plain.shutdown().await;

    // A gateway session, linked by a virtual phone through the API.
    let (status, body) = app.get("/api/v1/session/create?sessionId=dev1", Some(&key)).await;
    assert_eq!((status, envelope_code(&body)), (200, 1107), "{body}");
    let (status, body) =
        app.post("/api/v1/sandbox/sessions/dev1/link", Some(&key), json!({ "phone": "15550000100" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"][0]["status"], "WORKING");
    assert_eq!(body["results"][0]["me"]["id"], "15550000100@s.whatsapp.net");

    // A contact writes to the session: the gateway's client decrypts it and sends the
    // delivery receipt back through the network.
    let mut server = host.sandbox.subscribe();
    let (_, body) = app
        .post(
            "/api/v1/sandbox/contacts/15550000002/send",
            Some(&key),
            json!({ "to": "15550000100", "text": "hello gateway" }),
        )
        .await;
    let id = body["results"][0]["messageId"].as_str().unwrap().to_string();
    Sandbox::wait_for_event(&mut server, Duration::from_secs(30), |e| {
        matches!(e, SandboxEvent::ReceiptRelayed { id: rid, to, .. } if *rid == id && to.starts_with("15550000002"))
    })
    .await
    .expect("the gateway acknowledged the message");
    app.stop().await;
}
