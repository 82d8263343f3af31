//! Durable webhook delivery against a local receiver: the signed contract of
//! ARCHITECTURE.md, retries with Retry-After, in-order delivery, 404/410 clearing the URL,
//! 401/403 cool-off and the dead-letter table. SQLite and Postgres.

use crate::common;
use crate::webhooks_support;

use std::time::Duration;

use common::{Kind, TestApp, eventually, kinds};
use serde_json::{Value, json};
use sqlx::Row;
use warest::sessions::events::StatusDetail;
use warest::sessions::status::{Status, Tag};
use warest::store::RowText;
use warest::store::sessions::NewSession;
use webhooks_support::Receiver;

const SECRET: &str = "wh-secret-123";
const WAIT: Duration = Duration::from_secs(20);

/// Fast retries for tests; everything else default.
const ENV: &[(&str, &str)] = &[
    ("WAREST_WEBHOOK_BACKOFF_MS", "20"),
    ("WAREST_WEBHOOK_JITTER_MS", "0"),
    ("WAREST_WEBHOOK_TIMEOUT_MS", "2000"),
    ("WAREST_WEBHOOK_BREAKER_THRESHOLD", "1000"),
];

struct Setup {
    app: TestApp,
    rx: Receiver,
    registry: String,
    key: String,
    username: &'static str,
    session: &'static str,
}

