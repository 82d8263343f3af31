//! The primary phone sends (sandbox builds only): `POST /api/v1/sandbox/contacts/{phone}/send`
//! with `device: 0` makes the virtual phone of an account write, as a person typing on the
//! phone a WAREST session is linked to. That session gets the message as its own (a
//! `message_received` webhook with `fromMe: true`, stored as sent by this account); a
//! session on the recipient's account receives it from the sender's device 0. The same for
//! an image, and for a text to a group both accounts are in.

use crate::chats_support::{get_until, result};
use crate::common;
use crate::webhooks_support;

use std::time::Duration;

use common::{Kind, TestApp, envelope_code};
use serde_json::{Value, json};
use warest::sandbox_api::SandboxHost;
use warest_sandbox::{CLIENT_VERSION, Sandbox};
use webhooks_support::{Hit, Receiver};

const WAIT: Duration = Duration::from_secs(60);
/// The phone the sender's session is linked to, and the recipient's.
const ANN: &str = "15550004001";
const BEN: &str = "15550004002";

/// The `message_received` payload of message `id` that session `session` reported.
fn received(hits: &[Hit], session: &str, id: &str) -> Option<Value> {
    hits.iter().map(Hit::json).find_map(|h| {
        let d = &h["data"];
        (h["event"] == "message_received" && d["sessionId"] == session && d["messageId"] == id).then(|| d.clone())
    })
}

