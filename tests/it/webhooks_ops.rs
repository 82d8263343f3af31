//! Webhook operations: dead letters (list with filters, get, replay, delete; tenant
//! scoped), the delivery log, replay of a stored range, and the SSE stream resumed with
//! Last-Event-ID. SQLite and Postgres.

use crate::common;
use crate::webhooks_support;

use std::time::Duration;

use common::{TestApp, eventually, kinds};
use serde_json::json;
use warest::store::sessions::NewSession;
use webhooks_support::Receiver;

const WAIT: Duration = Duration::from_secs(20);

async fn emit(app: &TestApp, registry: &str, event: &str, n: i64) -> warest::webhooks::StoredEvent {
    let ev = warest::webhooks::NewEvent { session_id: "ops-1", registry, event, data: json!({ "n": n }), ts: n };
    app.state.webhooks.emit(ev).await.unwrap()
}

#[tokio::test]
async fn dead_letters_can_be_listed_replayed_and_deleted_by_their_tenant_only() {
    for kind in kinds() {
        let rx = Receiver::start().await;
        let app =
            TestApp::spawn_with(kind, &[("WAREST_WEBHOOK_RETRIES", "0"), ("WAREST_WEBHOOK_BACKOFF_MS", "10")]).await;
        let (registry, key) = app.create_user("opsuser").await;
        let (_, other) = app.create_user("opsother").await;
        app.state
            .db
            .create_session(NewSession {
                id: "ops-1",
                registry: &registry,
                label: None,
                status: "STOPPED",
                auto_start: false,
                metadata: &json!({}),
            })
            .await
            .unwrap();
        let (s, b) = app
            .post(
                "/api/v1/session/ops-1/config",
                Some(&key),
                json!({ "webhookUrl": rx.url("/o"), "webhookSecret": "x" }),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        rx.set_default(500);
        let first = emit(&app, &registry, "message_received", 1).await;
        emit(&app, &registry, "presence_update", 2).await;
        rx.wait_until("two attempts", WAIT, |h| h.len() >= 2).await;

        eventually(format!("{kind:?}: two dead letters"), Duration::from_secs(5), async || {
            let list = app.get("/api/v1/webhook/dlq?sessionId=ops-1", Some(&key)).await.1;
            if list["results"][0]["total"] == 2 { Ok(()) } else { Err(list) }
        })
        .await;
        let (_, filtered) = app.get("/api/v1/webhook/dlq?sessionId=ops-1&event=message_received", Some(&key)).await;
        assert_eq!(filtered["results"][0]["total"], 1);
        let dlq_id = filtered["results"][0]["items"][0]["id"].as_str().unwrap().to_string();
        assert_eq!(filtered["results"][0]["items"][0]["eventId"], first.id.as_str());
        let (_, none) = app.get("/api/v1/webhook/dlq?from=99999999999999", Some(&key)).await;
        assert_eq!(none["results"][0]["total"], 0);

        // Another tenant sees nothing of it.
        assert_eq!(app.get("/api/v1/webhook/dlq", Some(&other)).await.1["results"][0]["total"], 0);
        assert_eq!(app.get(&format!("/api/v1/webhook/dlq/{dlq_id}"), Some(&other)).await.0, 404);
        assert_eq!(app.post(&format!("/api/v1/webhook/dlq/{dlq_id}/replay"), Some(&other), json!({})).await.0, 404);

        // Replay: the same event (same id, same body) reaches the recovered receiver.
        rx.set_default(200);
        let (s, b) = app.post(&format!("/api/v1/webhook/dlq/{dlq_id}/replay"), Some(&key), json!({})).await;
        assert_eq!((s, b["results"][0]["queued"].as_i64()), (200, Some(1)), "{b}");
        let hits = rx.wait_until("the replay", WAIT, |h| h.iter().any(|x| x.status == 200)).await;
        let ok = hits.iter().find(|h| h.status == 200).unwrap();
        assert_eq!(ok.header("x-warest-event-id"), first.id);
        assert_eq!(ok.body, first.body.as_bytes());
        assert_eq!(app.get(&format!("/api/v1/webhook/dlq/{dlq_id}"), Some(&key)).await.0, 404);

        // Delete the other one.
        let (_, left) = app.get("/api/v1/webhook/dlq", Some(&key)).await;
        let other_id = left["results"][0]["items"][0]["id"].as_str().unwrap().to_string();
        assert_eq!(app.delete(&format!("/api/v1/webhook/dlq/{other_id}"), Some(&key)).await.0, 200);
        assert_eq!(app.get("/api/v1/webhook/dlq", Some(&key)).await.1["results"][0]["total"], 0);

        // The delivery log has every attempt: two 500s and the replayed 200.
        let (_, log) = app.get("/api/v1/webhook/deliveries?sessionId=ops-1", Some(&key)).await;
        let statuses: Vec<i64> =
            log["results"][0]["items"].as_array().unwrap().iter().map(|a| a["status"].as_i64().unwrap()).collect();
        assert_eq!(statuses.len(), 3, "{log}");
        assert_eq!(statuses.iter().filter(|s| **s == 500).count(), 2);
        assert_eq!(app.get("/api/v1/webhook/deliveries", Some(&other)).await.1["results"][0]["total"], 0);

        // Replay of a range: both stored events again, same ids.
        let (s, b) = app.post("/api/v1/webhook/replay", Some(&key), json!({ "sessionId": "ops-1" })).await;
        assert_eq!((s, b["results"][0]["queued"].as_i64()), (200, Some(2)), "{b}");
        rx.wait_until("the range", WAIT, |h| h.iter().filter(|x| x.status == 200).count() >= 3).await;
        let (s, _) = app.post("/api/v1/webhook/replay", Some(&other), json!({ "sessionId": "ops-1" })).await;
        assert_eq!(s, 404);
        let (s, b) = app.post("/api/v1/webhook/replay", Some(&key), json!({ "sessionId": "ops-1", "limit": 0 })).await;
        assert_eq!((s, b["results"][0]["field"].as_str()), (400, Some("limit")));
        app.stop().await;
    }
}

/// Reads SSE frames until `n` ids were seen (bounded); returns the ids.
async fn read_ids(res: &mut reqwest::Response, n: usize) -> Vec<i64> {
    let mut buf = String::new();
    let mut ids = Vec::new();
    while ids.len() < n {
        let chunk =
            tokio::time::timeout(WAIT, res.chunk()).await.expect("stream stalled").unwrap().expect("stream ended");
        buf.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            if let Some(id) = frame.lines().find_map(|l| l.strip_prefix("id:")) {
                ids.push(id.trim().parse().unwrap());
            }
        }
    }
    ids
}

