//! Durability of the send queue: the real `warest` binary accepts 1,000 sends, is killed
//! with SIGKILL while draining them, and is started again on the same data. Every message
//! must reach the contact exactly once. Sandbox builds only (the binary must be able to
//! point its sessions at the in-process sandbox).
//!
//! `cargo test --all-features --test outbound_crash -- --nocapture` prints the figures.

use crate::common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::eventually;
use common::process::{Proc, warest};

use serde_json::{Value, json};
use warest_sandbox::{Behaviour, CLIENT_VERSION, Sandbox};

const KEY: &str = "crash-test-admin-key-0123456789";
const CONTACT: &str = "15550003001";
const PHONE: &str = "15550003002";
const SENDS: usize = 1000;
const TIMEOUT: Duration = Duration::from_secs(240);

async fn spawn(data: &std::path::Path, ws: &str) -> Proc {
    let (a, b, c) = CLIENT_VERSION;
    let mut cmd = warest(&["serve"]);
    cmd.env("WAREST_DATA_DIR", data)
        .env("WAREST_ADMIN_APIKEY", KEY)
        .env("WAREST_WA_URL", ws)
        .env("WAREST_WA_VERSION", format!("{a}.{b}.{c}"))
        .env("WAREST_SESSION_BOOT_JITTER_MS", "0")
        .env("RATE_LIMIT_MAX", "1000000")
        .env("WAREST_QUEUE_CONCURRENCY", "4")
        // 1,000 sends in one burst: the per-session quota would (rightly) refuse most of them.
        .env("QUOTA_MAX", "0")
        .env("LOG_LEVEL", "warn");
    Proc::start(cmd, None).await
}

async fn call(http: &reqwest::Client, method: reqwest::Method, url: String, body: Option<Value>) -> (u16, Value) {
    let mut req = http.request(method, url).header("X-WAREST-API-KEY", KEY);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Polls until the gateway answers and the session `main` reports `want` (bounded).
async fn wait_session(http: &reqwest::Client, g: &Proc, want: &str) {
    eventually(format!("session main to reach {want}"), TIMEOUT, async || {
        let res = http.get(format!("{}/api/v1/session/main", g.base())).header("X-WAREST-API-KEY", KEY).send().await;
        match res {
            Ok(res) => match res.json::<Value>().await {
                Ok(body) if body["results"][0]["status"] == want => Ok(()),
                Ok(body) => Err(body.to_string()),
                Err(e) => Err(e.to_string()),
            },
            Err(e) => Err(e.to_string()),
        }
    })
    .await;
}

async fn wait_ready(http: &reqwest::Client, g: &Proc) {
    eventually("the gateway to become ready", TIMEOUT, async || {
        http.get(format!("{}/api/v1/server/ready", g.base())).send().await.is_ok_and(|r| r.status().is_success())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_with_a_thousand_queued_sends_delivers_each_exactly_once() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.create_contact(CONTACT, Behaviour::Silent).await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let gw = spawn(data.path(), &sandbox.ws_url()).await;
    wait_ready(&http, &gw).await;

    let (status, body) =
        call(&http, reqwest::Method::GET, format!("{}/api/v1/session/create?sessionId=main", gw.base()), None).await;
    assert_eq!(status, 200, "{body}");
    sandbox.link(body["results"][0]["qrString"].as_str().unwrap(), PHONE).unwrap();
    wait_session(&http, &gw, "WORKING").await;

    // Queue 1,000 sends while the session is stopped, so they are all waiting at once.
    let (status, _) =
        call(&http, reqwest::Method::POST, format!("{}/api/v1/session/main/stop", gw.base()), Some(json!({}))).await;
    assert_eq!(status, 200);
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(16));
    let mut tasks = Vec::with_capacity(SENDS);
    for i in 0..SENDS {
        let (http, url, sem) = (http.clone(), format!("{}/api/v1/messages/send/text", gw.base()), sem.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = sem.acquire().await.unwrap();
            let body = json!({ "sessionId": "main", "to": CONTACT, "message": format!("m-{i:04}") });
            call(&http, reqwest::Method::POST, url, Some(body)).await
        }));
    }
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert_eq!(status, 200, "{body}");
    }

    // Start draining, then SIGKILL part-way through.
    let (status, _) =
        call(&http, reqwest::Method::POST, format!("{}/api/v1/session/main/start", gw.base()), Some(json!({}))).await;
    assert_eq!(status, 200);
    sandbox.wait_inbox(CONTACT, TIMEOUT, |e| e.text.as_deref() == Some("m-0050")).await.unwrap();
    drop(gw); // kill -9
    let at_kill = sandbox.inbox(CONTACT).unwrap().len();
    assert!(at_kill < SENDS, "the queue drained before the kill; the test proves nothing");

    // Same data dir: the session comes back from its stored credentials and the queue resumes.
    let restarted = Instant::now();
    let gw = spawn(data.path(), &sandbox.ws_url()).await;
    wait_ready(&http, &gw).await;
    eventually(format!("all {SENDS} sends to arrive"), TIMEOUT, async || {
        let n = sandbox.inbox(CONTACT).unwrap().len();
        if n >= SENDS { Ok(()) } else { Err(format!("{n} arrived")) }
    })
    .await;
    let drained_in = restarted.elapsed();
    // Anything still in flight would show up now as an extra message.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let inbox = sandbox.inbox(CONTACT).unwrap();
    let mut per_text: HashMap<String, usize> = HashMap::new();
    for e in &inbox {
        *per_text.entry(e.text.clone().unwrap_or_default()).or_default() += 1;
    }
    let twice: Vec<_> = per_text.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    for i in 0..SENDS {
        assert_eq!(per_text.get(&format!("m-{i:04}")), Some(&1), "m-{i:04} missing");
    }
    assert_eq!(inbox.len(), SENDS);

    // How many were cut off mid-send and went out again with their original id.
    let db = warest::store::Db::connect(&warest::config::Database::Sqlite { path: data.path().join("warest.db") }, 1)
        .await
        .unwrap();
    let row = sqlx::query("SELECT COUNT(*) AS n FROM outbound_messages WHERE attempts > 1")
        .fetch_one(db.pool())
        .await
        .unwrap();
    let resent: i64 = sqlx::Row::get(&row, "n");
    println!(
        "crash test: {SENDS} accepted; {at_kill} had arrived at kill -9; after restart the rest arrived in {:.1}s; \
         {resent} job(s) were re-sent with their original id; every text arrived exactly once",
        drained_in.as_secs_f64()
    );
    drop(gw);
}
