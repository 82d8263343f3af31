//! Idle connected sessions: memory per session, idle CPU, and time to bring every session
//! back after a restart — the gateway's sessions (actor + whatsapp-rust client + SQLite
//! device store) against the same number of plain whatsapp-rust clients (in-memory store)
//! as the baseline, in one run, on the same machine.
//!
//! `cargo bench --bench idle_sessions -- 100 500`
//!
//! Each side runs in a child process of its own, so one side's freed memory never hides
//! the other's. Both children also run the sandbox network in-process; its per-device
//! state (small: keys, queues) is in both figures alike.
//!
//! Restore time includes whatsapp-rust's up-to-10 s wait for an app-state key share at
//! login while the account has no push name; on the sandbox (which does not sync push
//! names) that is every login, on both sides alike. Against real WhatsApp it is only the
//! first login after pairing.

// A bench drives the gateway like a client: plain HTTP clients and its own env.
#![allow(clippy::disallowed_methods, clippy::too_many_lines)]

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::Semaphore;
use warest_sandbox::{CLIENT_VERSION, Sandbox};

const LINK_TIMEOUT: Duration = Duration::from_secs(180);
/// Steady state before measuring: background syncs after login have finished.
const SETTLE: Duration = Duration::from_secs(8);
/// Window over which idle CPU is measured.
const CPU_WINDOW: Duration = Duration::from_secs(20);
/// Pairings in flight at once.
const PAIR_PARALLEL: usize = 100;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    if args.first().map(String::as_str) == Some("--child") {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let n: usize = args[2].parse().expect("count");
        let out = match args[1].as_str() {
            "gateway" => rt.block_on(gateway(n)),
            _ => rt.block_on(baseline(n)),
        };
        println!("RESULT {out}");
        return;
    }
    let counts: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let counts = if counts.is_empty() { vec![100, 500] } else { counts };
    println!("idle_sessions: {} cores, {} MiB RAM", num_cores(), total_ram_mib());
    println!("{:>6} | {:<9} | {:>12} | {:>10} | {:>11}", "N", "side", "RssAnon/sess", "idle CPU %", "restore s");
    for n in counts {
        let g = child("gateway", n);
        let b = child("baseline", n);
        for (side, r) in [("gateway", &g), ("baseline", &b)] {
            println!(
                "{:>6} | {:<9} | {:>9.1} KiB | {:>10.2} | {:>11.2}",
                n,
                side,
                r["rss_kib_per_session"].as_f64().unwrap_or(f64::NAN),
                r["idle_cpu_percent"].as_f64().unwrap_or(f64::NAN),
                r["restore_secs"].as_f64().unwrap_or(f64::NAN)
            );
        }
        let ratio = |k: &str| g[k].as_f64().unwrap_or(f64::NAN) / b[k].as_f64().unwrap_or(f64::NAN);
        println!(
            "{:>6} | ratio     | {:>12.2}x | {:>9.2}x | {:>10.2}x",
            n,
            ratio("rss_kib_per_session"),
            ratio("idle_cpu_percent"),
            ratio("restore_secs")
        );
    }
}

fn child(side: &str, n: usize) -> Value {
    let exe = std::env::current_exe().expect("own path");
    let out = Command::new(exe).args(["--child", side, &n.to_string()]).output().expect("run child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().find_map(|l| l.strip_prefix("RESULT ")).unwrap_or_else(|| {
        panic!(
            "{side} {n} failed:\n{}",
            String::from_utf8_lossy(&out.stderr).lines().rev().take(20).collect::<Vec<_>>().join("\n")
        )
    });
    serde_json::from_str(line).expect("child JSON")
}

/// `RssAnon` of this process, in KiB (heap and anonymous mappings: what sessions cost).
fn rss_anon_kib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("RssAnon:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

/// CPU time (user + system) of this process so far.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest.split_whitespace().filter_map(|x| x.parse().ok()).collect();
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the state.
    let ticks = f.get(10).copied().unwrap_or(0) + f.get(11).copied().unwrap_or(0);
    Duration::from_secs_f64(ticks as f64 / 100.0)
}

async fn idle_cpu_percent() -> f64 {
    let t0 = cpu_time();
    let w0 = Instant::now();
    tokio::time::sleep(CPU_WINDOW).await;
    (cpu_time() - t0).as_secs_f64() / w0.elapsed().as_secs_f64() * 100.0
}

fn phone(i: usize) -> String {
    format!("1555{:07}", 1_000_000 + i)
}

