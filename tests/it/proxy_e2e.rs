//! A session through a real proxy, end to end: SOCKS5 without and with auth (microsocks)
//! and HTTP CONNECT with basic auth (tinyproxy). Each session is created with its proxy,
//! linked, sends a text and an image (uploaded), receives a text and an image (downloaded);
//! the proxy's own log shows the tunnels to the network's port (the WebSocket, and the
//! media host on the same port), and the network saw every connection come from the
//! proxy's outgoing address, none directly from the gateway. A proxy that is down or refuses the credentials leaves the session unconnected
//! (never a direct fallback) with a `lastError` that says so.

use crate::common;
use crate::proxy_support::{OUTGOING, ProxyProc, free_port};
use crate::webhooks_support::Receiver;

use std::time::Duration;

use common::{TestApp, envelope_code, eventually};
use serde_json::{Value, json};
use warest_sandbox::{Behaviour, Sandbox};

const WAIT: Duration = Duration::from_secs(60);
const PHONE: &str = "15551350001";
const CONTACT: &str = "15559350001";

async fn gateway(sandbox: &Sandbox, env: &[(&str, &str)]) -> TestApp {
    common::wa::sandbox_gateway(common::Kind::Sqlite, sandbox, env).await
}

/// `GET /session/create?sessionId=..&proxy=..` (the URL form, query-encoded).
async fn create_with_proxy(app: &TestApp, key: &str, id: &str, proxy: &str) -> (u16, Value) {
    let req = app
        .req(reqwest::Method::GET, "/api/v1/session/create", Some(key))
        .query(&[("sessionId", id), ("proxy", proxy)]);
    common::call(req).await
}

async fn session(app: &TestApp, key: &str, id: &str) -> Value {
    let (status, body) = app.get(&format!("/api/v1/session/{id}"), Some(key)).await;
    assert_eq!(status, 200, "{body}");
    body["results"][0].clone()
}

#[tokio::test]
async fn sessions_through_socks5_and_http_connect_proxies_chat_and_download_media() {
    let Some(open) = ProxyProc::microsocks(None).await else { return };
    let Some(authed) = ProxyProc::microsocks(Some(("sock-user", "sock-pass-8d1f"))).await else { return };
    let Some(http) = ProxyProc::tinyproxy(Some(("http-user", "http-pass-5c2e"))).await else { return };
    for proxy in [&open, &authed, &http] {
        through(proxy).await;
    }
}

