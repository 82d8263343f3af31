//! Webhook configuration: preflight (standalone and before saving a session's config),
//! the WEBHOOK_DEFAULT_URL/SECRET fallback, per-target event filters and custom headers.

use crate::common;
use crate::webhooks_support;

use std::time::Duration;

use common::{Kind, TestApp, envelope_code, kinds};
use serde_json::json;
use warest::store::sessions::NewSession;
use webhooks_support::Receiver;

const WAIT: Duration = Duration::from_secs(20);

async fn app_with_session(kind: Kind, env: &[(&str, &str)]) -> (TestApp, String, String) {
    let app = TestApp::spawn_with(kind, env).await;
    let (registry, key) = app.create_user("cfguser").await;
    app.state
        .db
        .create_session(NewSession {
            id: "cfg-1",
            registry: &registry,
            label: None,
            status: "STOPPED",
            auto_start: false,
            metadata: &json!({}),
        })
        .await
        .unwrap();
    (app, registry, key)
}

async fn emit(app: &TestApp, registry: &str, event: &str) {
    let ev = warest::webhooks::NewEvent { session_id: "cfg-1", registry, event, data: json!({}), ts: 1 };
    app.state.webhooks.emit(ev).await.unwrap();
}

#[tokio::test]
async fn preflight_sends_a_signed_test_request_and_reports_failure() {
    let rx = Receiver::start().await;
    let (app, _, key) = app_with_session(Kind::Sqlite, &[]).await;
    let body = json!({ "url": rx.url("/pf"), "secret": "pf-secret", "sessionId": "cfg-1" });
    let (status, res) = app.post("/api/v1/webhook/preflight", Some(&key), body.clone()).await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(res["results"][0]["ok"], true);
    let hit = &rx.hits()[0];
    assert_eq!(hit.header("x-warest-preflight"), "1");
    assert_eq!(hit.json()["event"], "preflight");
    assert!(warest::webhooks::sign::verify_warest(
        &hit.header("x-warest-signature"),
        "pf-secret",
        "cfguser",
        &hit.body
    ));

    rx.set_default(500);
    let (status, res) = app.post("/api/v1/webhook/preflight", Some(&key), body).await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(res["results"][0]["ok"], false);
    assert_eq!(res["results"][0]["status"], 500);
    // Nothing is stored for a preflight.
    let n: i64 = sqlx::Row::get(
        &sqlx::query("SELECT COUNT(*) AS n FROM webhook_events").fetch_one(app.state.db.pool()).await.unwrap(),
        "n",
    );
    assert_eq!(n, 0);

    let (status, res) = app.post("/api/v1/webhook/preflight", Some(&key), json!({ "url": "ftp://x" })).await;
    assert_eq!(status, 400, "{res}");
    assert_eq!(res["results"][0]["field"], "url");
    app.stop().await;
}

#[tokio::test]
async fn config_with_failing_preflight_is_not_saved() {
    for kind in kinds() {
        let rx = Receiver::start().await;
        let (app, _, key) = app_with_session(kind, &[]).await;
        rx.set_default(503);
        let (status, res) = app
            .post(
                "/api/v1/session/cfg-1/config",
                Some(&key),
                json!({ "webhookUrl": rx.url("/a"), "webhookSecret": "s1", "preflight": true }),
            )
            .await;
        assert_eq!(status, 400, "{res}");
        assert_eq!(envelope_code(&res), 2000);
        assert!(res["message"].as_str().unwrap().starts_with("Webhook preflight failed"));
        assert_eq!(app.state.db.session("cfg-1").await.unwrap().webhook_url, None, "{kind:?}");

        rx.set_default(200);
        let (status, res) = app
            .post(
                "/api/v1/session/cfg-1/config",
                Some(&key),
                json!({ "webhookUrl": rx.url("/a"), "webhookSecret": "s1", "preflight": true }),
            )
            .await;
        assert_eq!(status, 200, "{res}");
        assert_eq!(app.state.db.session("cfg-1").await.unwrap().webhook_url, Some(rx.url("/a")));
        let hits = rx.hits();
        assert!(hits.iter().all(|h| h.header("x-warest-preflight") == "1"));
        assert!(warest::webhooks::sign::verify_warest(
            &hits[1].header("x-warest-signature"),
            "s1",
            "cfguser",
            &hits[1].body
        ));
        app.stop().await;
    }
}

