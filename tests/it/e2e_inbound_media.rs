//! Received media and poll votes end to end: a contact sends an image, the webhook payload
//! carries a signed link, and the link serves the same bytes (a tampered or expired link is
//! 403, another tenant's key 404); the gateway sends a poll, the contact votes, and the
//! webhook gets the chosen option names, which `POST /misc/whatsapp/poll-update-vote`
//! reproduces from the payload's encrypted vote. SQLite and Postgres.

use crate::common;
use crate::webhooks_support;

use std::time::Duration;

use common::{Kind, TestApp, envelope_code, eventually, kinds};
use serde_json::{Value, json};
use warest::store::RowText;
use warest_sandbox::{Behaviour, Sandbox};
use webhooks_support::{Hit, Receiver};

const WAIT: Duration = Duration::from_secs(60);
const PHONE: &str = "15551240001";
const CONTACT: &str = "15559240001";
const LINK_SECRET: &str = "media-link-secret-0123456789";

async fn gateway(kind: Kind, sandbox: &Sandbox, env: &[(&str, &str)]) -> TestApp {
    // The gateway downloads media from the sandbox's media host.
    common::wa::sandbox_gateway(kind, sandbox, env).await
}

/// Links session `main` to `PHONE` and points its webhook at `rx`.
async fn link(app: &TestApp, sandbox: &Sandbox, key: &str, rx: &Receiver) {
    common::wa::link_session(app, sandbox, key, "main", PHONE).await;
    let (status, body) =
        app.post("/api/v1/session/main/config", Some(key), json!({ "webhookUrl": rx.url("/in") })).await;
    assert_eq!(status, 200, "{body}");
}

fn received(hits: &[Hit], id: &str) -> Option<Value> {
    hits.iter()
        .map(Hit::json)
        .find(|b| b["event"] == "message_received" && b["data"]["messageId"] == id)
        .map(|b| b["data"].clone())
}

/// GETs `path` (no key) until it stops answering 404: the download runs off the event
/// path, so the link may be a moment ahead of the file. Bounded.
async fn fetch_when_ready(app: &TestApp, path: &str) -> reqwest::Response {
    eventually(format!("{path} to become available"), WAIT, async || {
        let res = app.http.get(app.url(path)).send().await.unwrap();
        if res.status() != 404 { Ok(res) } else { Err(res.status()) }
    })
    .await
}

#[tokio::test]
async fn received_media_is_served_by_its_signed_link_and_refused_when_tampered_or_expired() {
    for kind in kinds() {
        media_run(kind).await;
    }
}

