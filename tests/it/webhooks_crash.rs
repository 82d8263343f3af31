//! At-least-once across a crash: 1,000 events are in the outbox, the real `warest` binary
//! starts delivering them, is killed with SIGKILL mid-burst, and a restarted binary
//! delivers the rest. Every event arrives; a duplicate carries the same event id; the
//! order of first deliveries is the outbox order.

use crate::common;
use crate::webhooks_support;

use std::collections::HashMap;
use std::time::Duration;

use common::process::{Proc, warest};

use serde_json::json;
use warest::config::{Config, Database};
use warest::sessions::events::EventBus;
use warest::store::Db;
use warest::store::sessions::NewSession;
use warest::store::users::NewUser;
use webhooks_support::Receiver;

const EVENTS: i64 = 1000;

/// The gateway delivers to the receiver on its own; the test never calls its API.
async fn spawn(dir: &std::path::Path, url: &str) -> Proc {
    let mut cmd = warest(&["serve"]);
    cmd.env("WAREST_DATA_DIR", dir)
        .env("WAREST_ADMIN_APIKEY", "crash-test-admin-key-0123456789")
        .env("LOG_LEVEL", "error")
        .env("WEBHOOK_DEFAULT_URL", url)
        .env("WEBHOOK_DEFAULT_SECRET", "crash-secret")
        .env("WAREST_WEBHOOK_TIMEOUT_MS", "1000")
        .env("WAREST_WEBHOOK_BACKOFF_MS", "50")
        // The receiver is on loopback and the tenant is no admin.
        .env("WAREST_WEBHOOK_ALLOW_PRIVATE", "all")
        .current_dir(dir);
    Proc::start(cmd, None).await
}

#[tokio::test]
async fn a_killed_gateway_delivers_every_event_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::start().await;
    // The burst: 1,000 events written to the outbox (as the normalizer would) before the
    // gateway runs, so the kill lands in the middle of their delivery.
    {
        let db = Db::connect(&Database::Sqlite { path: dir.path().join("warest.db") }, 2).await.unwrap();
        db.migrate().await.unwrap();
        db.create_user(NewUser { id: "u1", username: "crashuser", password_hash: None, is_admin: false })
            .await
            .unwrap();
        db.create_session(NewSession {
            id: "c1",
            registry: "u1",
            label: None,
            status: "STOPPED",
            auto_start: false,
            metadata: &json!({}),
        })
        .await
        .unwrap();
        let vars: HashMap<String, String> = [
            ("WAREST_DATA_DIR", dir.path().to_str().unwrap()),
            ("WEBHOOK_DEFAULT_URL", rx.url("/c").as_str()),
            ("WAREST_WEBHOOK_ALLOW_PRIVATE", "all"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let cfg = Config::from_map(&vars).unwrap();
        let hooks = warest::webhooks::Webhooks::new(db.clone(), cfg.webhook, &EventBus::default());
        for n in 0..EVENTS {
            let ev = warest::webhooks::NewEvent {
                session_id: "c1",
                registry: "u1",
                event: "message_received",
                data: json!({ "n": n }),
                ts: n,
            };
            hooks.emit(ev).await.unwrap();
        }
        db.close().await;
    }

    let gw = spawn(dir.path(), &rx.url("/c")).await;
    rx.wait_until("a third delivered", Duration::from_secs(60), |h| h.len() >= (EVENTS / 3) as usize).await;
    gw.kill9();
    let before = rx.hits().len();
    assert!(before < EVENTS as usize, "the kill came too late to test anything");

    let gw = spawn(dir.path(), &rx.url("/c")).await;
    let distinct = |h: &[webhooks_support::Hit]| {
        let mut ids: Vec<String> =
            h.iter().filter(|x| x.status == 200).map(|x| x.header("x-warest-event-id")).collect();
        ids.sort();
        ids.dedup();
        ids.len()
    };
    let hits = rx.wait_until("all 1,000", Duration::from_secs(120), |h| distinct(h) >= EVENTS as usize).await;
    gw.kill9();

    assert_eq!(distinct(&hits), EVENTS as usize);
    // Same id ⇒ same body: a duplicate is the same event, not a new one.
    let mut seen: HashMap<String, Vec<u8>> = HashMap::new();
    let mut order = Vec::new();
    for h in &hits {
        let id = h.header("x-warest-event-id");
        let n = h.json()["data"]["n"].as_i64().unwrap();
        if let Some(prev) = seen.get(&id) {
            assert_eq!(prev, &h.body.to_vec(), "duplicate with a different body");
        } else {
            seen.insert(id, h.body.to_vec());
            order.push(n);
        }
        assert!(warest::webhooks::sign::verify_warest(
            &h.header("x-warest-signature"),
            "crash-secret",
            "crashuser",
            &h.body
        ));
    }
    assert_eq!(order, (0..EVENTS).collect::<Vec<_>>(), "first deliveries follow the outbox order");
    eprintln!("delivered {} requests for {EVENTS} events ({} before the kill)", hits.len(), before);
}
