//! Authentication, users and keys, tenant isolation and rate limiting, end to end over HTTP,
//! on SQLite and on Postgres.

use crate::common;

use common::{ADMIN_KEY, TestApp, envelope_code, kinds};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn ping_without_a_key_is_a_401_envelope() {
    for kind in kinds() {
        let app = TestApp::spawn(kind).await;
        let (status, body) = app.get("/api/v1/server/ping", None).await;
        assert_eq!(status, 401, "{kind:?}");
        assert_eq!(envelope_code(&body), 2200);
        assert_eq!(body["status"], false);

        let (status, body) = app.get("/api/v1/server/ping", Some("wrst_not-a-real-key")).await;
        assert_eq!((status, envelope_code(&body)), (401, 2200));
        app.stop().await;
    }
}

#[tokio::test]
async fn ping_with_the_admin_key_returns_the_envelope_and_identity_headers() {
    for kind in kinds() {
        let app = TestApp::spawn(kind).await;
        let res = app.req(Method::GET, "/api/v1/server/ping", Some(ADMIN_KEY)).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let h = res.headers().clone();
        assert!(h["x-warest-registry"].to_str().unwrap().starts_with("usr_"));
        assert_eq!(h["x-warest-username"], "admin");
        assert_eq!(h["x-warest-version"], warest::VERSION);
        assert!(h.contains_key("x-request-id"));
        assert_eq!(h["ratelimit-limit"], "120");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!((body["status"].as_bool(), envelope_code(&body)), (Some(true), 1000));
        assert_eq!(body["results"][0]["ping"], "pong");
        assert_eq!(body["results"][0]["timezone"], "UTC");

        // The same key as a bearer token.
        let res = app.http.get(app.url("/api/v1/server/ping")).bearer_auth(ADMIN_KEY).send().await.unwrap();
        assert_eq!(res.status(), 200);
        app.stop().await;
    }
}

#[tokio::test]
async fn admin_creates_a_user_whose_key_works_and_is_listed_without_its_secret() {
    for kind in kinds() {
        let app = TestApp::spawn(kind).await;
        let (registry, key) = app.create_user("support").await;
        assert!(registry.starts_with("usr_") && key.starts_with("wrst_"));

        let res = app.req(Method::GET, "/api/v1/keys", Some(&key)).send().await.unwrap();
        assert_eq!(res.headers()["x-warest-registry"], registry.as_str());
        assert_eq!(res.headers()["x-warest-username"], "support");
        let body: serde_json::Value = res.json().await.unwrap();
        let items = body["results"][0]["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert!(items[0].get("key").is_none(), "secrets are never listed");
        assert!(!body.to_string().contains(&key));

        let (status, body) = app.get("/api/v1/admin/users", Some(ADMIN_KEY)).await;
        assert_eq!(status, 200);
        let names: Vec<&str> =
            body["results"][0]["items"].as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap()).collect();
        assert_eq!(names, vec!["admin", "support"]);

        let (status, body) = app.get(&format!("/api/v1/admin/users/{registry}"), Some(ADMIN_KEY)).await;
        assert_eq!((status, body["results"][0]["username"].as_str()), (200, Some("support")));

        let (status, body) = app.post("/api/v1/admin/users", Some(ADMIN_KEY), json!({ "username": "support" })).await;
        assert_eq!((status, envelope_code(&body)), (409, 2300));
        app.stop().await;
    }
}

#[tokio::test]
async fn a_second_tenant_gets_404_for_the_first_tenants_key() {
    for kind in kinds() {
        let app = TestApp::spawn(kind).await;
        let (_, key_a) = app.create_user("tenant-a").await;
        let (_, key_b) = app.create_user("tenant-b").await;
        let (_, body) = app.get("/api/v1/keys", Some(&key_a)).await;
        let key_a_id = body["results"][0]["items"][0]["id"].as_str().unwrap().to_string();

        // Not 403, not data: the resource does not exist for tenant b.
        let (status, body) = app.delete(&format!("/api/v1/keys/{key_a_id}"), Some(&key_b)).await;
        assert_eq!((status, envelope_code(&body)), (404, 2600), "{kind:?}");
        let (_, body) = app.get("/api/v1/keys", Some(&key_b)).await;
        assert!(!body.to_string().contains(&key_a_id));

        // Tenant a's key still works: b's attempt changed nothing.
        assert_eq!(app.get("/api/v1/server/ping", Some(&key_a)).await.0, 200);
        app.stop().await;
    }
}