#[tokio::test]
async fn default_url_and_secret_apply_when_the_session_has_none() {
    let rx = Receiver::start().await;
    let url = rx.url("/default");
    let (app, registry, _) =
        app_with_session(Kind::Sqlite, &[("WEBHOOK_DEFAULT_URL", &url), ("WEBHOOK_DEFAULT_SECRET", "dflt")]).await;
    emit(&app, &registry, "message_received").await;
    let hits = rx.wait_until("one delivery", WAIT, |h| !h.is_empty()).await;
    assert!(warest::webhooks::sign::verify_warest(
        &hits[0].header("x-warest-signature"),
        "dflt",
        "cfguser",
        &hits[0].body
    ));
    app.stop().await;
}

#[tokio::test]
async fn targets_get_their_filtered_events_with_custom_headers() {
    for kind in kinds() {
        let primary = Receiver::start().await;
        let extra = Receiver::start().await;
        let (app, registry, key) = app_with_session(kind, &[]).await;
        let (s, r) = app
            .post(
                "/api/v1/session/cfg-1/config",
                Some(&key),
                json!({ "webhookUrl": primary.url("/p"), "webhookSecret": "ps" }),
            )
            .await;
        assert_eq!(s, 200, "{r}");
        let put = json!({
            "primary": { "events": ["message_received"], "headers": { "X-Tenant": "acme" } },
            "targets": [ { "url": extra.url("/e"), "secret": "es" } ]
        });
        let (s, r) =
            common::call(app.req(reqwest::Method::PUT, "/api/v1/session/cfg-1/webhooks", Some(&key)).json(&put)).await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["results"][0]["targets"][1]["hasSecret"], true);
        assert!(r.to_string().find("\"es\"").is_none(), "secrets are never shown: {r}");

        emit(&app, &registry, "session_status").await;
        emit(&app, &registry, "message_received").await;
        let e = extra.wait_until("two on the extra target", WAIT, |h| h.len() >= 2).await;
        let p = primary.wait_until("one on the primary", WAIT, |h| !h.is_empty()).await;
        assert_eq!(
            e.iter().map(|h| h.json()["event"].as_str().unwrap().to_string()).collect::<Vec<_>>(),
            ["session_status", "message_received"]
        );
        assert!(warest::webhooks::sign::verify_warest(&e[0].header("x-warest-signature"), "es", "cfguser", &e[0].body));
        assert_eq!(p[0].json()["event"], "message_received", "{kind:?}");
        assert_eq!(p[0].header("x-tenant"), "acme");
        assert!(warest::webhooks::sign::verify_warest(&p[0].header("x-warest-signature"), "ps", "cfguser", &p[0].body));

        for (bad, field) in [
            (json!({ "primary": { "headers": { "X-WAREST-Signature": "x" } } }), "primary.headers.X-WAREST-Signature"),
            (json!({ "primary": { "events": ["nope"] } }), "primary.events[0]"),
            (json!({ "targets": [ { "url": "notaurl" } ] }), "targets[0].url"),
        ] {
            let (s, r) =
                common::call(app.req(reqwest::Method::PUT, "/api/v1/session/cfg-1/webhooks", Some(&key)).json(&bad))
                    .await;
            assert_eq!(s, 400, "{r}");
            assert_eq!(r["results"][0]["field"], field);
        }
        // Another tenant's session is not found.
        let (_, other) = app.create_user("intruder").await;
        let (s, r) = app.get("/api/v1/session/cfg-1/webhooks", Some(&other)).await;
        assert_eq!((s, envelope_code(&r)), (404, 1101));
        app.stop().await;
    }
}
