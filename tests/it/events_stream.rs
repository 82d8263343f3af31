//! The live event stream (`GET /api/v1/events/stream`) under concurrency and over time:
//! every committed event exactly once and in `seq` order even when commits finish out of
//! `seq` order (Postgres), `Last-Event-ID` resumes with exactly the rest, a stream ends
//! when its key is revoked or its user disabled, a client that goes away is let go of, and
//! streams per key are capped.

use crate::common;

use std::time::Duration;

use common::{ADMIN_KEY, Kind, TestApp, eventually, kinds};
use serde_json::json;
use tokio::time::Instant;
use warest::store::sessions::NewSession;
use warest::webhooks::NewEvent;

const WAIT: Duration = Duration::from_secs(20);
/// How long a revoked key's or disabled user's stream may go on.
const REAUTH_BOUND: Duration = Duration::from_secs(10);

/// An open stream, read frame by frame.
struct Frames {
    res: reqwest::Response,
    buf: String,
}

impl Frames {
    async fn open(app: &TestApp, key: &str, last: Option<i64>) -> Frames {
        let mut req = app.req(reqwest::Method::GET, "/api/v1/events/stream", Some(key));
        if let Some(last) = last {
            req = req.header("Last-Event-ID", last.to_string());
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 200, "opening the stream");
        Frames { res, buf: String::new() }
    }

    /// The next event's id; `None` when the stream ended (or broke), `Err` when nothing
    /// came before `until`.
    async fn next_id(&mut self, until: Instant) -> Result<Option<i64>, ()> {
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let frame: String = self.buf.drain(..end + 2).collect();
                if let Some(id) = frame.lines().find_map(|l| l.strip_prefix("id:")) {
                    return Ok(Some(id.trim().parse().unwrap()));
                }
            }
            match tokio::time::timeout_at(until, self.res.chunk()).await {
                Err(_) => return Err(()),
                Ok(Ok(Some(chunk))) => self.buf.push_str(std::str::from_utf8(&chunk).unwrap()),
                Ok(Ok(None) | Err(_)) => return Ok(None),
            }
        }
    }

    /// Up to `n` ids, as many as arrive within `WAIT` (fewer if the stream stalls or ends).
    async fn ids(&mut self, n: usize) -> Vec<i64> {
        let until = Instant::now() + WAIT;
        let mut ids = Vec::new();
        while ids.len() < n {
            match self.next_id(until).await {
                Ok(Some(id)) => ids.push(id),
                _ => break,
            }
        }
        ids
    }

    /// Whether the server ends the stream within `bound` (events on the way are skipped).
    async fn ends_within(&mut self, bound: Duration) -> bool {
        let until = Instant::now() + bound;
        loop {
            match self.next_id(until).await {
                Ok(Some(_)) => {}
                Ok(None) => return true,
                Err(()) => return false,
            }
        }
    }
}

/// Opens a stream and lets it go: its status, and the body of a refusal.
async fn try_open(app: &TestApp, key: &str) -> (u16, serde_json::Value) {
    let res = app.req(reqwest::Method::GET, "/api/v1/events/stream", Some(key)).send().await.unwrap();
    match res.status().as_u16() {
        200 => (200, serde_json::Value::Null),
        s => (s, res.json().await.unwrap_or_default()),
    }
}

async fn session(app: &TestApp, id: &str, registry: &str) {
    let new = NewSession { id, registry, label: None, status: "STOPPED", auto_start: false, metadata: &json!({}) };
    app.state.db.create_session(new).await.unwrap();
}

fn event<'a>(session_id: &'a str, registry: &'a str, n: i64) -> NewEvent<'a> {
    NewEvent { session_id, registry, event: "message_received", data: json!({ "n": n }), ts: n }
}

/// The registry's stored event ids, in `seq` order: what a stream must have shown.
async fn table_ids(app: &TestApp, registry: &str) -> Vec<i64> {
    let f = warest::webhooks::ops::Filter { registry: Some(registry), ..Default::default() };
    app.state.webhooks.db.events_after(&f, 0, 100_000).await.unwrap().iter().map(|e| e.seq).collect()
}

/// A key's id and secret, made through the API by the user holding `key`.
async fn second_key(app: &TestApp, key: &str) -> (String, String) {
    let (s, b) = app.post("/api/v1/keys", Some(key), json!({ "name": "stream" })).await;
    assert_eq!(s, 201, "{b}");
    let r = &b["results"][0];
    (r["id"].as_str().unwrap().to_string(), r["key"].as_str().unwrap().to_string())
}