async fn through(proxy: &ProxyProc) {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.create_contact(CONTACT, Behaviour::Silent).await.unwrap();
    let net_port: u16 = sandbox.ws_url().rsplit(':').next().unwrap().split('/').next().unwrap().parse().unwrap();
    // Webhooks go directly, not through the session's proxy (no flag set).
    let receiver = Receiver::start().await;
    let hook = receiver.url("/hook");
    let app = gateway(&sandbox, &[("WAREST_DOWNLOAD_MEDIA_RECEIVED", "true"), ("WEBHOOK_DEFAULT_URL", &hook)]).await;
    let (_, key) = app.create_user("proxied").await;

    let mut events = app.state.events.subscribe();
    let (status, body) = create_with_proxy(&app, &key, "main", &proxy.url()).await;
    assert_eq!((status, envelope_code(&body)), (200, 1107), "{}: {body}", proxy.masked());
    sandbox.link(body["results"][0]["qrString"].as_str().unwrap(), PHONE).unwrap();
    common::wa::wait_open(&mut events, "main").await;

    let s = session(&app, &key, "main").await;
    assert_eq!(s["status"], "WORKING", "{s}");
    assert_eq!(
        (s["proxy"]["url"].as_str(), s["proxy"]["source"].as_str()),
        (Some(proxy.masked().as_str()), Some("session"))
    );
    if let Some((_, pass)) =
        proxy.url().split_once("://").and_then(|(_, r)| r.split_once('@')).and_then(|(c, _)| c.split_once(':'))
    {
        assert_eq!(s["proxy"]["password"], "***");
        let (_, list) = app.get("/api/v1/session/list", Some(&key)).await;
        assert!(!s.to_string().contains(pass) && !list.to_string().contains(pass), "the password is never echoed");
    }
    assert!(proxy.hits_to(net_port) >= 1, "the WebSocket went through the proxy:\n{}", proxy.log_text());

    // Sends and receives through it.
    let (status, body) = app
        .post(
            "/api/v1/messages/send/text",
            Some(&key),
            json!({ "sessionId": "main", "to": format!("+{CONTACT}"), "message": "via proxy" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    sandbox.wait_inbox(CONTACT, WAIT, |e| e.text.as_deref() == Some("via proxy")).await.unwrap();
    let pool = app.state.db.pool();
    let text_id = sandbox.contact_send(CONTACT, PHONE, "back via proxy").await.unwrap();
    eventually("the contact's text to be stored", WAIT, async || {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE id = $1")
            .bind(&text_id)
            .fetch_one(pool)
            .await
            .unwrap();
        n == 1
    })
    .await;

    // A sent image is uploaded through the proxy, and the contact gets its bytes.
    let before_media = proxy.hits_to(net_port);
    let mut png = Vec::new();
    image::RgbImage::from_fn(64, 32, |x, y| image::Rgb([x as u8 * 4, y as u8 * 8, 90]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &png);
    let body = json!({ "sessionId": "main", "to": format!("+{CONTACT}"), "media": b64, "caption": "up via proxy" });
    let (status, answer) = app.post("/api/v1/messages/send/media", Some(&key), body).await;
    assert_eq!((status, envelope_code(&answer)), (200, 1000), "{answer}");
    let got = sandbox
        .wait_inbox(CONTACT, WAIT, |e| e.media.as_ref().is_some_and(|m| m.caption.as_deref() == Some("up via proxy")))
        .await
        .unwrap();
    assert_eq!(got.media.unwrap().bytes, png, "the uploaded bytes arrive");
    assert!(proxy.hits_to(net_port) > before_media, "the upload went through the proxy:\n{}", proxy.log_text());

    // A received image is downloaded through the same media client and served back (it
    // may reuse the upload's kept-alive tunnel, so the log need not grow again).
    let picture: Vec<u8> = (0..30_000u32).map(|i| (i * 13 % 251) as u8).collect();
    let img_id = sandbox.contact_send_image(CONTACT, PHONE, picture.clone(), "image/png", None).await.unwrap();
    let media_id = eventually("the image's media id", WAIT, async || {
        let content: Option<String> = sqlx::query_scalar("SELECT content FROM messages WHERE id = $1")
            .bind(&img_id)
            .fetch_optional(pool)
            .await
            .unwrap();
        let content: Value = content.map(|c| serde_json::from_str(&c).unwrap()).unwrap_or_default();
        content["media"]["id"].as_str().map(str::to_string)
    })
    .await;
    let bytes = eventually("the downloaded image", WAIT, async || {
        let res = app.req(reqwest::Method::GET, &format!("/api/v1/media/{media_id}"), Some(&key)).send().await.unwrap();
        if res.status() == 200 { Ok(res.bytes().await.unwrap().to_vec()) } else { Err(res.status()) }
    })
    .await;
    assert_eq!(bytes, picture);

    // Nothing reached the network but through the proxy: every connection its port
    // accepted (the QR's socket, the logins, the media host's) came from the proxy's
    // outgoing address, none from the gateway's own. The contact is a client of the
    // sandbox in this process and connects directly; its logins are set apart.
    let logins = sandbox.login_peers(PHONE);
    assert!(!logins.is_empty() && logins.iter().all(|p| p.ip() == OUTGOING), "the session's logins: {logins:?}");
    let contact = sandbox.login_peers(CONTACT);
    let direct: Vec<_> =
        sandbox.connection_peers().into_iter().filter(|p| p.ip() != OUTGOING && !contact.contains(p)).collect();
    assert!(direct.is_empty(), "{}: direct connections to the network: {direct:?}", proxy.masked());
    let hits = receiver
        .wait_until("the contact's text as a webhook", WAIT, |h| {
            h.iter().any(|h| h.json().to_string().contains("back via proxy"))
        })
        .await;
    assert!(hits.iter().all(|h| h.peer.ip() != OUTGOING), "webhooks went through the proxy without the flag");
    assert_eq!(
        proxy.hits_to(receiver.addr.port()),
        0,
        "the proxy saw the receiver:
{}",
        proxy.log_text()
    );
    app.stop().await;
}

#[tokio::test]
async fn a_proxy_that_is_down_or_refuses_the_credentials_shows_in_last_error() {
    let Some(authed) = ProxyProc::microsocks(Some(("right-user", "right-pass"))).await else { return };
    let sandbox = Sandbox::start().await.unwrap();
    // Create answers as soon as it is clear no QR comes.
    let app = gateway(&sandbox, &[("WAREST_SESSION_QR_WAIT_SEC", "1")]).await;
    let (_, key) = app.create_user("refused").await;

    let dead = format!("socks5://127.0.0.1:{}", free_port());
    let wrong = format!("socks5://right-user:wrong-pass@127.0.0.1:{}", authed.port);
    let dead_http = format!("http://127.0.0.1:{}", free_port());
    for (id, url, word) in
        [("down", &dead, "unreachable"), ("denied", &wrong, "refused"), ("downhttp", &dead_http, "unreachable")]
    {
        let (status, body) = create_with_proxy(&app, &key, id, url).await;
        assert!(status == 200 || status == 202, "{body}");
        let err = eventually(format!("{id}'s lastError to name the proxy"), WAIT, async || {
            let s = session(&app, &key, id).await;
            match s["lastError"].as_str() {
                Some(e) if e.starts_with("proxy ") => Ok(e.to_string()),
                _ => Err(s),
            }
        })
        .await;
        assert!(err.contains(word), "{id}: {err}");
        assert!(!err.contains("wrong-pass"), "{err}");
        let s = session(&app, &key, id).await;
        assert_ne!(s["status"], "WORKING", "no direct fallback: {s}");
    }
    app.stop().await;
}
