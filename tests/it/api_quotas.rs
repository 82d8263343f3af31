//! Per-tenant quotas (issue 16, item 7): a user's API keys share one rate limit
//! (`WAREST_TENANT_RATE_MAX`), so more keys buy no more requests; a user owns at most
//! `WAREST_TENANT_MAX_SESSIONS` sessions (403, code 2404, until one is deleted). Admins are
//! exempt from both.

use crate::common;
use crate::e2e_send::{gateway, linked_session};

use common::{ADMIN_KEY, Kind, TestApp, envelope_code};
use serde_json::json;
use warest_sandbox::Sandbox;

#[tokio::test]
async fn a_users_keys_share_one_rate_limit() {
    let env = [("WAREST_TENANT_RATE_MAX", "10"), ("RATE_LIMIT_MAX", "100")];
    let app = TestApp::spawn_with(Kind::Sqlite, &env).await;
    let (_, first) = app.create_user("rated").await;
    let (status, body) = app.post("/api/v1/keys", Some(&first), json!({ "name": "second" })).await;
    assert_eq!(status, 201, "{body}");
    let second = body["results"][0]["key"].as_str().unwrap().to_string();
    // The key creation above was the first of ten.
    let mut statuses = Vec::new();
    for i in 0..12 {
        let key = if i % 2 == 0 { &first } else { &second };
        statuses.push(app.get("/api/v1/keys", Some(key)).await.0);
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 9, "{statuses:?}");
    let (status, body) = app.get("/api/v1/keys", Some(&second)).await;
    assert_eq!((status, envelope_code(&body)), (429, 2400), "{body}");
    // Each key alone is far below its own limit; an admin is not held by any tenant's.
    assert_eq!(app.get("/api/v1/keys", Some(ADMIN_KEY)).await.0, 200);
    app.stop().await;
}

#[tokio::test]
async fn a_user_owns_at_most_the_configured_number_of_sessions() {
    let sandbox = Sandbox::start().await.unwrap();
    let app = gateway(Kind::Sqlite, &sandbox, &[("WAREST_TENANT_MAX_SESSIONS", "2")]).await;
    let (_, key) = app.create_user("owner").await;
    linked_session(&app, &sandbox, &key, "one", "15550007301").await;
    linked_session(&app, &sandbox, &key, "two", "15550007302").await;
    let (status, body) = app.get("/api/v1/session/create?sessionId=three", Some(&key)).await;
    assert_eq!((status, envelope_code(&body)), (403, 2404), "{body}");
    assert!(body["message"].as_str().unwrap().contains("WAREST_TENANT_MAX_SESSIONS"), "{body}");
    // An existing session is still answered; an admin may own more.
    let (status, body) = app.get("/api/v1/session/create?sessionId=two", Some(&key)).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.get("/api/v1/session/create?sessionId=admins-own", Some(ADMIN_KEY)).await;
    assert!(status == 200 || status == 202, "{body}");
    // Deleting one frees a place.
    let (status, body) =
        common::call(app.req(reqwest::Method::DELETE, "/api/v1/session/delete?sessionId=one", Some(&key))).await;
    assert_eq!(status, 200, "{body}");
    linked_session(&app, &sandbox, &key, "three", "15550007303").await;
    app.stop().await;
}
