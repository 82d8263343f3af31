//! Durable webhook throughput: events per second from the outbox insert to a local
//! receiver's 200 (signed), with p50/p99 latency, on SQLite and (when
//! WAREST_TEST_POSTGRES_URL is set) Postgres. Baseline in the same run: a bare loop that
//! signs and POSTs the same bodies to the same receiver, with the same parallelism (one
//! loop per session, since the gateway keeps one delivery in flight per session and target).
//!
//! `cargo bench --bench webhook_throughput -- [events] [sessions]` (default 2000 8)

// A bench drives the gateway like a client: plain HTTP clients and its own env.
#![allow(clippy::disallowed_methods, clippy::too_many_lines)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use serde_json::json;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use warest::config::{Config, SignatureAlg};
use warest::sessions::events::EventBus;
use warest::store::sessions::NewSession;
use warest::store::users::NewUser;
use warest::testing::TestDb;
use warest::webhooks::{NewEvent, Webhooks, sign};

const SECRET: &str = "bench-secret";
const USER: &str = "benchuser";

#[derive(Clone, Default)]
struct Arrivals {
    at: Arc<Mutex<HashMap<String, Instant>>>,
    done: Arc<Notify>,
    want: Arc<Mutex<usize>>,
}

async fn receiver(arrivals: Arrivals) -> String {
    let app = axum::Router::new().fallback(move |headers: HeaderMap, body: axum::body::Bytes| {
        let a = arrivals.clone();
        async move {
            // The receiver checks the signature, as a real one would.
            let sig = headers.get("x-warest-signature").and_then(|v| v.to_str().ok()).unwrap_or("");
            if !sign::verify_warest(sig, SECRET, USER, &body) {
                return axum::http::StatusCode::UNAUTHORIZED;
            }
            let id = headers.get("x-warest-event-id").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
            let mut at = a.at.lock().unwrap();
            at.entry(id).or_insert_with(Instant::now);
            if at.len() >= *a.want.lock().unwrap() {
                a.done.notify_one();
            }
            axum::http::StatusCode::OK
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/hook")
}

struct Figures {
    per_sec: f64,
    p50: Duration,
    p99: Duration,
}

fn figures(total: Duration, n: usize, mut lat: Vec<Duration>) -> Figures {
    lat.sort();
    Figures {
        per_sec: n as f64 / total.as_secs_f64(),
        p50: lat[lat.len() / 2],
        p99: lat[(lat.len() * 99 / 100).min(lat.len() - 1)],
    }
}

async fn durable(t: TestDb, url: &str, arrivals: &Arrivals, events: usize, sessions: usize) -> Figures {
    let db = t.db.clone();
    db.create_user(NewUser { id: "ub", username: USER, password_hash: None, is_admin: false }).await.unwrap();
    for s in 0..sessions {
        let id = format!("s{s}");
        db.create_session(NewSession {
            id: &id,
            registry: "ub",
            label: None,
            status: "STOPPED",
            auto_start: false,
            metadata: &json!({}),
        })
        .await
        .unwrap();
        let patch = warest::store::sessions::ConfigPatch {
            webhook_url: Some(Some(url.to_string())),
            webhook_secret: Some(Some(SECRET.to_string())),
            ..Default::default()
        };
        db.update_session_config(warest::store::sessions::Scope::All, &id, patch).await.unwrap();
    }
    let vars: HashMap<String, String> =
        // The receiver is on loopback; the private-target guard is not what is measured.
        [("WAREST_DATA_DIR", "/tmp"), ("WAREST_WEBHOOK_ALLOW_PRIVATE", "all")].into_iter().map(|(k, v)| (k.into(), v.into())).collect();
    let cfg = Config::from_map(&vars).unwrap();
    let hooks = Webhooks::new(db.clone(), cfg.webhook, &EventBus::default());
    let stop = CancellationToken::new();
    let tasks = hooks.start(stop.clone());
    *arrivals.want.lock().unwrap() = events;
    arrivals.at.lock().unwrap().clear();

    let started = Instant::now();
    let inserted: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let mut producers = Vec::new();
    for s in 0..sessions {
        let (hooks, inserted) = (hooks.clone(), inserted.clone());
        producers.push(tokio::spawn(async move {
            let id = format!("s{s}");
            for n in (s..events).step_by(sessions) {
                let t0 = Instant::now();
                let ev = NewEvent {
                    session_id: &id,
                    registry: "ub",
                    event: "message_received",
                    data: json!({ "n": n, "text": "hello from the bench" }),
                    ts: n as i64,
                };
                let stored = hooks.emit(ev).await.unwrap();
                inserted.lock().unwrap().insert(stored.id, t0);
            }
        }));
    }
    for p in producers {
        p.await.unwrap();
    }
    let wait = arrivals.done.notified();
    if arrivals.at.lock().unwrap().len() < events {
        tokio::time::timeout(Duration::from_secs(600), wait).await.expect("all events delivered");
    }
    let at = arrivals.at.lock().unwrap().clone();
    let last = at.values().max().copied().unwrap();
    let lat: Vec<Duration> = {
        let ins = inserted.lock().unwrap();
        at.iter().filter_map(|(id, t1)| ins.get(id).map(|t0| t1.duration_since(*t0))).collect()
    };
    stop.cancel();
    for t in tasks {
        let _ = t.await;
    }
    t.cleanup().await;
    figures(last.duration_since(started), events, lat)
}

async fn baseline(url: &str, arrivals: &Arrivals, events: usize, sessions: usize) -> Figures {
    *arrivals.want.lock().unwrap() = events;
    arrivals.at.lock().unwrap().clear();
    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut loops = Vec::new();
    for s in 0..sessions {
        let (client, url) = (client.clone(), url.to_string());
        loops.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            for n in (s..events).step_by(sessions) {
                let t0 = Instant::now();
                let id = format!("evt_base_{n}");
                let body = json!({
                    "event": "message_received",
                    "data": { "n": n, "text": "hello from the bench", "sessionId": format!("s{s}"), "eventId": id },
                    "ts": n,
                    "session": { "id": format!("s{s}"), "label": null, "registry": "ub", "username": USER },
                })
                .to_string();
                let sig = sign::warest_header(SignatureAlg::Sha256, SECRET, USER, body.as_bytes());
                let res = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("x-warest-signature", sig)
                    .header("x-warest-event-id", &id)
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert!(res.status().is_success());
                lat.push(t0.elapsed());
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for l in loops {
        lat.extend(l.await.unwrap());
    }
    figures(started.elapsed(), events, lat)
}

fn line(name: &str, f: &Figures) {
    println!("{name:<28} {:>10.0} events/s   p50 {:>8.2} ms   p99 {:>8.2} ms", f.per_sec, ms(f.p50), ms(f.p99));
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let events = args.first().copied().unwrap_or(2000);
    let sessions = args.get(1).copied().unwrap_or(8);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let arrivals = Arrivals::default();
        let url = receiver(arrivals.clone()).await;
        println!("webhook throughput: {events} events over {sessions} sessions, signed HMAC-SHA256, local receiver\n");
        let base = baseline(&url, &arrivals, events, sessions).await;
        line("baseline (sign + POST loop)", &base);
        let sqlite = durable(TestDb::sqlite().await, &url, &arrivals, events, sessions).await;
        line("durable, SQLite", &sqlite);
        println!("{:<28} {:>10.2}x of baseline throughput", "", sqlite.per_sec / base.per_sec);
        if let Some(pg) = TestDb::postgres().await {
            let pg = durable(pg, &url, &arrivals, events, sessions).await;
            line("durable, Postgres", &pg);
            println!("{:<28} {:>10.2}x of baseline throughput", "", pg.per_sec / base.per_sec);
        } else {
            println!("durable, Postgres            skipped (WAREST_TEST_POSTGRES_URL not set)");
        }
    });
}
