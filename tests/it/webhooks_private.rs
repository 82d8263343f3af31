//! `WAREST_WEBHOOK_ALLOW_PRIVATE=admins` (the default): a tenant's webhooks may not reach
//! private or local addresses — neither an IP literal nor a name that resolves to one
//! (`localhost`) — while an admin's session delivers to the same receiver. The refusal is
//! in the tenant's delivery log; preflight tells a tenant only "could not be reached", with
//! no timing. `all` lifts the guard (the other webhook tests run with it).

use crate::common;
use crate::webhooks_support::{Receiver, emit_status as emit, stored_session as session};

use std::time::Duration;

use common::{ADMIN_KEY, Kind, TestApp, eventually};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(20);

async fn attempt_errors(app: &TestApp, id: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT COALESCE(error, '') FROM webhook_attempts WHERE session_id = $1 ORDER BY id")
        .bind(id)
        .fetch_all(app.state.db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_tenants_webhooks_cannot_reach_private_addresses_an_admins_can() {
    let rx = Receiver::start().await;
    let env = [("WAREST_WEBHOOK_ALLOW_PRIVATE", "admins"), ("WAREST_WEBHOOK_RETRIES", "0")];
    let app = TestApp::spawn_with(Kind::Sqlite, &env).await;
    let (tenant, key) = app.create_user("private-tenant").await;
    let (users, _) = app.state.db.list_users(100, 0).await.unwrap();
    let admin = users.iter().find(|u| u.is_admin).expect("the seeded admin").id.clone();

    session(&app, "tenant-ip", &tenant, &key, &rx.url("/ip")).await;
    let by_name = format!("http://localhost:{}/name", rx.addr.port());
    session(&app, "tenant-name", &tenant, &key, &by_name).await;
    session(&app, "admin-own", &admin, ADMIN_KEY, &rx.url("/admin")).await;
    for (id, registry) in [("tenant-ip", &tenant), ("tenant-name", &tenant), ("admin-own", &admin)] {
        emit(&app, id, registry);
    }

    rx.wait_until("the admin's delivery", WAIT, |h| h.iter().any(|h| h.json()["session"]["id"] == "admin-own")).await;
    for id in ["tenant-ip", "tenant-name"] {
        let errors = eventually(format!("{id}'s refused attempt"), WAIT, async || {
            let e = attempt_errors(&app, id).await;
            if e.is_empty() { Err("no attempt yet") } else { Ok(e) }
        })
        .await;
        assert!(errors.iter().all(|e| e.contains("WAREST_WEBHOOK_ALLOW_PRIVATE")), "{id}: {errors:?}");
    }
    let tenant_hits: Vec<_> = rx.hits().into_iter().filter(|h| h.json()["session"]["id"] != "admin-own").collect();
    assert!(tenant_hits.is_empty(), "the receiver saw a tenant's delivery: {tenant_hits:?}");

    // Preflight: the tenant learns only that it failed; an admin gets the answer.
    let (status, body) = app
        .post("/api/v1/webhook/preflight", Some(&key), json!({ "sessionId": "tenant-ip", "url": rx.url("/pf") }))
        .await;
    assert_eq!(status, 200, "{body}");
    let r = &body["results"][0];
    assert_eq!(
        (r["ok"].as_bool(), r["error"].as_str()),
        (Some(false), Some("the receiver could not be reached")),
        "{r}"
    );
    assert_eq!(r["roundTripMs"], 0, "{r}");
    let (status, body) = app
        .post("/api/v1/webhook/preflight", Some(ADMIN_KEY), json!({ "sessionId": "admin-own", "url": rx.url("/pf") }))
        .await;
    assert_eq!((status, body["results"][0]["ok"].as_bool()), (200, Some(true)), "{body}");
    assert_eq!(rx.hits().iter().filter(|h| h.json()["event"] == "preflight").count(), 1, "only the admin's preflight");
    app.stop().await;
}