#[tokio::test]
async fn event_stream_resumes_after_last_event_id_and_is_tenant_scoped() {
    for kind in kinds() {
        let app = TestApp::spawn(kind).await;
        let (registry, key) = app.create_user("streamer").await;
        let (other_reg, other) = app.create_user("stranger").await;
        for (id, reg) in [("ops-1", &registry), ("ops-2", &other_reg)] {
            app.state
                .db
                .create_session(NewSession {
                    id,
                    registry: reg,
                    label: None,
                    status: "STOPPED",
                    auto_start: false,
                    metadata: &json!({}),
                })
                .await
                .unwrap();
        }
        let e1 = emit(&app, &registry, "message_received", 1).await;
        let e2 = emit(&app, &registry, "message_received", 2).await;
        let e3 = emit(&app, &registry, "presence_update", 3).await;
        let mut res = app
            .req(reqwest::Method::GET, "/api/v1/events/stream", Some(&key))
            .header("Last-Event-ID", e1.seq.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(read_ids(&mut res, 2).await, vec![e2.seq, e3.seq], "{kind:?}: the backlog after Last-Event-ID");
        // Another tenant's event is not shown; the next own one is, live.
        let foreign = warest::webhooks::NewEvent {
            session_id: "ops-2",
            registry: &other_reg,
            event: "message_received",
            data: json!({}),
            ts: 4,
        };
        app.state.webhooks.emit(foreign).await.unwrap();
        let e5 = emit(&app, &registry, "message_received", 5).await;
        assert_eq!(read_ids(&mut res, 1).await, vec![e5.seq]);
        drop(res);

        // Filter by event.
        let mut res = app
            .req(reqwest::Method::GET, "/api/v1/events/stream?event=presence_update", Some(&key))
            .header("Last-Event-ID", "0")
            .send()
            .await
            .unwrap();
        assert_eq!(read_ids(&mut res, 1).await, vec![e3.seq]);
        drop(res);
        let (s, b) = common::call(
            app.req(reqwest::Method::GET, "/api/v1/events/stream", Some(&key)).header("Last-Event-ID", "abc"),
        )
        .await;
        assert_eq!((s, b["results"][0]["field"].as_str()), (400, Some("Last-Event-ID")));
        let _ = other;
        app.stop().await;
    }
}