async fn gateway(n: usize) -> Value {
    let net = Sandbox::start().await.expect("sandbox");
    let dir = tempfile::tempdir().expect("temp dir");
    let vars = std::collections::HashMap::from([
        ("WAREST_DATA_DIR".to_string(), dir.path().display().to_string()),
        ("WAREST_ADMIN_APIKEY".to_string(), "bench-admin-key-0000000000".to_string()),
        ("WAREST_DB_POOL_MAX".to_string(), "16".to_string()),
    ]);
    let mut config = warest::config::Config::from_map(&vars).expect("config");
    config.wa_url = Some(net.ws_url());
    config.wa_version = Some(CLIENT_VERSION);
    config.session_boot_jitter = Duration::ZERO;
    config.session_boot_concurrency = 64;
    let state = warest::app::prepare(config).await.expect("gateway");
    let registry = state.db.find_user_by_username("admin").await.unwrap().unwrap().id;
    let net = Arc::new(net);
    let before = rss_anon_kib();

    let sem = Arc::new(Semaphore::new(PAIR_PARALLEL));
    let mut tasks = Vec::new();
    for i in 0..n {
        let (state, net, registry, sem) = (state.clone(), net.clone(), registry.clone(), sem.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = sem.acquire().await.unwrap();
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
            net.link(&snap.qr.unwrap().code, &phone(i)).expect("link");
            tokio::time::timeout(LINK_TIMEOUT, rx.wait_for(|s| s.status.as_str() == "WORKING"))
                .await
                .expect("working")
                .expect("watch");
        }));
    }
    for t in tasks {
        t.await.expect("session task");
    }
    tokio::time::sleep(SETTLE).await;
    let per = (rss_anon_kib() - before) / n as f64;
    let cpu = idle_cpu_percent().await;

    // Restart: stop every client cleanly, then restore them all from the store.
    state.sessions.shutdown_all().await;
    let t0 = Instant::now();
    state
        .sessions
        .restore_all(warest::sessions::manager::BootOptions { concurrency: 64, max_jitter: Duration::ZERO })
        .await
        .expect("restore");
    for i in 0..n {
        let row = state.db.session(&format!("s{i}")).await.unwrap();
        let mut rx = state.sessions.handle(&row).watch();
        tokio::time::timeout(LINK_TIMEOUT, rx.wait_for(|s| s.status.as_str() == "WORKING"))
            .await
            .expect("restored")
            .expect("watch");
    }
    let restore = t0.elapsed().as_secs_f64();
    state.sessions.shutdown_all().await;
    json!({ "rss_kib_per_session": per, "idle_cpu_percent": cpu, "restore_secs": restore })
}

async fn baseline(n: usize) -> Value {
    let net = Arc::new(Sandbox::start().await.expect("sandbox"));
    let before = rss_anon_kib();
    let sem = Arc::new(Semaphore::new(PAIR_PARALLEL));
    let mut tasks = Vec::new();
    for i in 0..n {
        let (net, sem) = (net.clone(), sem.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = sem.acquire().await.unwrap();
            // An empty push name, like the gateway's sessions: a real phone sends it by
            // app-state sync, which the sandbox does not model, and without one
            // whatsapp-rust waits up to 10 s for a key share at every login. Same path on
            // both sides keeps the comparison fair.
            let c = net.client("").await.expect("client");
            let qr = c.wait_for_qr(LINK_TIMEOUT).await.expect("qr");
            net.link(&qr, &phone(i)).expect("link");
            c.wait_for(LINK_TIMEOUT, |e| matches!(e, whatsapp_rust::types::events::Event::Connected(_)))
                .await
                .expect("connected");
            c
        }));
    }
    let mut clients = Vec::new();
    for t in tasks {
        clients.push(t.await.expect("client task"));
    }
    tokio::time::sleep(SETTLE).await;
    let per = (rss_anon_kib() - before) / n as f64;
    let cpu = idle_cpu_percent().await;

    let t0 = Instant::now();
    let restarts = clients.into_iter().map(|c| async move {
        let c = c.restart().await.expect("restart");
        c.wait_for(LINK_TIMEOUT, |e| matches!(e, whatsapp_rust::types::events::Event::Connected(_)))
            .await
            .expect("reconnected");
        c
    });
    let clients = futures_util::future::join_all(restarts).await;
    let restore = t0.elapsed().as_secs_f64();
    for c in clients {
        c.shutdown().await;
    }
    json!({ "rss_kib_per_session": per, "idle_cpu_percent": cpu, "restore_secs": restore })
}

fn num_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn total_ram_mib() -> u64 {
    let m = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    m.lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .unwrap_or(0)
        / 1024
}
