//! Gauges read at scrape time: from the database (bounded aggregate queries, each under a
//! time limit so a slow database cannot hang the scraper), from in-memory handles (open
//! breakers), and from `/proc/self` (memory, CPU, descriptors) and the tokio runtime.
//! A source that fails is left out of the scrape, and `warest_scrape_errors` says which.

use std::fmt::Write;
use std::future::Future;
use std::time::Duration;

use crate::app::AppState;
use crate::sessions::status::Status;
use crate::store::{StoreResult, now_ms};

/// Longest wait for one database read during a scrape.
const QUERY_LIMIT: Duration = Duration::from_secs(2);

const STATUSES: [Status; 5] = [Status::Stopped, Status::Starting, Status::ScanQrCode, Status::Working, Status::Failed];

pub(super) async fn render(state: &AppState, out: &mut String) {
    let mut failed: Vec<&str> = Vec::new();
    let db = &state.db;
    let now = now_ms();

    header(out, "warest_build_info", "gauge", "The running build (always 1)");
    let _ = writeln!(out, "warest_build_info{{version=\"{}\",database=\"{}\"}} 1", crate::VERSION, db.kind().as_str());

    match bounded(db.sessions_by_status()).await {
        Some(counts) => {
            header(out, "warest_sessions", "gauge", "Sessions by status");
            for st in STATUSES {
                let n = counts.iter().find(|(s, _)| s == st.as_str()).map_or(0, |(_, n)| *n);
                let _ = writeln!(out, "warest_sessions{{status=\"{}\"}} {n}", st.as_str());
            }
        }
        None => failed.push("sessions"),
    }
    let queue = [
        (
            "send_queue",
            bounded(db.outbound_backlog()).await,
            "Sends waiting or in flight",
            "Age of the oldest waiting send",
        ),
        (
            "webhook_outbox",
            bounded(db.outbox_backlog()).await,
            "Webhook deliveries not yet done",
            "Age of the oldest undelivered webhook event",
        ),
    ];
    for (name, backlog, depth_help, age_help) in queue {
        match backlog {
            Some(b) => {
                let depth = format!("warest_{name}_depth");
                header(out, &depth, "gauge", depth_help);
                let _ = writeln!(out, "{depth} {}", b.depth);
                let age = format!("warest_{name}_oldest_age_seconds");
                header(out, &age, "gauge", age_help);
                let _ = writeln!(out, "{age} {}", b.oldest_age_ms(now) as f64 / 1000.0);
            }
            None => failed.push(name),
        }
    }
    match bounded(db.dead_letter_count()).await {
        Some(n) => {
            header(out, "warest_webhook_dead_letters", "gauge", "Events in the dead-letter table");
            let _ = writeln!(out, "warest_webhook_dead_letters {n}");
        }
        None => failed.push("dead_letters"),
    }
    header(out, "warest_webhook_open_breakers", "gauge", "Webhook targets whose circuit breaker is open");
    let _ = writeln!(out, "warest_webhook_open_breakers {}", state.webhooks.open_breakers());
    header(out, "warest_sessions_running", "gauge", "Session actors running in this process");
    let _ = writeln!(out, "warest_sessions_running {}", state.sessions.active_count());

    process(out);

    header(out, "warest_scrape_errors", "gauge", "Sources this scrape could not read (1 each)");
    for source in ["sessions", "send_queue", "webhook_outbox", "dead_letters"] {
        let _ = writeln!(out, "warest_scrape_errors{{source=\"{source}\"}} {}", u8::from(failed.contains(&source)));
    }
}

/// One query under [`QUERY_LIMIT`]; `None` when it failed or took too long.
async fn bounded<T>(q: impl Future<Output = StoreResult<T>>) -> Option<T> {
    match tokio::time::timeout(QUERY_LIMIT, q).await {
        Ok(Ok(v)) => Some(v),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "metrics: a sampled query failed");
            None
        }
        Err(_) => {
            tracing::warn!(limit = ?QUERY_LIMIT, "metrics: a sampled query timed out");
            None
        }
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// `/proc/self` on Linux; elsewhere only the runtime's figures.
fn process(out: &mut String) {
    if let Some(rss) = proc_status_kb("VmRSS:") {
        header(out, "warest_process_resident_memory_bytes", "gauge", "Resident memory of the gateway process");
        let _ = writeln!(out, "warest_process_resident_memory_bytes {}", rss * 1024);
    }
    if let Some(ticks) = proc_cpu_ticks() {
        header(out, "warest_process_cpu_seconds_total", "counter", "CPU time (user and system) of the process");
        // /proc reports clock ticks in USER_HZ, which Linux fixes at 100 for user space.
        let _ = writeln!(out, "warest_process_cpu_seconds_total {}", ticks as f64 / 100.0);
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        header(out, "warest_process_open_fds", "gauge", "Open file descriptors");
        let _ = writeln!(out, "warest_process_open_fds {}", fds.count());
    }
    if let Ok(rt) = tokio::runtime::Handle::try_current() {
        header(out, "warest_tokio_tasks", "gauge", "Tasks alive on the tokio runtime");
        let _ = writeln!(out, "warest_tokio_tasks {}", rt.metrics().num_alive_tasks());
    }
}

fn proc_status_kb(field: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].trim().trim_end_matches("kB").trim().parse().ok()
}

/// utime + stime, fields 14 and 15 of `/proc/self/stat` (counted after the `(comm)`,
/// which may itself hold spaces).
fn proc_cpu_ticks() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the comm, field 3 (state) is index 0, so utime (14) is 11 and stime (15) is 12.
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}
