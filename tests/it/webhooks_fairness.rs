//! One tenant cannot stall another's deliveries (issue 16, item 6): a tenant whose
//! receivers hang holds at most its share of the dispatcher's slots, so another tenant's
//! events keep flowing meanwhile; and a tenant whose secret the shared receiver rejects
//! (401) cools off only its own deliveries to that URL, not the other tenant's.

use crate::common;
use crate::webhooks_support::{Receiver, emit_status as emit, stored_session as session};

use std::time::Duration;

use common::{Kind, TestApp, eventually};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(20);

async fn attempts_of(app: &TestApp, registry: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM webhook_attempts WHERE registry = $1")
        .bind(registry)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_tenant_with_hanging_receivers_holds_only_its_share_of_the_slots() {
    let rx = Receiver::start().await;
    rx.hang_containing("slow-", Duration::from_secs(6));
    let env = [
        ("WAREST_WEBHOOK_CONCURRENCY", "4"),
        ("WAREST_TENANT_SHARE_PERCENT", "50"),
        ("WAREST_WEBHOOK_TIMEOUT_MS", "10000"),
        ("WAREST_WEBHOOK_RETRIES", "0"),
    ];
    let app = TestApp::spawn_with(Kind::Sqlite, &env).await;
    let (slow, slow_key) = app.create_user("slow-tenant").await;
    let (fast, fast_key) = app.create_user("fast-tenant").await;
    // Four sessions of one tenant, one hanging delivery each: enough to fill every slot.
    for n in 1..=4 {
        session(&app, &format!("slow-{n}"), &slow, &slow_key, &rx.url("/slow")).await;
    }
    session(&app, "fast-1", &fast, &fast_key, &rx.url("/fast")).await;
    for n in 1..=4 {
        emit(&app, &format!("slow-{n}"), &slow);
    }
    rx.wait_until("the hanging deliveries to start", WAIT, |h| h.iter().any(|h| h.json()["session"]["id"] == "slow-1"))
        .await;
    for _ in 0..10 {
        emit(&app, "fast-1", &fast);
    }
    rx.wait_until("the other tenant's ten events", WAIT, |h| {
        h.iter().filter(|h| h.json()["session"]["id"] == "fast-1").count() == 10
    })
    .await;
    assert_eq!(attempts_of(&app, &slow).await, 0, "the other tenant waited for the hanging receivers");
    let started = rx.hits().iter().filter(|h| h.json().to_string().contains("slow-")).count();
    assert!(started <= 2, "the hanging tenant held {started} slots, more than its share of 2");
    app.stop().await;
}

#[tokio::test]
async fn one_tenants_rejected_secret_does_not_cool_off_another_tenant_on_the_same_url() {
    let rx = Receiver::start().await;
    rx.status_containing("cool-a", 401);
    let env = [("WAREST_WEBHOOK_AUTH_COOLOFF_MS", "600000"), ("WAREST_WEBHOOK_BACKOFF_MS", "20")];
    let app = TestApp::spawn_with(Kind::Sqlite, &env).await;
    let (a, a_key) = app.create_user("tenant-a").await;
    let (b, b_key) = app.create_user("tenant-b").await;
    session(&app, "cool-a", &a, &a_key, &rx.url("/shared")).await;
    session(&app, "warm-b", &b, &b_key, &rx.url("/shared")).await;

    emit(&app, "cool-a", &a);
    eventually("tenant a's refused attempt", WAIT, async || {
        let n = attempts_of(&app, &a).await;
        if n >= 1 { Ok(()) } else { Err(n) }
    })
    .await;
    emit(&app, "warm-b", &b);
    rx.wait_until("tenant b's event despite a's cool-off", WAIT, |h| {
        h.iter().any(|h| h.json()["session"]["id"] == "warm-b" && h.status == 200)
    })
    .await;
    assert_eq!(rx.hits().iter().filter(|h| h.json()["session"]["id"] == "cool-a").count(), 1, "a stays cooled off");
    app.stop().await;
}

async fn runs_recorded(app: &TestApp, registry: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM webhook_attempts WHERE registry = $1 AND actions IS NOT NULL")
        .bind(registry)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_tenants_long_action_runs_leave_the_runner_room_for_another_tenant() {
    let rx = Receiver::start().await;
    rx.answer_containing("busy-", json!({ "actions": [{ "type": "delay", "ms": 5000 }] }));
    rx.answer_containing("quick-", json!({ "actions": [{ "type": "noop" }] }));
    let env = [("WAREST_ACTIONS_CONCURRENCY", "2"), ("WAREST_TENANT_SHARE_PERCENT", "50")];
    let app = TestApp::spawn_with(Kind::Sqlite, &env).await;
    let (busy, busy_key) = app.create_user("busy-tenant").await;
    let (quick, quick_key) = app.create_user("quick-tenant").await;
    for n in 1..=3 {
        session(&app, &format!("busy-{n}"), &busy, &busy_key, &rx.url("/busy")).await;
    }
    session(&app, "quick-1", &quick, &quick_key, &rx.url("/quick")).await;
    for n in 1..=3 {
        emit(&app, &format!("busy-{n}"), &busy);
    }
    // All three answers are in: their runs (five seconds of delay each) wait or run.
    eventually("the busy tenant's three answers", WAIT, async || {
        let n = attempts_of(&app, &busy).await;
        if n == 3 { Ok(()) } else { Err(n) }
    })
    .await;
    emit(&app, "quick-1", &quick);
    eventually("the quick tenant's run", WAIT, async || {
        let n = runs_recorded(&app, &quick).await;
        if n == 1 { Ok(()) } else { Err(n) }
    })
    .await;
    assert_eq!(runs_recorded(&app, &busy).await, 0, "the quick run waited for the busy tenant's delays");
    app.stop().await;
}
