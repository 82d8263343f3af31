//! Send throughput: text messages per second from `POST /api/v1/messages/send/text` to a
//! virtual contact having decrypted them, with p50/p99 latency (request start → the
//! contact's inbox), for 1 and 10 sessions, against the in-process sandbox, pacing off.
//! Baseline in the same run: the same number of messages sent by plain whatsapp-rust
//! clients (the sandbox's `bot_builder` setup, in-memory store) to the same kind of
//! contact, one sequential sender per session like the gateway's queue.
//!
//! What the gateway does on top: HTTP + auth, the durable queue (a job row written and
//! claimed in SQLite per message), the anti-spam guards, and tracking the server's ack of
//! each send (pipelined: up to 32 unacked per session; WAREST_QUEUE_CONCURRENCY=1 keeps
//! the writes in FIFO order). The baseline's `send_message` returns when the stanza is
//! written, without an ack.
//!
//! Latency is request start → decrypted by the contact. Each session has one producer that
//! posts its messages one after another (the next once the previous is queued), so with
//! one session the gateway's rate is bounded by one request's round trip; the baseline's
//! senders call `send_message` one after another in the same way.
//!
//! `cargo bench --profile dev --bench send_throughput -- [messages] [sessions…]`
//! (default 500 1 10)
//!
//! `… -- sync [messages] [sessions]` measures what `WAREST_SQLITE_SYNCHRONOUS=full` costs
//! against `normal`.
//!
//! `… -- metrics [messages] [sessions]` measures what `/metrics` costs instead: the gateway
//! side only, with `WAREST_METRICS=false` and with metrics on and scraped every second, in
//! alternating child processes (off, on, off, on) so each run's peak RSS is its own.

// A bench drives the gateway like a client: plain HTTP clients and its own env.
#![allow(clippy::disallowed_methods, clippy::too_many_lines)]

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio_util::sync::CancellationToken;
use warest_sandbox::{Behaviour, CLIENT_VERSION, Sandbox};
use whatsapp_rust::Jid;
use whatsapp_rust::types::events::Event;

const CONTACT: &str = "15559990000";
const ADMIN_KEY: &str = "bench-admin-key-0000000000";
const LINK_TIMEOUT: Duration = Duration::from_secs(120);
/// Longest a whole run may take before the bench gives up (bounded, never hangs).
const RUN_TIMEOUT: Duration = Duration::from_secs(600);

fn phone(side: usize, i: usize) -> String {
    format!("1555{side}{:06}", i)
}

struct Figures {
    per_sec: f64,
    p50: Duration,
    p99: Duration,
}

fn figures(total: Duration, mut lat: Vec<Duration>) -> Figures {
    lat.sort();
    let n = lat.len().max(1);
    Figures {
        per_sec: lat.len() as f64 / total.as_secs_f64(),
        p50: lat.get(n / 2).copied().unwrap_or_default(),
        p99: lat.get((n * 99 / 100).min(n - 1)).copied().unwrap_or_default(),
    }
}

/// Records when each message id not in `ignore` first shows up in the contact's inbox,
/// until `want` have.
fn watch_arrivals(
    net: Arc<Sandbox>,
    ignore: HashSet<String>,
    want: usize,
) -> tokio::task::JoinHandle<HashMap<String, Instant>> {
    tokio::spawn(async move {
        let mut at: HashMap<String, Instant> = HashMap::new();
        let deadline = Instant::now() + RUN_TIMEOUT;
        while at.len() < want && Instant::now() < deadline {
            // Wakes on every new inbox entry.
            let fresh = |id: &String| !ignore.contains(id) && !at.contains_key(id);
            let _ = net.wait_inbox(CONTACT, Duration::from_secs(30), |e| fresh(&e.id)).await;
            let now = Instant::now();
            let new: Vec<String> =
                net.inbox(CONTACT).unwrap_or_default().into_iter().map(|e| e.id).filter(fresh).collect();
            for id in new {
                at.insert(id, now);
            }
        }
        at
    })
}

/// The ids already in the contact's inbox.
fn inbox_ids(net: &Sandbox) -> HashSet<String> {
    net.inbox(CONTACT).unwrap_or_default().into_iter().map(|e| e.id).collect()
}

