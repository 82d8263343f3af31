//! Byte quotas per tenant (issue 16, item 7): the unexpired generated files of one user
//! (`output: url`) hold at most `WAREST_TENANT_GENERATED_MAX_MB`, and the sends waiting in
//! one user's queues at most `WAREST_TENANT_QUEUED_MAX_MB`; past either the answer is 429
//! with its code (2405, 2406) and a `Retry-After`, other users are unaffected and admins
//! are exempt. Both limits hold under concurrent requests.

use std::time::Duration;

use crate::common;
use crate::e2e_send::{gateway, linked_session, wait_status};

use base64::Engine;
use common::{ADMIN_KEY, TestApp, envelope_code, eventually, kinds};
use serde_json::{Value, json};
use warest_sandbox::{Behaviour, Sandbox};
use whatsapp_rust::wacore::download::MediaType;
use whatsapp_rust::wacore::upload::encrypt_media;

const CONTACT: &str = "15550007401";
/// A generated file of 400,000 bytes: two fit in 1 MB (1,048,576 bytes), a third does not.
const FILE: usize = 400_000;
/// A document of 300,000 bytes waits as about 400,000 (base64 in its payload): the same.
const DOC: usize = 300_000;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn retry_after(res: &reqwest::Response) -> Option<u64> {
    res.headers().get("retry-after")?.to_str().ok()?.parse().ok()
}

/// One `file-decrypt` with `output: url`: (status, code, Retry-After).
async fn decrypt_to_link(app: &TestApp, key: &str, body: &Value) -> (u16, u64, Option<u64>) {
    let res = app.req(reqwest::Method::POST, "/api/v1/misc/whatsapp/file-decrypt", Some(key)).json(body).send().await;
    let res = res.expect("request");
    let retry = retry_after(&res);
    let (status, body) = common::split(res).await;
    (status, envelope_code(&body), retry)
}

#[tokio::test]
async fn generated_files_of_one_user_are_capped_until_their_links_expire() {
    let mut plain = b"\x89PNG\r\n\x1a\n".to_vec();
    plain.extend((0..FILE - 8).map(|i| (i % 251) as u8));
    let enc = encrypt_media(&plain, MediaType::Image).unwrap();
    let body = |output: &str| {
        json!({ "mediaKey": b64(&enc.media_key), "file": b64(&enc.data_to_upload), "mimeType": "image/png",
                "output": output })
    };
    for kind in kinds() {
        let env = [("WAREST_TENANT_GENERATED_MAX_MB", "1"), ("WAREST_MEDIA_URL_TTL_SEC", "6")];
        let app = TestApp::spawn_with(kind, &env).await;
        let (_, key) = app.create_user("maker").await;
        let (_, other) = app.create_user("neighbour").await;

        // Six at once: exactly two fit, whatever order they commit in.
        let link = body("url");
        let answers = futures_util::future::join_all((0..6).map(|_| decrypt_to_link(&app, &key, &link))).await;
        let ok = answers.iter().filter(|a| a.0 == 200).count();
        assert_eq!(ok, 2, "{kind:?}: {answers:?}");
        for (status, code, retry) in answers.iter().filter(|a| a.0 != 200) {
            assert_eq!((*status, *code), (429, 2405), "{kind:?}: {answers:?}");
            assert!(retry.is_some_and(|s| (1..=6).contains(&s)), "{kind:?}: Retry-After {retry:?}");
        }
        // The limit is this user's: another user and an admin still get links, and the
        // full user still gets its result inline.
        assert_eq!(decrypt_to_link(&app, &other, &link).await.0, 200, "{kind:?}");
        assert_eq!(decrypt_to_link(&app, ADMIN_KEY, &link).await.0, 200, "{kind:?}");
        assert_eq!(decrypt_to_link(&app, ADMIN_KEY, &link).await.0, 200, "{kind:?}: admins are exempt");
        assert_eq!(decrypt_to_link(&app, ADMIN_KEY, &link).await.0, 200, "{kind:?}: admins are exempt");
        assert_eq!(decrypt_to_link(&app, &key, &body("base64")).await.0, 200, "{kind:?}");
        // Once the links expire their bytes stop counting.
        eventually("the expired links to free the quota", Duration::from_secs(20), async || {
            decrypt_to_link(&app, &key, &link).await.0 == 200
        })
        .await;
        app.stop().await;
    }
}