#[tokio::test]
async fn a_non_admin_key_gets_403_on_admin_routes() {
    for kind in kinds() {
        let app = TestApp::spawn(kind).await;
        let (_, key) = app.create_user("plain").await;
        let (status, body) = app.get("/api/v1/admin/users", Some(&key)).await;
        assert_eq!((status, envelope_code(&body)), (403, 2201));
        let (status, _) = app.post("/api/v1/admin/users", Some(&key), json!({ "username": "x1" })).await;
        assert_eq!(status, 403);
        assert_eq!(app.get("/api/v1/server/info", Some(&key)).await.0, 403);
        app.stop().await;
    }
}

#[tokio::test]
async fn revoked_keys_and_disabled_users_are_locked_out_at_once() {
    for kind in kinds() {
        let app = TestApp::spawn(kind).await;
        let (registry, key) = app.create_user("ops").await;
        let (status, body) = app
            .post(&format!("/api/v1/admin/users/{registry}/keys"), Some(ADMIN_KEY), json!({ "name": "second" }))
            .await;
        assert_eq!(status, 201, "{body}");
        let second = body["results"][0]["key"].as_str().unwrap().to_string();
        let second_id = body["results"][0]["id"].as_str().unwrap().to_string();

        let (status, _) =
            app.delete(&format!("/api/v1/admin/users/{registry}/keys/{second_id}"), Some(ADMIN_KEY)).await;
        assert_eq!(status, 200);
        assert_eq!(app.get("/api/v1/server/ping", Some(&second)).await.0, 401);
        assert_eq!(app.get("/api/v1/server/ping", Some(&key)).await.0, 200);

        assert_eq!(
            app.post(&format!("/api/v1/admin/users/{registry}/disable"), Some(ADMIN_KEY), json!({})).await.0,
            200
        );
        assert_eq!(app.get("/api/v1/server/ping", Some(&key)).await.0, 401);
        assert_eq!(
            app.post(&format!("/api/v1/admin/users/{registry}/enable"), Some(ADMIN_KEY), json!({})).await.0,
            200
        );
        assert_eq!(app.get("/api/v1/server/ping", Some(&key)).await.0, 200);

        assert_eq!(app.delete(&format!("/api/v1/admin/users/{registry}"), Some(ADMIN_KEY)).await.0, 200);
        assert_eq!(app.get("/api/v1/server/ping", Some(&key)).await.0, 401);
        assert_eq!(app.get(&format!("/api/v1/admin/users/{registry}"), Some(ADMIN_KEY)).await.0, 404);
        app.stop().await;
    }
}

