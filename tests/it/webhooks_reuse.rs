//! A session id deleted by one tenant and created again by another: the new owner sees
//! nothing of the old owner's webhook traffic, not even a delivery that was in flight when
//! the session was deleted and is logged after it (issue 16, item 11). SQLite and Postgres.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use common::{TestApp, eventually, kinds};
use serde_json::json;
use tokio::sync::{Notify, Semaphore};
use warest::store::sessions::NewSession;

const WAIT: Duration = Duration::from_secs(20);

/// A receiver that holds every request until the test releases it.
#[derive(Clone)]
struct Held {
    arrived: Arc<Notify>,
    release: Arc<Semaphore>,
}

async fn held(State(h): State<Held>) -> &'static str {
    h.arrived.notify_one();
    let _ = h.release.acquire().await.map(|p| p.forget());
    "{}"
}

async fn start_held() -> (String, Held) {
    let h = Held { arrived: Arc::new(Notify::new()), release: Arc::new(Semaphore::new(0)) };
    let app = axum::Router::new().fallback(held).with_state(h.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, h)
}

fn session(registry: &str) -> NewSession<'_> {
    NewSession { id: "reused-1", registry, label: None, status: "STOPPED", auto_start: false, metadata: &NULL }
}

static NULL: serde_json::Value = serde_json::Value::Null;

#[tokio::test]
async fn a_reused_session_id_shows_its_new_owner_none_of_the_old_owners_deliveries() {
    for kind in kinds() {
        let (url, rx) = start_held().await;
        let app = TestApp::spawn_with(kind, &[("WAREST_WEBHOOK_RETRIES", "0")]).await;
        let (old_owner, old_key) = app.create_user("old-owner").await;
        let (new_owner, new_key) = app.create_user("new-owner").await;
        app.state.db.create_session(session(&old_owner)).await.unwrap();
        let (s, b) = app.post("/api/v1/session/reused-1/config", Some(&old_key), json!({ "webhookUrl": url })).await;
        assert_eq!(s, 200, "{b}");
        let ev = warest::webhooks::NewEvent {
            session_id: "reused-1",
            registry: &old_owner,
            event: "message_received",
            data: json!({ "secret": "old owner's" }),
            ts: 1,
        };
        app.state.webhooks.emit(ev).await.unwrap();
        tokio::time::timeout(WAIT, rx.arrived.notified()).await.expect("the delivery reaches the receiver");

        // Deleted while its delivery is in flight, then taken by another tenant.
        assert_eq!(app.delete("/api/v1/session/delete?sessionId=reused-1", Some(&old_key)).await.0, 200);
        app.state.db.create_session(session(&new_owner)).await.unwrap();
        rx.release.add_permits(1);
        let log = eventually(format!("{kind:?}: the attempt is logged"), WAIT, async || {
            let (_, all) = app.get("/api/v1/webhook/deliveries?sessionId=reused-1", Some(common::ADMIN_KEY)).await;
            if all["results"][0]["items"].as_array().is_some_and(|i| i.len() == 1) { Ok(all) } else { Err(all) }
        })
        .await;
        assert_eq!(log["results"][0]["items"][0]["status"], 200, "{log}");

        let (_, seen) = app.get("/api/v1/webhook/deliveries?sessionId=reused-1", Some(&new_key)).await;
        assert_eq!(seen["results"][0]["total"], 0, "{kind:?}: the new owner sees {seen}");
        let (_, seen) = app.get("/api/v1/webhook/deliveries", Some(&new_key)).await;
        assert_eq!(seen["results"][0]["total"], 0, "{kind:?}: unfiltered, the new owner sees {seen}");
        let (_, own) = app.get("/api/v1/webhook/deliveries", Some(&old_key)).await;
        assert_eq!(own["results"][0]["total"], 1, "{kind:?}: the old owner keeps its own log");
        app.stop().await;
    }
}