async fn media_run(kind: Kind) {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.create_contact(CONTACT, Behaviour::Silent).await.unwrap();
    let rx = Receiver::start().await;
    let env = [
        ("WAREST_DOWNLOAD_MEDIA_RECEIVED", "true"),
        ("WAREST_MEDIA_URL_SECRET", LINK_SECRET),
        ("WAREST_WEBHOOK_BACKOFF_MS", "50"),
    ];
    let app = gateway(kind, &sandbox, &env).await;
    let (_, key) = app.create_user("media").await;
    let (_, other_key) = app.create_user("stranger").await;
    link(&app, &sandbox, &key, &rx).await;

    let picture: Vec<u8> = (0..40_000u32).map(|i| (i * 7 % 253) as u8).collect();
    let id = sandbox.contact_send_image(CONTACT, PHONE, picture.clone(), "image/png", Some("pic")).await.unwrap();
    // Not in the allow-list: described, not downloaded.
    let odd = sandbox.contact_send_image(CONTACT, PHONE, vec![1, 2, 3], "image/x-odd", None).await.unwrap();
    let hits = rx.wait_until("both images", WAIT, |h| received(h, &id).is_some() && received(h, &odd).is_some()).await;
    let d = received(&hits, &id).unwrap();
    let media = &d["media"];
    assert_eq!((media["mimetype"].as_str(), media["fileLength"].as_u64()), (Some("image/png"), Some(40_000)), "{d}");
    let url = media["url"].as_str().expect("a download link").to_string();
    let media_id = media["id"].as_str().unwrap().to_string();
    assert!(url.starts_with(&format!("/api/v1/media/{media_id}?exp=")), "{url}");
    let skipped = received(&hits, &odd).unwrap();
    assert_eq!(skipped["media"]["download"], "skipped", "{skipped}");
    assert!(skipped["media"]["url"].is_null());

    // The signed link serves the bytes the contact sent, without a key.
    let res = fetch_when_ready(&app, &url).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(res.bytes().await.unwrap().to_vec(), picture, "{kind:?}");

    // A tampered signature, and a correctly signed link that has expired: 403 with codes.
    let sig_at = url.find("sig=").unwrap() + 4;
    let mut tampered = url.clone();
    let flipped = if &url[sig_at..=sig_at] == "0" { "1" } else { "0" };
    tampered.replace_range(sig_at..=sig_at, flipped);
    let (status, body) = app.get(&tampered, None).await;
    assert_eq!((status, envelope_code(&body)), (403, 3151), "{body}");
    let exp = warest::store::now_ms() / 1000 - 5;
    let sig = warest::media::signed::sign(LINK_SECRET, &media_id, exp);
    let (status, body) = app.get(&format!("/api/v1/media/{media_id}?exp={exp}&sig={sig}"), None).await;
    assert_eq!((status, envelope_code(&body)), (403, 3150), "{body}");
    let (status, body) = app.get(&format!("/api/v1/media/{media_id}?exp={exp}"), None).await;
    assert_eq!((status, envelope_code(&body)), (403, 3151), "{body}");

    // With a key instead: the owner gets it, another tenant sees nothing, no key is 401.
    let res = app.req(reqwest::Method::GET, &format!("/api/v1/media/{media_id}"), Some(&key)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.bytes().await.unwrap().to_vec(), picture);
    let (status, body) = app.get(&format!("/api/v1/media/{media_id}"), Some(&other_key)).await;
    assert_eq!((status, envelope_code(&body)), (404, 3152), "{body}");
    let (status, _) = app.get(&format!("/api/v1/media/{media_id}"), None).await;
    assert_eq!(status, 401);
    let (status, body) = app.get("/api/v1/media/..%2F..%2Fwarest.db", Some(&key)).await;
    assert_eq!((status, envelope_code(&body)), (404, 3152), "{body}");

    // The stored message carries the link too.
    let pool = app.state.db.pool();
    let sql = |q| app.state.db.sql(q);
    let content =
        sqlx::query(sql("SELECT content FROM messages WHERE id = $1")).bind(&id).fetch_one(pool).await.unwrap();
    let content = content.text("content").unwrap();
    let content: Value = serde_json::from_str(&content).unwrap();
    assert_eq!(content["media"]["id"], media_id.as_str());

    // Deleting the session takes its media files with it, not only their rows.
    let path = sqlx::query(sql("SELECT path FROM media WHERE id = $1")).bind(&media_id).fetch_one(pool).await.unwrap();
    let path = path.text("path").unwrap();
    assert!(std::path::Path::new(&path).exists(), "{path}");
    let res =
        app.req(reqwest::Method::DELETE, "/api/v1/session/delete?sessionId=main", Some(&key)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(!std::path::Path::new(&path).exists(), "{path} outlived its session");
    let (status, body) = app.get(&format!("/api/v1/media/{media_id}"), Some(&key)).await;
    assert_eq!((status, envelope_code(&body)), (404, 3152), "{body}");
    app.stop().await;
}

#[tokio::test]
async fn a_vote_on_a_gateway_poll_arrives_with_option_names_and_decrypts_again_via_misc() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.create_contact(CONTACT, Behaviour::Silent).await.unwrap();
    let rx = Receiver::start().await;
    let app = gateway(Kind::Sqlite, &sandbox, &[("WAREST_WEBHOOK_BACKOFF_MS", "50")]).await;
    let (_, key) = app.create_user("polls").await;
    let (_, other_key) = app.create_user("outsider").await;
    link(&app, &sandbox, &key, &rx).await;

    let body = json!({ "sessionId": "main", "to": CONTACT, "question": "Lunch?", "options": ["Rice", "Noodles", "Soup"], "maxSelection": 2 });
    let (status, answer) = app.post("/api/v1/messages/send/poll", Some(&key), body).await;
    assert_eq!(status, 200, "{answer}");
    let poll_id = answer["results"][0]["messageId"].as_str().unwrap().to_string();
    sandbox.wait_inbox(CONTACT, WAIT, |e| e.id == poll_id).await.unwrap();
    let vote_id = sandbox.contact_vote(CONTACT, &poll_id, &["Noodles", "Soup"]).await.unwrap();

    let hits = rx.wait_until("the vote", WAIT, |h| received(h, &vote_id).is_some()).await;
    let d = received(&hits, &vote_id).unwrap();
    assert_eq!(d["contentType"], "poll_vote", "{d}");
    assert_eq!(d["vote"]["decrypted"], true, "{d}");
    assert_eq!(d["vote"]["pollMessageId"], poll_id.as_str());
    assert_eq!(d["vote"]["selectedOptions"], json!(["Noodles", "Soup"]));
    assert_eq!(d["vote"]["selectedOptionIndexes"], json!([1, 2]));
    assert_eq!(
        (&d["message"]["pollName"], &d["message"]["selectedOptions"], &d["message"]["key"]["id"]),
        (&json!("Lunch?"), &json!(["Noodles", "Soup"]), &json!(vote_id.as_str())),
        "the vote's own key stays beside them: {d}"
    );

    // The payload's encrypted vote, handed back to the misc route, opens the same way.
    let raw = d["pollUpdateVote"].clone();
    let (status, body) = app
        .post(
            "/api/v1/misc/whatsapp/poll-update-vote",
            Some(&key),
            json!({ "sessionId": "main", "pollUpdateVote": raw }),
        )
        .await;
    assert_eq!((status, envelope_code(&body)), (200, 1000), "{body}");
    let r = &body["results"][0];
    assert_eq!(r["votedOptionNames"], json!(["Noodles", "Soup"]));
    assert_eq!(r["votedOptionIndexes"], json!([1, 2]));
    assert_eq!(r["pollTitle"], "Lunch?");
    assert_eq!(r["messageKey"]["id"], poll_id.as_str());
    assert_eq!(r["pollOptions"][0], json!({ "index": 0, "name": "Rice" }));

    // Bad input names the field; a wrong voter does not decrypt; another tenant's session is 404.
    let post = |body: Value, k: String| {
        let app = &app;
        async move { app.post("/api/v1/misc/whatsapp/poll-update-vote", Some(&k), body).await }
    };
    let mut no_payload = raw.clone();
    no_payload["vote"].as_object_mut().unwrap().remove("encPayload");
    let (status, body) = post(json!({ "sessionId": "main", "pollUpdateVote": no_payload }), key.clone()).await;
    assert_eq!((status, body["results"][0]["field"].as_str()), (400, Some("pollUpdateVote.vote.encPayload")), "{body}");
    let (status, body) = post(json!({ "sessionId": "main", "pollUpdateVote": "x" }), key.clone()).await;
    assert_eq!((status, body["results"][0]["field"].as_str()), (400, Some("pollUpdateVote")), "{body}");
    let (status, body) = post(json!({ "pollUpdateVote": raw.clone() }), key.clone()).await;
    assert_eq!((status, body["results"][0]["field"].as_str()), (400, Some("sessionId")), "{body}");
    let (status, body) =
        post(json!({ "sessionId": "main", "pollUpdateVote": raw.clone(), "pollEncKey": "c2hvcnQ=" }), key.clone())
            .await;
    assert_eq!((status, body["results"][0]["field"].as_str()), (400, Some("pollEncKey")), "{body}");
    let (status, body) = post(
        json!({ "sessionId": "main", "pollUpdateVote": raw.clone(), "voterJid": "19998887777@s.whatsapp.net" }),
        key.clone(),
    )
    .await;
    assert_eq!((status, envelope_code(&body)), (422, 3154), "{body}");
    let (status, _) = post(json!({ "sessionId": "main", "pollUpdateVote": raw.clone() }), other_key.clone()).await;
    assert_eq!(status, 404);
    app.stop().await;
}