#[tokio::test]
async fn an_admin_cannot_disable_or_delete_itself() {
    let app = TestApp::spawn(common::Kind::Sqlite).await;
    let (_, body) = app.get("/api/v1/keys", Some(ADMIN_KEY)).await;
    let me = app.req(Method::GET, "/api/v1/keys", Some(ADMIN_KEY)).send().await.unwrap();
    let registry = me.headers()["x-warest-registry"].to_str().unwrap().to_string();
    assert!(body["status"].as_bool().unwrap());
    let (status, body) = app.post(&format!("/api/v1/admin/users/{registry}/disable"), Some(ADMIN_KEY), json!({})).await;
    assert_eq!((status, envelope_code(&body)), (409, 2300));
    assert_eq!(app.delete(&format!("/api/v1/admin/users/{registry}"), Some(ADMIN_KEY)).await.0, 409);
    app.stop().await;
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after_and_ratelimit_headers() {
    for kind in kinds() {
        let app = TestApp::spawn_with(kind, &[("RATE_LIMIT_MAX", "4"), ("RATE_LIMIT_WINDOW_MS", "60000")]).await;
        // Uses one of the admin key's four requests.
        let (_, other) = app.create_user("other").await;
        for expected_remaining in ["2", "1", "0"] {
            let res = app.req(Method::GET, "/api/v1/server/ping", Some(ADMIN_KEY)).send().await.unwrap();
            assert_eq!(res.status(), 200);
            assert_eq!(res.headers()["ratelimit-remaining"], expected_remaining);
        }
        let res = app.req(Method::GET, "/api/v1/server/ping", Some(ADMIN_KEY)).send().await.unwrap();
        assert_eq!(res.status(), 429);
        let h = res.headers().clone();
        let retry: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
        assert_eq!(h["ratelimit-limit"], "4");
        assert_eq!(h["ratelimit-remaining"], "0");
        assert!(h.contains_key("ratelimit-reset"));
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(envelope_code(&body), 2400);

        // The limit is per key: another tenant is unaffected.
        assert_eq!(app.get("/api/v1/server/ping", Some(&other)).await.0, 200);
        app.stop().await;
    }
}

#[tokio::test]
async fn repeated_bad_keys_from_one_client_are_slowed_down() {
    let app = TestApp::spawn_with(common::Kind::Sqlite, &[("RATE_LIMIT_MAX", "3")]).await;
    for _ in 0..3 {
        assert_eq!(app.get("/api/v1/server/ping", Some("wrst_guess")).await.0, 401);
    }
    let (status, body) = app.get("/api/v1/server/ping", Some("wrst_guess")).await;
    assert_eq!((status, envelope_code(&body)), (429, 2400));
    // The explorer shares the same slow-down: it is no side door for guessing.
    let (status, _) = app.get("/openapi.json", Some("wrst_guess")).await;
    assert_eq!(status, 429);
    app.stop().await;
}

#[tokio::test]
async fn a_generated_admin_key_is_created_once_and_printed_once() {
    let t = warest::testing::TestDb::sqlite().await;
    let vars = std::collections::HashMap::from([("WAREST_ADMIN_APIKEY".to_string(), String::new())]);
    let config = warest::config::Config::from_map(&vars).unwrap();
    let first = warest::auth::seed_admin(&t.db, &config).await.unwrap();
    let key = first.generated_key.expect("generated on first start");
    let again = warest::auth::seed_admin(&t.db, &config).await.unwrap();
    assert!(again.generated_key.is_none(), "never a second key on restart");
    assert!(warest::auth::authenticate_key(&t.db, &key).await.unwrap().unwrap().is_admin);
    t.cleanup().await;
}

#[tokio::test]
async fn rotating_the_env_admin_key_retires_the_old_one() {
    let t = warest::testing::TestDb::sqlite().await;
    let with_key = |k: &str| {
        warest::config::Config::from_map(&std::collections::HashMap::from([(
            "WAREST_ADMIN_APIKEY".to_string(),
            k.to_string(),
        )]))
        .unwrap()
    };
    warest::auth::seed_admin(&t.db, &with_key("first-admin-key-0000000000")).await.unwrap();
    warest::auth::seed_admin(&t.db, &with_key("second-admin-key-000000000")).await.unwrap();
    assert!(warest::auth::authenticate_key(&t.db, "first-admin-key-0000000000").await.unwrap().is_none());
    assert!(warest::auth::authenticate_key(&t.db, "second-admin-key-000000000").await.unwrap().is_some());
    t.cleanup().await;
}

#[tokio::test]
async fn a_valid_key_is_served_after_130_bad_keys_from_its_address() {
    // The default limit (120 per window): one address behind a NAT or a reverse proxy sends
    // more failures than that, and its colleagues' valid keys must keep working.
    let app = TestApp::spawn(common::Kind::Sqlite).await;
    for _ in 0..130 {
        let status = app.get("/api/v1/server/ping", Some("wrst_guess")).await.0;
        assert!(status == 401 || status == 429, "{status}");
    }
    let (status, body) = app.get("/api/v1/server/ping", Some("wrst_guess")).await;
    assert_eq!((status, envelope_code(&body)), (429, 2400), "failures are still slowed down");
    assert_eq!(app.get("/api/v1/server/ping", Some(ADMIN_KEY)).await.0, 200);
    assert_eq!(app.get("/openapi.json", Some(ADMIN_KEY)).await.0, 200, "the explorer's gate too");
    app.stop().await;
}

#[tokio::test]
async fn forwarded_for_names_the_client_only_behind_a_trusted_proxy() {
    let bad = |app: &TestApp, forwarded: &str| {
        app.req(Method::GET, "/api/v1/server/ping", Some("wrst_guess")).header("x-forwarded-for", forwarded).send()
    };
    // Behind a trusted proxy the rightmost untrusted hop is the client: a second client
    // behind the same proxy is not slowed down by the first one's failures, and what the
    // first client wrote itself (the leftmost entries) does not move it to a fresh bucket.
    let proxied = TestApp::spawn_with(
        common::Kind::Sqlite,
        &[("RATE_LIMIT_MAX", "3"), ("WAREST_TRUSTED_PROXIES", "127.0.0.0/8")],
    )
    .await;
    for i in 0..3 {
        let res = bad(&proxied, &format!("198.51.100.{i}, 203.0.113.7")).await.unwrap();
        assert_eq!(res.status(), 401);
    }
    assert_eq!(bad(&proxied, "192.0.2.99, 203.0.113.7").await.unwrap().status(), 429);
    assert_eq!(bad(&proxied, "203.0.113.8").await.unwrap().status(), 401, "another client behind the proxy");
    proxied.stop().await;

    // Without trusted proxies the header is the client's own word and changes nothing.
    let direct = TestApp::spawn_with(common::Kind::Sqlite, &[("RATE_LIMIT_MAX", "3")]).await;
    for i in 0..3 {
        assert_eq!(bad(&direct, &format!("203.0.113.{i}")).await.unwrap().status(), 401);
    }
    assert_eq!(bad(&direct, "203.0.113.50").await.unwrap().status(), 429);
    direct.stop().await;
}

fn admin_config(key: &str) -> warest::config::Config {
    warest::config::Config::from_map(&std::collections::HashMap::from([(
        "WAREST_ADMIN_APIKEY".to_string(),
        key.to_string(),
    )]))
    .unwrap()
}

#[tokio::test]
async fn a_generated_admin_key_is_retired_once_the_env_key_is_set() {
    for kind in kinds() {
        let t = match kind {
            common::Kind::Sqlite => warest::testing::TestDb::sqlite().await,
            common::Kind::Postgres => warest::testing::TestDb::postgres().await.unwrap(),
            common::Kind::Mysql => warest::testing::TestDb::mysql().await.unwrap(),
        };
        let generated = warest::auth::seed_admin(&t.db, &admin_config("")).await.unwrap().generated_key.unwrap();
        warest::auth::seed_admin(&t.db, &admin_config("env-admin-key-00000000000000")).await.unwrap();
        assert!(warest::auth::authenticate_key(&t.db, &generated).await.unwrap().is_none(), "{kind:?}");
        assert!(warest::auth::authenticate_key(&t.db, "env-admin-key-00000000000000").await.unwrap().is_some());
        t.cleanup().await;
    }
}

#[tokio::test]
async fn an_env_admin_key_revoked_through_the_api_does_not_break_the_next_boot() {
    for kind in kinds() {
        let t = match kind {
            common::Kind::Sqlite => warest::testing::TestDb::sqlite().await,
            common::Kind::Postgres => warest::testing::TestDb::postgres().await.unwrap(),
            common::Kind::Mysql => warest::testing::TestDb::mysql().await.unwrap(),
        };
        let config = admin_config("env-admin-key-11111111111111");
        let seeded = warest::auth::seed_admin(&t.db, &config).await.unwrap();
        let keys = t.db.list_api_keys(&seeded.admin.id).await.unwrap();
        t.db.revoke_api_key(&seeded.admin.id, &keys[0].id).await.unwrap();
        // The next start succeeds, and the revocation holds: a revoked key never comes back
        // by itself (the operator sets a new WAREST_ADMIN_APIKEY).
        let again = warest::auth::seed_admin(&t.db, &config).await;
        assert!(again.is_ok(), "{kind:?}: {again:?}");
        assert!(warest::auth::authenticate_key(&t.db, "env-admin-key-11111111111111").await.unwrap().is_none());
        t.cleanup().await;
    }
}