async fn setup(kind: Kind, env: &[(&str, &str)]) -> Setup {
    let rx = Receiver::start().await;
    let mut all: Vec<(&str, &str)> = ENV.to_vec();
    all.extend_from_slice(env);
    let app = TestApp::spawn_with(kind, &all).await;
    let username = "hookuser";
    let (registry, key) = app.create_user(username).await;
    let session = "hooks-1";
    app.state
        .db
        .create_session(NewSession {
            id: session,
            registry: &registry,
            label: Some("Support Bot"),
            status: "STOPPED",
            auto_start: false,
            metadata: &json!({}),
        })
        .await
        .unwrap();
    let (status, body) = app
        .post(
            &format!("/api/v1/session/{session}/config"),
            Some(&key),
            json!({ "webhookUrl": rx.url("/hook"), "webhookSecret": SECRET }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    Setup { app, rx, registry, key, username, session }
}

impl Setup {
    /// Publishes a session_status on the bus, as a session actor does.
    fn status(&self, tag: Tag) {
        self.app.state.events.session_status(
            self.session,
            &self.registry,
            tag,
            Status::Starting,
            StatusDetail::default(),
        );
    }

    async fn emit(&self, n: i64) {
        self.app
            .state
            .webhooks
            .emit(warest::webhooks::NewEvent {
                session_id: self.session,
                registry: &self.registry,
                event: "message_received",
                data: json!({ "n": n }),
                ts: n,
            })
            .await
            .unwrap();
    }

    /// Polls (bounded) until `sql` counts `want`.
    async fn wait_count(&self, sql: &str, want: i64) {
        eventually(format!("{sql} to count {want}"), WAIT, async || {
            let n = self.count(sql).await;
            if n == want { Ok(()) } else { Err(n) }
        })
        .await;
    }

    async fn count(&self, sql: &str) -> i64 {
        sqlx::query(sql).fetch_one(self.app.state.db.pool()).await.unwrap().try_get(0).unwrap()
    }
}

fn n_of(h: &webhooks_support::Hit) -> i64 {
    h.json()["data"]["n"].as_i64().unwrap()
}

#[tokio::test]
async fn session_status_is_delivered_signed_with_the_documented_headers() {
    for kind in kinds() {
        let s = setup(kind, &[]).await;
        s.status(Tag::Connecting);
        let hits = s.rx.wait_until("one delivery", WAIT, |h| !h.is_empty()).await;
        let hit = &hits[0];
        let body = hit.json();
        assert_eq!(body["event"], "session_status", "{kind:?}");
        assert_eq!(body["data"]["tags"], "connecting");
        assert_eq!(
            body["session"],
            json!({ "id": s.session, "label": "Support Bot", "registry": s.registry, "username": s.username })
        );
        assert!(body["ts"].is_i64());
        // The documented scheme, recomputed here: hex HMAC-SHA256 of the raw body, key = secret + username.
        let expected =
            warest::webhooks::sign::warest_header(warest::config::SignatureAlg::Sha256, SECRET, s.username, &hit.body);
        assert_eq!(hit.header("x-warest-signature"), expected);
        assert!(warest::webhooks::sign::verify_warest(
            &hit.header("x-warest-signature"),
            SECRET,
            s.username,
            &hit.body
        ));
        assert_eq!(hit.header("x-warest-signature-alg"), "HMAC-SHA256");
        assert_eq!(hit.header("x-warest-event"), "session_status");
        assert!(hit.header("x-warest-event-id").starts_with("evt_"));
        assert_eq!(hit.header("x-warest-event-id"), body["data"]["eventId"].as_str().unwrap());
        assert_eq!(hit.header("x-warest-session"), s.session);
        assert_eq!(hit.header("x-warest-registry"), s.registry);
        assert_eq!(hit.header("x-warest-label"), "Support Bot");
        assert_eq!(hit.header("x-warest-username"), s.username);
        assert_eq!(hit.header("x-warest-version"), warest::VERSION);
        assert_eq!(hit.header("x-warest-delivery-attempt"), "1");
        assert!(hit.header("x-warest-timestamp").parse::<i64>().unwrap() > 0);
        assert!(hit.headers.get("webhook-signature").is_none(), "standard signature is opt-in");
        s.app.stop().await;
    }
}

#[tokio::test]
async fn standard_webhooks_signature_and_sha512_are_selectable() {
    let s = setup(
        Kind::Sqlite,
        &[("WAREST_WEBHOOK_STANDARD_SIGNATURE", "true"), ("WAREST_WEBHOOK_SIGNATURE_ALG", "sha512")],
    )
    .await;
    s.emit(1).await;
    let hits = s.rx.wait_until("one delivery", WAIT, |h| !h.is_empty()).await;
    let hit = &hits[0];
    assert!(hit.header("x-warest-signature").starts_with("HMAC-SHA512="));
    assert!(warest::webhooks::sign::verify_warest(&hit.header("x-warest-signature"), SECRET, s.username, &hit.body));
    let id = hit.header("webhook-id");
    let ts: i64 = hit.header("webhook-timestamp").parse().unwrap();
    assert_eq!(id, hit.header("x-warest-event-id"));
    assert_eq!(hit.header("webhook-signature"), warest::webhooks::sign::standard_header(SECRET, &id, ts, &hit.body));
    s.app.stop().await;
}

#[tokio::test]
async fn webhook_retries_after_500_and_keeps_order() {
    for kind in kinds() {
        let s = setup(kind, &[]).await;
        // Two failures (the second with Retry-After: 1), then the receiver recovers.
        s.rx.script(500, None);
        s.rx.script(503, Some(("retry-after", "1")));
        let started = std::time::Instant::now();
        for n in 1..=5 {
            s.emit(n).await;
        }
        let hits =
            s.rx.wait_until("five deliveries", WAIT, |h| h.iter().filter(|x| x.status == 200).count() >= 5).await;
        assert!(started.elapsed() >= Duration::from_millis(900), "Retry-After: 1 was not honoured");
        let ok: Vec<i64> = s.rx.delivered().iter().map(n_of).collect();
        assert_eq!(ok, vec![1, 2, 3, 4, 5], "{kind:?}: in order, each once");
        // The first event was tried three times, the same event id each time; nothing overtook it.
        let firsts: Vec<_> = hits.iter().take(3).collect();
        assert!(firsts.iter().all(|h| n_of(h) == 1));
        assert_eq!(firsts.iter().map(|h| h.header("x-warest-delivery-attempt")).collect::<Vec<_>>(), ["1", "2", "3"]);
        assert!(firsts.windows(2).all(|w| w[0].header("x-warest-event-id") == w[1].header("x-warest-event-id")));
        // The log row of the last attempt is written after the receiver answered.
        s.wait_count("SELECT COUNT(*) FROM webhook_attempts", 7).await;
        s.app.stop().await;
    }
}

#[tokio::test]
async fn gone_target_has_its_url_cleared_and_secret_kept() {
    for kind in kinds() {
        let s = setup(kind, &[]).await;
        s.rx.set_default(410);
        s.emit(1).await;
        s.rx.wait_until("one attempt", WAIT, |h| !h.is_empty()).await;
        let row = eventually(format!("{kind:?}: the gone URL to be cleared"), WAIT, async || {
            let row = s.app.state.db.session(s.session).await.unwrap();
            if row.webhook_url.is_none() { Ok(row) } else { Err(row.webhook_url) }
        })
        .await;
        assert_eq!(row.webhook_secret.as_deref(), Some(SECRET));
        s.wait_count("SELECT COUNT(*) FROM webhook_dead_letters", 1).await;
        // Later events have no target any more: nothing else reaches the receiver.
        s.emit(2).await;
        assert_eq!(
            s.count("SELECT COUNT(*) FROM webhook_deliveries WHERE event_seq = (SELECT MAX(seq) FROM webhook_events)")
                .await,
            0
        );
        assert_eq!(s.rx.hits().len(), 1);
        s.app.stop().await;
    }
}

#[tokio::test]
async fn event_goes_to_dead_letters_after_the_last_retry_and_the_next_one_proceeds() {
    for kind in kinds() {
        let s = setup(kind, &[("WAREST_WEBHOOK_RETRIES", "2")]).await;
        for _ in 0..3 {
            s.rx.script(500, None);
        }
        s.emit(1).await;
        s.emit(2).await;
        let hits = s.rx.wait_until("event 2 delivered", WAIT, |h| h.iter().any(|x| x.status == 200)).await;
        assert_eq!(hits.iter().filter(|h| n_of(h) == 1).count(), 3, "{kind:?}: 1 try + 2 retries");
        assert_eq!(n_of(hits.last().unwrap()), 2);
        let row = sqlx::query(s.app.state.db.sql("SELECT event, attempts, last_status FROM webhook_dead_letters"))
            .fetch_one(s.app.state.db.pool())
            .await
            .unwrap();
        assert_eq!(row.text("event").unwrap(), "message_received");
        assert_eq!(row.try_get::<i64, _>("attempts").unwrap(), 3);
        assert_eq!(row.try_get::<Option<i64>, _>("last_status").unwrap(), Some(500));
        s.app.stop().await;
    }
}

#[tokio::test]
async fn unauthorized_answer_puts_the_target_in_cool_off() {
    let s = setup(Kind::Sqlite, &[("WAREST_WEBHOOK_AUTH_COOLOFF_MS", "60000")]).await;
    s.rx.set_default(401);
    s.emit(1).await;
    s.rx.wait_until("one attempt", WAIT, |h| !h.is_empty()).await;
    // The retry is scheduled at least the cool-off away, not the 20 ms backoff.
    eventually("the retry to be scheduled after the cool-off", WAIT, async || {
        let next_at = s.count("SELECT next_at FROM webhook_deliveries").await;
        if next_at > warest::store::now_ms() + 30_000 { Ok(()) } else { Err(format!("next attempt at {next_at}")) }
    })
    .await;
    assert_eq!(s.rx.hits().len(), 1);
    s.app.stop().await;
}

#[tokio::test]
async fn events_without_any_target_are_still_stored() {
    let s = setup(Kind::Sqlite, &[]).await;
    let (status, body) =
        s.app.post(&format!("/api/v1/session/{}/config", s.session), Some(&s.key), json!({ "webhookUrl": "" })).await;
    assert_eq!(status, 200, "{body}");
    s.emit(7).await;
    assert_eq!(s.count("SELECT COUNT(*) FROM webhook_events").await, 1);
    assert_eq!(s.count("SELECT COUNT(*) FROM webhook_deliveries").await, 0);
    let _: Value = json!(null);
    s.app.stop().await;
}

#[tokio::test]
async fn receiver_down_for_a_while_gets_every_event_later_in_order() {
    for kind in kinds() {
        let s = setup(
            kind,
            &[
                ("WAREST_WEBHOOK_RETRIES", "50"),
                ("WAREST_WEBHOOK_BREAKER_THRESHOLD", "3"),
                ("WAREST_WEBHOOK_BREAKER_COOLDOWN_MS", "200"),
            ],
        )
        .await;
        s.rx.set_default(500);
        for n in 1..=20 {
            s.emit(n).await;
        }
        // Down until the breaker has opened and been probed a few times.
        s.rx.wait_until("failed attempts", WAIT, |h| h.len() >= 5).await;
        let failed = s.rx.hits().len();
        s.rx.set_default(200);
        s.rx.wait_until("all twenty", WAIT, |h| h.iter().filter(|x| x.status == 200).count() >= 20).await;
        let ok: Vec<i64> = s.rx.delivered().iter().map(n_of).collect();
        assert_eq!(ok, (1..=20).collect::<Vec<_>>(), "{kind:?}");
        // While the breaker held the target, the queued events were not tried at all.
        assert!(s.rx.hits().iter().take(failed).all(|h| n_of(h) == 1));
        assert_eq!(s.count("SELECT COUNT(*) FROM webhook_dead_letters").await, 0);
        s.app.stop().await;
    }
}
