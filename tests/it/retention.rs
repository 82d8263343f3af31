//! The retention sweep on SQLite and Postgres: what is past `WAREST_RETENTION_DAYS` and no
//! longer needed goes (delivered events with their deliveries, attempt logs, action records
//! of gone events, finished send jobs, day-old idempotency keys); what is still needed stays
//! however old (events with a pending delivery or a dead letter, queued sends), and so does
//! everything recent.

use crate::common;

use common::{TestApp, kinds};
use warest::store::{Db, now_ms};
use warest::system::retention::{Swept, sweep};

const DAY: i64 = 24 * 3600 * 1000;

async fn exec(db: &Db, sql: &str) {
    sqlx::query(sql).execute(db.pool()).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn ids(db: &Db, sql: &str) -> Vec<String> {
    let mut v: Vec<String> = sqlx::query_scalar(sql).fetch_all(db.pool()).await.unwrap();
    v.sort();
    v
}

/// An event `id` created `age_days` ago, with one delivery in `state` (if any).
async fn event(db: &Db, seq: i64, id: &str, age_days: i64, delivery: Option<&str>) {
    let at = now_ms() - age_days * DAY;
    exec(
        db,
        &format!(
            "INSERT INTO webhook_events (seq, id, session_id, registry, username, event, body, created_at)
         VALUES ({seq}, '{id}', 's1', 'admin', 'admin', 'message_received', '{{}}', {at})"
        ),
    )
    .await;
    if let Some(state) = delivery {
        exec(db, &format!(
            "INSERT INTO webhook_deliveries (event_seq, session_id, target_kind, url, state, next_at, created_at, updated_at)
             VALUES ({seq}, 's1', 'primary', 'http://127.0.0.1:9/in', '{state}', {at}, {at}, {at})"
        ))
        .await;
    }
}

async fn job(db: &Db, id: &str, status: &str, age_days: i64) {
    let at = now_ms() - age_days * DAY;
    exec(db, &format!(
        "INSERT INTO outbound_messages (message_id, session_id, registry, to_jid, kind, payload, status, next_attempt_at, created_at, updated_at)
         VALUES ('{id}', 's1', 'admin', '1@s.whatsapp.net', 'text', '{{}}', '{status}', {at}, {at}, {at})"
    ))
    .await;
}

#[tokio::test]
async fn the_sweep_deletes_only_what_is_old_and_no_longer_needed() {
    for kind in kinds() {
        let app = TestApp::spawn(kind).await;
        let db = &app.state.db;
        // The seeded admin user: sessions belong to a registry (a user).
        let registry: String = sqlx::query_scalar("SELECT id FROM users LIMIT 1").fetch_one(db.pool()).await.unwrap();
        let t = now_ms();
        exec(db, &format!(
            "INSERT INTO sessions (id, registry, status, created_at, updated_at) VALUES ('s1', '{registry}', 'STOPPED', {t}, {t})"
        ))
        .await;

        event(db, 1, "old-delivered", 40, Some("delivered")).await;
        event(db, 2, "old-pending", 40, Some("pending")).await;
        event(db, 3, "old-dead", 40, Some("dead")).await;
        exec(db, &format!(
            "INSERT INTO webhook_dead_letters (id, delivery_id, event_seq, event_id, session_id, registry, event, url, attempts, created_at)
             VALUES ('dl1', 3, 3, 'old-dead', 's1', 'admin', 'message_received', 'http://127.0.0.1:9/in', 5, {})", t - 40 * DAY
        ))
        .await;
        event(db, 4, "recent", 2, Some("delivered")).await;
        for (id, age) in [(1, 40), (2, 2)] {
            exec(db, &format!(
                "INSERT INTO webhook_attempts (id, delivery_id, event_id, event, session_id, url, attempt, duration_ms, created_at)
                 VALUES ({id}, 1, 'e', 'message_received', 's1', 'http://127.0.0.1:9/in', 1, 5, {})", t - age * DAY
            ))
            .await;
        }
        for (event_id, age) in [("old-delivered", 40), ("old-pending", 40), ("recent", 2)] {
            exec(db, &format!(
                "INSERT INTO action_runs (event_id, target, path, session_id, created_at) VALUES ('{event_id}', 'primary', '0', 's1', {})",
                t - age * DAY
            ))
            .await;
        }
        job(db, "old-sent", "sent", 40).await;
        job(db, "old-failed", "failed", 40).await;
        job(db, "old-queued", "queued", 40).await;
        job(db, "recent-read", "read", 2).await;
        for (key, hours) in [("stale", 25), ("live", 1)] {
            exec(db, &format!(
                "INSERT INTO idempotency_keys (registry, idem_key, request_hash, response, created_at) VALUES ('{registry}', '{key}', 'h', '[]', {})",
                t - hours * 3600 * 1000
            ))
            .await;
        }

        // Retention off: only the expired idempotency key goes.
        let swept = sweep(db, 0, now_ms()).await.unwrap();
        assert_eq!(swept, Swept { idempotency_keys: 1, ..Swept::default() }, "{kind:?}");
        assert_eq!(ids(db, "SELECT id FROM webhook_events").await.len(), 4, "{kind:?}");

        let swept = sweep(db, 30, now_ms()).await.unwrap();
        assert_eq!(
            swept,
            Swept { events: 1, attempts: 1, action_runs: 1, send_jobs: 2, idempotency_keys: 0 },
            "{kind:?}"
        );
        assert_eq!(ids(db, "SELECT id FROM webhook_events").await, ["old-dead", "old-pending", "recent"], "{kind:?}");
        let deliveries: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE event_seq = 1")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(deliveries, 0, "{kind:?}: the swept event's delivery went with it");
        assert_eq!(ids(db, "SELECT id FROM webhook_dead_letters").await, ["dl1"], "{kind:?}");
        assert_eq!(ids(db, "SELECT event_id FROM action_runs").await, ["old-pending", "recent"], "{kind:?}");
        assert_eq!(
            ids(db, "SELECT message_id FROM outbound_messages").await,
            ["old-queued", "recent-read"],
            "{kind:?}"
        );
        assert_eq!(ids(db, "SELECT idem_key FROM idempotency_keys").await, ["live"], "{kind:?}");
        let attempts: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM webhook_attempts").fetch_one(db.pool()).await.unwrap();
        assert_eq!(attempts, 1, "{kind:?}");

        // A second sweep finds nothing more.
        assert_eq!(sweep(db, 30, now_ms()).await.unwrap(), Swept::default(), "{kind:?}");
        app.stop().await;
    }
}
