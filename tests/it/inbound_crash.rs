//! Nothing is acknowledged to WhatsApp before it is stored: a contact sends five messages,
//! the real `warest` binary aborts (a sandbox-only fail point) right before the commit
//! that would store the third — or right after it, before the ack — and is started again
//! on the same data. The sandbox server still holds what the gateway never acked and
//! redelivers it; afterwards every message is in the message store once, has one outbox
//! event, and reaches the webhook receiver under one event id. Sandbox builds only.

use crate::common;
use crate::webhooks_support;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use common::eventually;
use common::process::{Proc, warest};

use serde_json::Value;
use warest_sandbox::{Behaviour, CLIENT_VERSION, Sandbox};
use webhooks_support::{Hit, Receiver};

const KEY: &str = "inbound-crash-admin-key-0123456789";
const CONTACT: &str = "15550004001";
const PHONE: &str = "15550004002";
const MESSAGES: usize = 5;
/// The fail point aborts before storing this (1-based) new message.
const ABORT_AT: usize = 3;
const TIMEOUT: Duration = Duration::from_secs(120);

async fn spawn(data: &std::path::Path, ws: &str, hook: &str, abort: Option<String>) -> Proc {
    let (a, b, c) = CLIENT_VERSION;
    let mut cmd = warest(&["serve"]);
    cmd.env("WAREST_DATA_DIR", data)
        .env("WAREST_ADMIN_APIKEY", KEY)
        .env("WAREST_WA_URL", ws)
        .env("WAREST_WA_VERSION", format!("{a}.{b}.{c}"))
        .env("WAREST_SESSION_BOOT_JITTER_MS", "0")
        .env("WEBHOOK_DEFAULT_URL", hook)
        .env("WEBHOOK_DEFAULT_SECRET", "crash-secret")
        .env("WAREST_WEBHOOK_BACKOFF_MS", "50")
        .env("LOG_LEVEL", "warn");
    if let Some(spec) = abort {
        cmd.env("WAREST_TEST_INBOUND_ABORT", spec);
    }
    Proc::start(cmd, None).await
}

async fn wait_ready(http: &reqwest::Client, g: &Proc) {
    eventually("the gateway to become ready", TIMEOUT, async || {
        http.get(format!("{}/api/v1/server/ready", g.base())).send().await.is_ok_and(|r| r.status().is_success())
    })
    .await;
}

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

async fn count(db: &warest::store::Db, sql: &str) -> i64 {
    let row = sqlx::query(sql).fetch_one(db.pool()).await.unwrap();
    sqlx::Row::get(&row, "n")
}

async fn open_db(data: &std::path::Path) -> warest::store::Db {
    warest::store::Db::connect(&warest::config::Database::Sqlite { path: data.join("warest.db") }, 1).await.unwrap()
}

fn received(hits: &[Hit]) -> Vec<&Hit> {
    hits.iter().filter(|h| h.json()["event"] == "message_received").collect()
}