fn latencies(sent: &HashMap<String, Instant>, arrived: &HashMap<String, Instant>) -> Vec<Duration> {
    sent.iter().filter_map(|(id, t0)| arrived.get(id).map(|t| t.duration_since(*t0))).collect()
}

async fn gateway(messages: usize, sessions: usize, metrics: bool, synchronous: &str) -> Figures {
    let net = Arc::new(Sandbox::start().await.expect("sandbox"));
    net.create_contact(CONTACT, Behaviour::Silent).await.expect("contact");
    let dir = tempfile::tempdir().expect("temp dir");
    let vars: HashMap<String, String> = [
        ("WAREST_DATA_DIR", dir.path().display().to_string()),
        ("WAREST_ADMIN_APIKEY", ADMIN_KEY.to_string()),
        ("WAREST_HOST", "127.0.0.1".to_string()),
        ("LOG_LEVEL", "error".to_string()),
        // The guards would refuse a benchmark's volume; they are not what is measured.
        ("RATE_LIMIT_MAX", "1000000".to_string()),
        ("QUOTA_MAX", "0".to_string()),
        ("SPAM_COOLDOWN_MS", "0".to_string()),
        ("WAREST_METRICS", metrics.to_string()),
        ("WAREST_WEBHOOK_ALLOW_PRIVATE", "all".to_string()),
        ("WAREST_SQLITE_SYNCHRONOUS", synchronous.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let mut config = warest::config::Config::from_map(&vars).expect("config");
    config.wa_url = Some(net.ws_url());
    config.wa_version = Some(CLIENT_VERSION);
    config.session_boot_jitter = Duration::ZERO;
    let state = warest::app::prepare(config).await.expect("gateway");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let stop = CancellationToken::new();
    let server = tokio::spawn(warest::app::serve(state.clone(), listener, stop.clone()));
    let registry = state.db.find_user_by_username("admin").await.unwrap().unwrap().id;
    for i in 0..sessions {
        let id = format!("s{i}");
        let meta = json!({});
        let spec = warest::sessions::manager::NewSessionSpec {
            id: &id,
            registry: &registry,
            label: None,
            auto_start: true,
            metadata: &meta,
        };
        let row = state.sessions.create(spec).await.expect("create");
        let h = state.sessions.handle(&row);
        h.start(None).await;
        let mut rx = h.watch();
        let snap = tokio::time::timeout(LINK_TIMEOUT, rx.wait_for(|s| s.qr.is_some()))
            .await
            .expect("qr")
            .expect("watch")
            .clone();
        net.link(&snap.qr.unwrap().code, &phone(1, i)).expect("link");
        tokio::time::timeout(LINK_TIMEOUT, rx.wait_for(|s| s.status.as_str() == "WORKING"))
            .await
            .expect("working")
            .expect("watch");
    }
    let http = reqwest::Client::new();
    if metrics {
        // Scraped as a Prometheus server would (every second), so its cost is in the figure.
        let (http, url, stop) = (http.clone(), format!("{base}/metrics"), stop.clone());
        tokio::spawn(async move {
            while !stop.is_cancelled() {
                let res = http.get(&url).send().await.expect("scrape");
                assert!(res.status().is_success(), "scrape answered {}", res.status());
                let _ = res.text().await;
                tokio::select! {
                    _ = stop.cancelled() => {}
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        });
    }
    // One warm-up send per session (prekey fetch, first session setup), not measured.
    for i in 0..sessions {
        post(&http, &base, &format!("s{i}"), "warm-up").await;
    }
    let warm = watch_arrivals(net.clone(), HashSet::new(), sessions).await.expect("warm-up");
    assert_eq!(warm.len(), sessions, "warm-up messages arrived");

    let arrivals = watch_arrivals(net.clone(), inbox_ids(&net), messages);
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let started = Instant::now();
    let mut producers = Vec::new();
    for s in 0..sessions {
        let (http, base, sent) = (http.clone(), base.clone(), sent.clone());
        producers.push(tokio::spawn(async move {
            for n in (s..messages).step_by(sessions) {
                let t0 = Instant::now();
                let id = post(&http, &base, &format!("s{s}"), &format!("gateway message {n} from s{s}")).await;
                sent.lock().unwrap().insert(id, t0);
            }
        }));
    }
    for p in producers {
        p.await.expect("producer");
    }
    let arrived = arrivals.await.expect("arrivals");
    let total = started.elapsed();
    let lat = latencies(&sent.lock().unwrap(), &arrived);
    assert_eq!(lat.len(), messages, "every message arrived");
    stop.cancel();
    let _ = server.await;
    state.sessions.shutdown_all().await;
    figures(total, lat)
}

async fn post(http: &reqwest::Client, base: &str, session: &str, text: &str) -> String {
    let res = http
        .post(format!("{base}/api/v1/messages/send/text"))
        .header("X-WAREST-API-KEY", ADMIN_KEY)
        .json(&json!({ "sessionId": session, "to": CONTACT, "message": text }))
        .send()
        .await
        .expect("POST");
    let status = res.status();
    let body: serde_json::Value = res.json().await.expect("JSON");
    assert!(status.is_success(), "send refused: {body}");
    body["results"][0]["messageId"].as_str().expect("messageId").to_string()
}

async fn baseline(messages: usize, sessions: usize) -> Figures {
    let net = Arc::new(Sandbox::start().await.expect("sandbox"));
    net.create_contact(CONTACT, Behaviour::Silent).await.expect("contact");
    let mut clients = Vec::new();
    for i in 0..sessions {
        let c = net.client("").await.expect("client");
        let qr = c.wait_for_qr(LINK_TIMEOUT).await.expect("qr");
        net.link(&qr, &phone(2, i)).expect("link");
        c.wait_for(LINK_TIMEOUT, |e| matches!(e, Event::Connected(_))).await.expect("connected");
        clients.push(c);
    }
    let to = Jid::pn(CONTACT);
    for c in &clients {
        c.client.send_text(to.clone(), "warm-up").await.expect("warm-up");
    }
    let warm = watch_arrivals(net.clone(), HashSet::new(), sessions).await.expect("warm-up");
    assert_eq!(warm.len(), sessions, "warm-up messages arrived");
    let arrivals = watch_arrivals(net.clone(), inbox_ids(&net), messages);
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let started = Instant::now();
    let mut senders = Vec::new();
    for (s, c) in clients.iter().enumerate() {
        let (client, sent, to) = (c.client.clone(), sent.clone(), to.clone());
        senders.push(tokio::spawn(async move {
            for n in (s..messages).step_by(sessions) {
                let t0 = Instant::now();
                let r = client.send_text(to.clone(), format!("baseline message {n} from c{s}")).await.expect("send");
                sent.lock().unwrap().insert(r.message_id, t0);
            }
        }));
    }
    for s in senders {
        s.await.expect("sender");
    }
    let arrived = arrivals.await.expect("arrivals");
    let total = started.elapsed();
    let lat = latencies(&sent.lock().unwrap(), &arrived);
    assert_eq!(lat.len(), messages, "every message arrived");
    for c in clients {
        c.shutdown().await;
    }
    figures(total, lat)
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, m)| m.trim().to_string()))
        .unwrap_or_else(|| "unknown CPU".into())
}

/// Peak resident memory of this process (VmHWM), in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(f64::NAN);
    kb / 1024.0
}

