//! Action answers the original WAREST accepts (issue 17, item 3), through the sandbox:
//! templates rendered from the answered event, `media` with `transform.sharp` and with
//! `transcode`, `sticker` from `imageUrl`, `button` and `list` from a prebuilt Baileys
//! `message`; a transform that fails at run time sends the file as fetched; locations and
//! contact cards in the REST routes' shapes and the original's;
//! `transcode.extraArgs` is refused with a reason and sends nothing.

use std::time::Duration;

use crate::common;
use crate::webhooks_support::Receiver;

use common::fixtures::{self, file_server};
use common::{Kind, eventually};
use serde_json::{Value, json};
use warest_sandbox::{Behaviour, InboxEntry, Sandbox};

const PHONE: &str = "15550007801";
const CONTACT: &str = "15550007802";
const WAIT: Duration = Duration::from_secs(60);

async fn media_of(sandbox: &Sandbox, kind: &'static str) -> InboxEntry {
    sandbox.wait_inbox(CONTACT, WAIT, |e| e.media.as_ref().is_some_and(|m| m.kind == kind)).await.unwrap()
}

#[tokio::test]
async fn the_originals_action_answers_reach_the_contact() {
    if common::require::ffmpeg().is_none() {
        return;
    }
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.create_contact(CONTACT, Behaviour::Silent).await.unwrap();
    let rx = Receiver::start().await;
    let env = [("WAREST_ALLOW_PRIVATE_MEDIA_URLS", "true")];
    let app = common::wa::sandbox_gateway(Kind::Sqlite, &sandbox, &env).await;
    let (_, key) = app.create_user("compat").await;
    common::wa::link_session(&app, &sandbox, &key, "main", PHONE).await;
    let (status, body) =
        app.post("/api/v1/session/main/config", Some(&key), json!({ "webhookUrl": rx.url("/hook") })).await;
    assert_eq!(status, 200, "{body}");

    let picture = file_server(fixtures::picture(640, 480, image::ImageFormat::Png), "image/png").await;
    let video = fixtures::mpeg4_clip();
    let video_url = file_server(video.clone(), "video/mp4").await;
    let answer = |needle: &str, action: Value| rx.answer_containing(needle, json!({ "actions": [action] }));
    answer(
        "\"text\":\"tmpl hello\"",
        json!({ "type": "text", "to": "{{data.sender.chatId}}", "text": "echo: {{data.text}} ({{event}})" }),
    );
    answer(
        "\"text\":\"sharp\"",
        json!({ "type": "media", "mediaType": "image", "to": "{{data.sender.chatId}}", "url": picture,
        "caption": "small", "transform": { "sharp": { "resize": { "width": 64 }, "jpeg": { "quality": 70 } } } }),
    );
    answer(
        "\"text\":\"transcode\"",
        json!({ "type": "media", "mediaType": "video", "to": "{{data.sender.chatId}}", "url": video_url,
        "transcode": { "preset": "ultrafast", "videoBitrate": "200k" } }),
    );
    answer("\"text\":\"sticker\"", json!({ "type": "sticker", "to": "{{data.sender.chatId}}", "imageUrl": picture }));
    answer(
        "\"text\":\"buttons\"",
        json!({ "type": "button", "to": "{{data.sender.chatId}}",
        "message": { "text": "Pick one", "footer": "prebuilt", "buttons": [{ "buttonId": "yes", "buttonText": { "displayText": "Yes please" }, "type": 1 }] } }),
    );
    answer(
        "\"text\":\"menu\"",
        json!({ "type": "list", "to": "{{data.sender.chatId}}",
        "message": { "text": "Our menu", "buttonText": "Open", "sections": [{ "title": "Drinks", "rows": [{ "rowId": "tea", "title": "Green tea" }] }] } }),
    );
    // A transform that fails while it runs (here: a result past the size limit) sends
    // the file as fetched, as the original did.
    let strip = file_server(fixtures::picture(400, 20, image::ImageFormat::Png), "image/png").await;
    answer(
        "\"text\":\"too big\"",
        json!({ "type": "media", "mediaType": "image", "to": "{{data.sender.chatId}}", "url": strip, "caption": "as fetched",
        "transform": { "sharp": { "resize": { "width": 4000, "height": 4000, "fit": "outside" } } } }),
    );
    // The REST route's `linkPreview` on a text action.
    let page = crate::e2e_send_paced::page_server().await;
    answer(
        "\"text\":\"preview\"",
        json!({ "type": "text", "to": "{{data.sender.chatId}}", "text": format!("see {page}"), "linkPreview": true }),
    );
    // Locations and contact cards in the REST routes' shapes, and the original's own.
    answer(
        "\"text\":\"where\"",
        json!({ "type": "location", "to": "{{data.sender.chatId}}",
        "location": { "latitude": -6.175392, "longitude": 106.827153, "name": "Monas" } }),
    );
    answer(
        "\"text\":\"flat where\"",
        json!({ "type": "location", "to": "{{data.sender.chatId}}", "lat": "-7.5", "lng": 110.25, "name": "Borobudur" }),
    );
    answer(
        "\"text\":\"cards\"",
        json!({ "type": "vcard", "to": "{{data.sender.chatId}}",
        "contacts": [{ "name": "Ann Card", "phone": "15550007811" }, { "name": "Bo Card", "phones": ["15550007812"], "organization": "Acme" }] }),
    );
    answer(
        "\"text\":\"old card\"",
        json!({ "type": "vcard", "to": "{{data.sender.chatId}}",
        "contact": { "name": "Cy Card", "phone": ["15550007813", "15550007814"], "org": "Old Co" } }),
    );
    answer(
        "\"text\":\"extra\"",
        json!({ "type": "media", "mediaType": "video", "to": "{{data.sender.chatId}}", "url": video_url,
        "transcode": { "extraArgs": ["-f", "null"] } }),
    );

    sandbox.contact_send(CONTACT, PHONE, "tmpl hello").await.unwrap();
    sandbox
        .wait_inbox(CONTACT, WAIT, |e| e.text.as_deref() == Some("echo: tmpl hello (message_received)"))
        .await
        .unwrap();

    sandbox.contact_send(CONTACT, PHONE, "sharp").await.unwrap();
    let m = media_of(&sandbox, "image").await.media.unwrap();
    assert_eq!((m.mimetype.as_deref(), m.caption.as_deref()), (Some("image/jpeg"), Some("small")));
    let img = image::load_from_memory(&m.bytes).unwrap();
    assert_eq!((img.width(), img.height()), (64, 48), "resized as asked");

    sandbox.contact_send(CONTACT, PHONE, "transcode").await.unwrap();
    let v = media_of(&sandbox, "video").await.media.unwrap();
    assert_eq!(v.mimetype.as_deref(), Some("video/mp4"));
    assert!(v.bytes != video && v.bytes.windows(4).any(|w| w == b"avc1"), "re-encoded as H.264");

    sandbox.contact_send(CONTACT, PHONE, "sticker").await.unwrap();
    let s = media_of(&sandbox, "sticker").await.media.unwrap();
    assert_eq!(s.mimetype.as_deref(), Some("image/webp"));

    let has = |needles: &'static [&'static str]| {
        move |e: &InboxEntry| e.message_json.as_deref().is_some_and(|j| needles.iter().all(|n| j.contains(n)))
    };
    sandbox.contact_send(CONTACT, PHONE, "buttons").await.unwrap();
    sandbox.wait_inbox(CONTACT, WAIT, has(&["Pick one", "Yes please", "prebuilt"])).await.unwrap();
    sandbox.contact_send(CONTACT, PHONE, "menu").await.unwrap();
    sandbox.wait_inbox(CONTACT, WAIT, has(&["Our menu", "Green tea", "Drinks"])).await.unwrap();

    sandbox.contact_send(CONTACT, PHONE, "too big").await.unwrap();
    let m = sandbox
        .wait_inbox(CONTACT, WAIT, |e| e.media.as_ref().is_some_and(|m| m.caption.as_deref() == Some("as fetched")))
        .await
        .unwrap()
        .media
        .unwrap();
    let img = image::load_from_memory(&m.bytes).unwrap();
    assert_eq!((img.width(), img.height()), (400, 20), "sent as fetched");

    sandbox.contact_send(CONTACT, PHONE, "preview").await.unwrap();
    let previewed = |e: &InboxEntry| {
        e.message_json.as_deref().is_some_and(|j| j.contains("The Sandbox Gazette") && j.contains(page.as_str()))
    };
    sandbox.wait_inbox(CONTACT, WAIT, previewed).await.unwrap();
    sandbox.contact_send(CONTACT, PHONE, "where").await.unwrap();
    sandbox.wait_inbox(CONTACT, WAIT, has(&["-6.175392", "106.827153", "Monas"])).await.unwrap();
    sandbox.contact_send(CONTACT, PHONE, "flat where").await.unwrap();
    sandbox.wait_inbox(CONTACT, WAIT, has(&["-7.5", "110.25", "Borobudur"])).await.unwrap();
    sandbox.contact_send(CONTACT, PHONE, "cards").await.unwrap();
    sandbox.wait_inbox(CONTACT, WAIT, has(&["Ann Card", "Bo Card", "ORG:Acme", "waid=15550007812"])).await.unwrap();
    sandbox.contact_send(CONTACT, PHONE, "old card").await.unwrap();
    sandbox
        .wait_inbox(CONTACT, WAIT, has(&["Cy Card", "ORG:Old Co", "waid=15550007813", "waid=15550007814"]))
        .await
        .unwrap();

    sandbox.contact_send(CONTACT, PHONE, "extra").await.unwrap();
    let error = eventually("the refused transcode in the delivery log", WAIT, async || {
        let (_, body) = app.get("/api/v1/webhook/deliveries?sessionId=main", Some(&key)).await;
        let items = body["results"][0]["items"].as_array().cloned().unwrap_or_default();
        items
            .iter()
            .flat_map(|i| i["actions"].as_array().cloned().unwrap_or_default())
            .find_map(|a| a["error"].as_str().filter(|e| e.starts_with("transcode.extraArgs")).map(str::to_string))
    })
    .await;
    assert!(error.contains("not supported"), "{error}");
    let videos =
        sandbox.inbox(CONTACT).unwrap().iter().filter(|e| e.media.as_ref().is_some_and(|m| m.kind == "video")).count();
    assert_eq!(videos, 1, "the refused action sent nothing");
    app.stop().await;
}