fn has_message(hits: &[Hit], id: &str) -> bool {
    received(hits).iter().any(|h| h.json()["data"]["messageId"] == id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_before_the_commit_loses_no_inbound_message() {
    crash_and_restart(Phase::Before).await;
}

/// The message is stored but never acked: WhatsApp redelivers it, the client replays it
/// from its pending-inbound buffer, and the replay must add nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_the_commit_duplicates_no_inbound_message() {
    crash_and_restart(Phase::After).await;
}

#[derive(Clone, Copy, Debug)]
enum Phase {
    Before,
    After,
}

async fn crash_and_restart(phase: Phase) {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.create_contact(CONTACT, Behaviour::Silent).await.unwrap();
    let rx = Receiver::start().await;
    let hook = rx.url("/in");
    let data = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let spec = match phase {
        Phase::Before => format!("before:{ABORT_AT}"),
        Phase::After => format!("after:{ABORT_AT}"),
    };
    let mut gw = spawn(data.path(), &sandbox.ws_url(), &hook, Some(spec)).await;
    wait_ready(&http, &gw).await;

    let res = http
        .get(format!("{}/api/v1/session/create?sessionId=main", gw.base()))
        .header("X-WAREST-API-KEY", KEY)
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    sandbox.link(body["results"][0]["qrString"].as_str().unwrap(), PHONE).unwrap();
    wait_session(&http, &gw, "WORKING").await;

    // The server acks the contact's sends whatever the gateway does, so all five go out
    // while the gateway stores, then dies on, the third.
    let mut ids = Vec::new();
    for i in 1..=MESSAGES {
        ids.push(sandbox.contact_send(CONTACT, PHONE, &format!("durable-{i}")).await.unwrap());
    }
    // Bounded: a fail point that never fires times out here.
    let status = gw.wait_exit(TIMEOUT).await;
    assert!(!status.success(), "the gateway should have aborted: {status:?}");

    // At the crash: the messages before the third are stored, the third only after the
    // commit, and its decrypted copy waits in the pending-inbound buffer either way.
    {
        let db = open_db(data.path()).await;
        let stored = count(&db, "SELECT COUNT(*) AS n FROM messages WHERE direction = 'in'").await;
        let want = match phase {
            Phase::Before => ABORT_AT - 1,
            Phase::After => ABORT_AT,
        };
        assert_eq!(stored, want as i64, "{phase:?}: messages stored at the abort");
        let pending = count(&db, "SELECT COUNT(*) AS n FROM wa_pending_inbound").await;
        assert!(pending >= 1, "{phase:?}: the message being committed must be buffered");
        db.close().await;
    }

    // Same data: the session comes back and the server redelivers what was never acked.
    let gw = spawn(data.path(), &sandbox.ws_url(), &hook, None).await;
    wait_ready(&http, &gw).await;
    rx.wait_until("every message at the receiver", TIMEOUT, |h| ids.iter().all(|id| has_message(h, id))).await;
    // One more message, sent after everything above: once it is stored, anything still
    // in flight from before (a replay, a redelivery) has been handled too.
    let sentinel = sandbox.contact_send(CONTACT, PHONE, "sentinel").await.unwrap();
    let hits = rx.wait_until("the sentinel", TIMEOUT, |h| has_message(h, &sentinel)).await;

    // The receiver: each message under exactly one event id (a retried delivery of the
    // same event would be allowed; a second event for the same message is not).
    let mut event_ids: HashMap<String, HashSet<String>> = HashMap::new();
    for h in received(&hits) {
        let id = h.json()["data"]["messageId"].as_str().unwrap_or_default().to_string();
        event_ids.entry(id).or_default().insert(h.header("x-warest-event-id"));
    }
    for (i, id) in ids.iter().chain([&sentinel]).enumerate() {
        assert_eq!(event_ids.get(id).map(HashSet::len), Some(1), "message {} ({id}): {event_ids:?}", i + 1);
    }
    assert_eq!(event_ids.len(), MESSAGES + 1);

    // The store: one row and one outbox event per message, and an empty buffer.
    let db = open_db(data.path()).await;
    eventually("the pending-inbound buffer to be cleared", TIMEOUT, async || {
        let n = count(&db, "SELECT COUNT(*) AS n FROM wa_pending_inbound").await;
        if n == 0 { Ok(()) } else { Err(format!("{n} rows")) }
    })
    .await;
    drop(gw);
    let rows = sqlx::query("SELECT id, content FROM messages WHERE direction = 'in' ORDER BY ts, id")
        .fetch_all(db.pool())
        .await
        .unwrap();
    let stored: HashSet<String> = rows.iter().map(|r| sqlx::Row::get::<String, _>(r, "id")).collect();
    assert_eq!(rows.len(), MESSAGES + 1);
    for id in ids.iter().chain([&sentinel]) {
        assert!(stored.contains(id), "{id} missing from the message store");
    }
    let events = sqlx::query("SELECT body FROM webhook_events WHERE event = 'message_received'")
        .fetch_all(db.pool())
        .await
        .unwrap();
    let mut per_message: HashMap<String, usize> = HashMap::new();
    for e in &events {
        let body: Value = serde_json::from_str(&sqlx::Row::get::<String, _>(e, "body")).unwrap();
        *per_message.entry(body["data"]["messageId"].as_str().unwrap_or_default().to_string()).or_default() += 1;
    }
    for id in ids.iter().chain([&sentinel]) {
        assert_eq!(per_message.get(id), Some(&1), "outbox events for {id}: {per_message:?}");
    }
    assert_eq!(events.len(), MESSAGES + 1);
    db.close().await;
}