/// `metrics [messages] [sessions]`: off/on pairs, each run in its own process.
fn metrics_overhead(messages: usize, sessions: usize) {
    let exe = std::env::current_exe().expect("own executable");
    println!("send_throughput metrics overhead: {messages} messages, {sessions} session(s), {}", cpu_model());
    println!(
        "{:>4} | {:<7} | {:>9} | {:>10} | {:>10} | {:>13}",
        "run", "metrics", "msg/s", "p50 ms", "p99 ms", "peak RSS MiB"
    );
    for (run, on) in [false, true, false, true].into_iter().enumerate() {
        let out = std::process::Command::new(&exe)
            .args(["--metrics-child", if on { "on" } else { "off" }, &messages.to_string(), &sessions.to_string()])
            .output()
            .expect("child run");
        assert!(out.status.success(), "child failed: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().find_map(|l| l.strip_prefix("CHILD ")).expect("the child's figures");
        let f: Vec<&str> = line.split_whitespace().collect();
        println!(
            "{:>4} | {:<7} | {:>9} | {:>10} | {:>10} | {:>13}",
            run + 1,
            if on { "on" } else { "off" },
            f[0],
            f[1],
            f[2],
            f[3]
        );
    }
}

/// What `WAREST_SQLITE_SYNCHRONOUS=full` (every commit on disk before its ack) costs
/// against `normal`: the gateway side only, alternating full, normal, full, normal.
fn sync_cost(messages: usize, sessions: usize) {
    let profile = if cfg!(debug_assertions) { "dev (unoptimized)" } else { "optimized" };
    println!("send_throughput sync: {messages} messages, {sessions} session(s), {}, {profile} build", cpu_model());
    println!("{:>7} | {:>9} | {:>10} | {:>10}", "sqlite", "msg/s", "p50 ms", "p99 ms");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    for mode in ["full", "normal", "full", "normal"] {
        let f = rt.block_on(gateway(messages, sessions, false, mode));
        println!(
            "{:>7} | {:>9.1} | {:>10.1} | {:>10.1}",
            mode,
            f.per_sec,
            f.p50.as_secs_f64() * 1000.0,
            f.p99.as_secs_f64() * 1000.0
        );
    }
}

fn main() {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    if let Some(pos) = raw.iter().position(|a| a == "--metrics-child") {
        let on = raw.get(pos + 1).is_some_and(|v| v == "on");
        let n: Vec<usize> = raw[pos + 2..].iter().filter_map(|a| a.parse().ok()).collect();
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let f = rt.block_on(gateway(n.first().copied().unwrap_or(500), n.get(1).copied().unwrap_or(1), on, "full"));
        println!(
            "CHILD {:.1} {:.1} {:.1} {:.1}",
            f.per_sec,
            f.p50.as_secs_f64() * 1000.0,
            f.p99.as_secs_f64() * 1000.0,
            peak_rss_mib()
        );
        return;
    }
    if raw.iter().any(|a| a == "sync") {
        let n: Vec<usize> = raw.iter().filter_map(|a| a.parse().ok()).collect();
        sync_cost(n.first().copied().unwrap_or(500).clamp(1, 100_000), n.get(1).copied().unwrap_or(1).clamp(1, 100));
        return;
    }
    if raw.iter().any(|a| a == "metrics") {
        let n: Vec<usize> = raw.iter().filter_map(|a| a.parse().ok()).collect();
        metrics_overhead(
            n.first().copied().unwrap_or(500).clamp(1, 100_000),
            n.get(1).copied().unwrap_or(1).clamp(1, 100),
        );
        return;
    }
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let messages = args.first().copied().unwrap_or(500).clamp(1, 100_000);
    let sessions: Vec<usize> = if args.len() > 1 { args[1..].to_vec() } else { vec![1, 10] };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let profile = if cfg!(debug_assertions) { "dev (unoptimized)" } else { "optimized" };
    println!("send_throughput: {messages} messages, {cores} cores, {}, {profile} build", cpu_model());
    println!("{:>8} | {:<9} | {:>9} | {:>10} | {:>10}", "sessions", "side", "msg/s", "p50 ms", "p99 ms");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    for s in sessions.into_iter().map(|s| s.clamp(1, 100)) {
        let g = rt.block_on(gateway(messages, s, true, "full"));
        let b = rt.block_on(baseline(messages, s));
        for (side, f) in [("gateway", &g), ("baseline", &b)] {
            println!(
                "{:>8} | {:<9} | {:>9.1} | {:>10.1} | {:>10.1}",
                s,
                side,
                f.per_sec,
                f.p50.as_secs_f64() * 1000.0,
                f.p99.as_secs_f64() * 1000.0
            );
        }
        println!(
            "{:>8} | ratio     | {:>8.2}x | {:>9.2}x | {:>9.2}x",
            s,
            g.per_sec / b.per_sec,
            g.p50.as_secs_f64() / b.p50.as_secs_f64(),
            g.p99.as_secs_f64() / b.p99.as_secs_f64()
        );
    }
}