/// A document send of `DOC` bytes: (status, code, Retry-After, message id).
async fn send_document(app: &TestApp, key: &str, session: &str, seed: u8) -> (u16, u64, Option<u64>, String) {
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.extend((0..DOC - 9).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)));
    let body = json!({ "sessionId": session, "to": CONTACT, "document": format!("data:application/pdf;base64,{}", b64(&pdf)),
                       "filename": "report.pdf" });
    let res = app.req(reqwest::Method::POST, "/api/v1/messages/send/document", Some(key)).json(&body).send().await;
    let res = res.expect("request");
    let retry = retry_after(&res);
    let (status, body) = common::split(res).await;
    let id = body["results"][0]["messageId"].as_str().unwrap_or_default().to_string();
    (status, envelope_code(&body), retry, id)
}

async fn pause(app: &TestApp, key: &str, session: &str) {
    let (status, body) = app.post(&format!("/api/v1/session/{session}/queue/pause"), Some(key), json!({})).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn the_sends_waiting_for_one_user_are_capped_in_bytes_across_its_sessions() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.create_contact(CONTACT, Behaviour::Silent).await.unwrap();
    for (n, kind) in kinds().into_iter().enumerate() {
        let app = gateway(kind, &sandbox, &[("WAREST_TENANT_QUEUED_MAX_MB", "1")]).await;
        let (_, key) = app.create_user("sender").await;
        let (_, other) = app.create_user("neighbour").await;
        let admin = ADMIN_KEY.to_string();
        let sessions = [(&key, "one"), (&key, "two"), (&other, "theirs"), (&admin, "admins")];
        for (i, (k, s)) in sessions.iter().enumerate() {
            linked_session(&app, &sandbox, k, s, &format!("155500075{n}{i}")).await;
            pause(&app, k, s).await;
        }

        // Six documents at once into the user's two sessions: exactly two fit.
        let sends = (0..6u8).map(|i| send_document(&app, &key, if i % 2 == 0 { "one" } else { "two" }, i));
        let answers = futures_util::future::join_all(sends).await;
        let accepted: Vec<&String> = answers.iter().filter(|a| a.0 == 200).map(|a| &a.3).collect();
        assert_eq!(accepted.len(), 2, "{kind:?}: {answers:?}");
        for (status, code, retry, _) in answers.iter().filter(|a| a.0 != 200) {
            assert_eq!((*status, *code), (429, 2406), "{kind:?}: {answers:?}");
            assert!(retry.is_some_and(|s| s >= 1), "{kind:?}: Retry-After {retry:?}");
        }
        // A short text still fits; another user's queue and an admin's are not held.
        let text = json!({ "sessionId": "two", "to": CONTACT, "message": "still fits" });
        assert_eq!(app.post("/api/v1/messages/send/text", Some(&key), text).await.0, 200, "{kind:?}");
        assert_eq!(send_document(&app, &other, "theirs", 6).await.0, 200, "{kind:?}");
        for seed in 7..10 {
            assert_eq!(send_document(&app, ADMIN_KEY, "admins", seed).await.0, 200, "{kind:?}: admins are exempt");
        }

        // Sent documents stop counting.
        for s in ["one", "two"] {
            let (status, _) = app.post(&format!("/api/v1/session/{s}/queue/resume"), Some(&key), json!({})).await;
            assert_eq!(status, 200);
        }
        for id in accepted {
            wait_status(&app, &key, id, |s| s != "queued" && s != "sending").await;
        }
        pause(&app, &key, "one").await;
        assert_eq!(send_document(&app, &key, "one", 10).await.0, 200, "{kind:?}");
        assert_eq!(send_document(&app, &key, "one", 11).await.0, 200, "{kind:?}");
        assert_eq!(send_document(&app, &key, "one", 12).await.1, 2406, "{kind:?}");
        app.stop().await;
    }
}