#[tokio::test]
async fn the_phone_sends_and_both_sessions_see_it() {
    let net = Sandbox::start().await.unwrap();
    let url = net.ws_url();
    let host = SandboxHost::new(net);
    let h = host.clone();
    let app = TestApp::spawn_full(
        Kind::Sqlite,
        &[("WAREST_WEBHOOK_BACKOFF_MS", "50")],
        move |c| {
            c.wa_url = Some(url);
            c.wa_version = Some(CLIENT_VERSION);
        },
        move |s| s.sandbox = Some(h),
    )
    .await;
    let (_, key) = app.create_user("phone").await;
    let rx = Receiver::start().await;
    for (session, phone) in [("ann", ANN), ("ben", BEN)] {
        let (status, body) = app.get(&format!("/api/v1/session/create?sessionId={session}"), Some(&key)).await;
        assert_eq!((status, envelope_code(&body)), (200, 1107), "{body}");
        let (status, body) =
            app.post(&format!("/api/v1/sandbox/sessions/{session}/link"), Some(&key), json!({ "phone": phone })).await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = app
            .post(&format!("/api/v1/session/{session}/config"), Some(&key), json!({ "webhookUrl": rx.url("/hook") }))
            .await;
        assert_eq!(status, 200, "{body}");
    }

    // Ann types on her phone: Ben's session receives it from her device 0, hers files it
    // as her own message in the chat with Ben.
    let send = format!("/api/v1/sandbox/contacts/{ANN}/send");
    let (status, body) = app.post(&send, Some(&key), json!({ "to": BEN, "text": "from my phone", "device": 0 })).await;
    assert_eq!(status, 200, "{body}");
    let id = result(&body)["messageId"].as_str().unwrap().to_string();
    let hits = rx
        .wait_until("both sessions' webhooks", WAIT, |h| {
            received(h, "ann", &id).is_some() && received(h, "ben", &id).is_some()
        })
        .await;
    let at_ann = received(&hits, "ann", &id).unwrap();
    assert_eq!(at_ann["fromMe"], true, "{at_ann}");
    assert_eq!(at_ann["chatId"], format!("{BEN}@s.whatsapp.net"), "{at_ann}");
    assert_eq!(at_ann["message"]["text"], "from my phone");
    let at_ben = received(&hits, "ben", &id).unwrap();
    assert_eq!(
        (at_ben["fromMe"].as_bool(), at_ben["chatId"].as_str()),
        (Some(false), Some(&*format!("{ANN}@s.whatsapp.net")))
    );
    assert_eq!(at_ben["message"]["text"], "from my phone");
    let stored = get_until(&app, &key, &format!("/api/v1/chats/{BEN}/messages?sessionId=ann&isFromMe=true"), |b| {
        result(b)["data"].as_array().is_some_and(|d| d.iter().any(|m| m["id"] == id.as_str()))
    })
    .await;
    let row = &result(&stored)["data"][0];
    assert_eq!((row["fromMe"].as_bool(), row["body"].as_str()), (Some(true), Some("from my phone")), "{row}");

    // An image from the phone: decrypted by Ben's session, announced to Ann's as hers.
    use base64::Engine;
    let picture: Vec<u8> = (0..30_000u32).map(|i| (i % 253) as u8).collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&picture);
    let image = json!({ "base64": b64, "mimetype": "image/png", "caption": "phone picture" });
    let (status, body) = app.post(&send, Some(&key), json!({ "to": BEN, "image": image, "device": 0 })).await;
    assert_eq!(status, 200, "{body}");
    let image_id = result(&body)["messageId"].as_str().unwrap().to_string();
    let hits = rx
        .wait_until("the image at both sessions", WAIT, |h| {
            received(h, "ann", &image_id).is_some() && received(h, "ben", &image_id).is_some()
        })
        .await;
    let at_ben = received(&hits, "ben", &image_id).unwrap();
    assert_eq!(
        (at_ben["contentType"].as_str(), at_ben["message"]["caption"].as_str()),
        (Some("image"), Some("phone picture"))
    );
    assert_eq!(at_ben["media"]["fileLength"], 30_000, "{at_ben}");
    assert_eq!(received(&hits, "ann", &image_id).unwrap()["fromMe"], true);

    // A group Ben's session creates with Ann: her phone writes to it as a member's device.
    let gid = crate::groups_support::create_group(&app, &key, "ben", "phones", &[ANN]).await;
    let (status, body) = app.post(&send, Some(&key), json!({ "to": gid, "text": "hi group", "device": 0 })).await;
    assert_eq!(status, 200, "{body}");
    let group_id = result(&body)["messageId"].as_str().unwrap().to_string();
    let hits = rx
        .wait_until("the group text at both sessions", WAIT, |h| {
            received(h, "ann", &group_id).is_some() && received(h, "ben", &group_id).is_some()
        })
        .await;
    let at_ben = received(&hits, "ben", &group_id).unwrap();
    assert_eq!((at_ben["chatId"].as_str(), at_ben["isGroup"].as_bool()), (Some(gid.as_str()), Some(true)), "{at_ben}");
    assert_eq!((at_ben["fromMe"].as_bool(), at_ben["message"]["text"].as_str()), (Some(false), Some("hi group")));
    assert_eq!(received(&hits, "ann", &group_id).unwrap()["fromMe"], true);

    // What device 0 cannot do, and who it can write to.
    for (body, field) in [
        (json!({ "to": BEN, "text": "x", "device": 1 }), "device"),
        (json!({ "to": BEN, "typing": true, "device": 0 }), "body"),
        (json!({ "to": BEN, "device": 0 }), "body"),
        (json!({ "to": gid, "image": { "base64": "AAAA" }, "device": 0 }), "to"),
        (json!({ "to": "120363000000000001@g.us", "text": "x", "device": 0 }), "to"),
        (json!({ "to": "15550004999", "text": "x", "device": 0 }), "to"),
        (json!({ "to": ANN, "text": "x", "device": 0 }), "to"),
    ] {
        let (status, answer) = app.post(&send, Some(&key), body.clone()).await;
        assert_eq!((status, result(&answer)["field"].as_str()), (400, Some(field)), "{body}: {answer}");
    }
    let (status, _) = app
        .post("/api/v1/sandbox/contacts/15550004999/send", Some(&key), json!({ "to": BEN, "text": "x", "device": 0 }))
        .await;
    assert_eq!(status, 404, "no such account");
    app.stop().await;
}