// Multi-threaded, so the server reads the stream while this test still holds a transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_shows_every_committed_event_in_seq_order_when_commits_race() {
    for kind in kinds() {
        let app = TestApp::spawn(kind).await;
        let (registry, key) = app.create_user("racer").await;
        session(&app, "race-a", &registry).await;
        session(&app, "race-b", &registry).await;
        let mut live = Frames::open(&app, &key, None).await;
        let hooks = app.state.webhooks.clone();

        // On a database server, a commit out of seq order for certain: the first seq is held
        // in an open transaction while later ones commit and are announced, until the end.
        let mut held = None;
        if kind != Kind::Sqlite {
            let mut tx = warest::webhooks::begin_write(&hooks.db).await.unwrap();
            let early = hooks.emit_in(&mut tx, event("race-a", &registry, 0)).await.unwrap();
            held = Some((tx, early));
            // A seq that never commits: a hole the stream must not wait on forever.
            let mut lost = warest::webhooks::begin_write(&hooks.db).await.unwrap();
            hooks.emit_in(&mut lost, event("race-a", &registry, 1)).await.unwrap();
            lost.rollback().await.unwrap();
        }
        // Two sessions' events from many writers at once.
        let writers: Vec<_> = (0..8)
            .map(|w| {
                let hooks = hooks.clone();
                let registry = registry.clone();
                tokio::spawn(async move {
                    for i in 0..25 {
                        let sid = if (w + i) % 2 == 0 { "race-a" } else { "race-b" };
                        hooks.emit(event(sid, &registry, 100 + w * 100 + i)).await.unwrap();
                    }
                })
            })
            .collect();
        for w in writers {
            w.await.unwrap();
        }
        if let Some((tx, early)) = held {
            tx.commit().await.unwrap();
            hooks.committed(std::slice::from_ref(&early));
        }
        let table = table_ids(&app, &registry).await;
        assert_eq!(table.len(), if kind == Kind::Sqlite { 200 } else { 201 });
        let seen = live.ids(table.len()).await;
        assert_eq!(seen, table, "{kind:?}: the live stream's ids against the table's");
        drop(live);

        // Resumed from an id in the middle: exactly the rest.
        let cut = table.len() / 3;
        let mut resumed = Frames::open(&app, &key, Some(table[cut])).await;
        assert_eq!(resumed.ids(table.len() - cut - 1).await, table[cut + 1..], "{kind:?}: resumed");
        app.stop().await;
    }
}

#[tokio::test]
async fn stream_ends_when_its_key_is_revoked_or_its_user_disabled() {
    for kind in kinds() {
        let app = TestApp::spawn(kind).await;
        let (_, key) = app.create_user("revokee").await;
        let (key_id, streaming) = second_key(&app, &key).await;
        let mut stream = Frames::open(&app, &streaming, None).await;
        let (s, b) = app.delete(&format!("/api/v1/keys/{key_id}"), Some(&key)).await;
        assert_eq!(s, 200, "{b}");
        assert!(stream.ends_within(REAUTH_BOUND).await, "{kind:?}: a revoked key's stream went on");

        let (user, key) = app.create_user("disablee").await;
        let mut stream = Frames::open(&app, &key, None).await;
        let (s, b) = app.post(&format!("/api/v1/admin/users/{user}/disable"), Some(ADMIN_KEY), json!({})).await;
        assert_eq!(s, 200, "{b}");
        assert!(stream.ends_within(REAUTH_BOUND).await, "{kind:?}: a disabled user's stream went on");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_stream_whose_client_went_away_is_let_go_of() {
    let app = TestApp::spawn(Kind::Sqlite).await;
    let (_, key) = app.create_user("leaver").await;
    let stream = Frames::open(&app, &key, None).await;
    assert_eq!(app.state.webhooks.stream_subscribers(), 1);
    drop(stream);
    // No event is emitted: the server must notice the disconnect by itself.
    eventually("the closed stream to be let go of", REAUTH_BOUND, async || {
        (app.state.webhooks.stream_subscribers(), app.state.webhooks.open_streams()) == (0, 0)
    })
    .await;
    app.stop().await;
}

#[tokio::test]
async fn streams_per_key_are_capped_with_a_code_naming_the_limit() {
    let app = TestApp::spawn_with(Kind::Sqlite, &[("WAREST_SSE_MAX_PER_KEY", "2")]).await;
    let (_, key) = app.create_user("hoarder").await;
    let first = Frames::open(&app, &key, None).await;
    let _second = Frames::open(&app, &key, None).await;
    let (s, b) = try_open(&app, &key).await;
    assert_eq!(s, 429, "{b}");
    assert_eq!(b["code"], 2403, "{b}");
    assert!(b["message"].as_str().unwrap().contains("WAREST_SSE_MAX_PER_KEY"), "{b}");
    // The cap is per key: the same user's other key still streams.
    let (_, other) = second_key(&app, &key).await;
    let _third = Frames::open(&app, &other, None).await;
    // A closed stream frees its place.
    drop(first);
    eventually("a place to free up", REAUTH_BOUND, async || try_open(&app, &key).await.0 == 200).await;
    app.stop().await;
}
