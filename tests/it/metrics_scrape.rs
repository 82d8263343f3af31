//! `/metrics` after a scripted run through the sandbox: a session linked, a text sent,
//! delivered and read, two inbound messages, a webhook attempt that fails and is retried
//! to success, an event that ends in the dead-letter table, a live stream open. Each
//! family is compared before and after. Counters and histograms are process-wide (other
//! tests in this binary add to them too), so they are checked to have moved by at least
//! what this run did; the gauges read from this gateway's database are checked exactly.

use crate::common;
use crate::e2e_send::{gateway, linked_session, wait_status};
use crate::webhooks_support::Receiver;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{ADMIN_KEY, Kind, TestApp, eventually};
use serde_json::json;
use warest_sandbox::{Behaviour, Sandbox};

const WAIT: Duration = Duration::from_secs(60);
const TOKEN: &str = "metrics-token-for-tests";
const PHONE: &str = "15550007001";
const CONTACT: &str = "15550007002";

/// One scrape: series (name and sorted labels) → value.
#[derive(Debug, Default)]
pub struct Scrape(pub BTreeMap<(String, Vec<(String, String)>), f64>);

impl Scrape {
    pub fn parse(text: &str) -> Scrape {
        let mut out = BTreeMap::new();
        for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
            let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("bad line {line:?}"));
            let value: f64 = match value {
                "+Inf" => f64::INFINITY,
                v => v.parse().unwrap_or_else(|_| panic!("bad value in {line:?}")),
            };
            let (name, labels) = match series.split_once('{') {
                None => (series.to_string(), Vec::new()),
                Some((name, rest)) => (name.to_string(), labels_of(rest.trim_end_matches('}'))),
            };
            assert!(out.insert((name, labels), value).is_none(), "series twice: {line}");
        }
        Scrape(out)
    }

    /// The sum over the series of `name` whose labels include `want`.
    pub fn sum(&self, name: &str, want: &[(&str, &str)]) -> f64 {
        self.0
            .iter()
            .filter(|((n, labels), _)| {
                n == name && want.iter().all(|(k, v)| labels.iter().any(|(lk, lv)| lk == k && lv == v))
            })
            .map(|(_, v)| v)
            .sum()
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.keys().any(|(n, _)| n == name)
    }
}

/// `a="x",b="y"` (values never hold `",` here: they are statuses, routes and outcomes).
fn labels_of(s: &str) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = s
        .split("\",")
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once("=\"").unwrap_or_else(|| panic!("bad labels {s:?}"));
            (k.to_string(), v.trim_end_matches('"').to_string())
        })
        .collect();
    v.sort();
    v
}

pub async fn scrape_text(app: &TestApp, token: Option<&str>) -> (u16, String) {
    let mut req = app.http.get(app.url("/metrics"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

pub async fn scrape(app: &TestApp) -> Scrape {
    let (status, text) = scrape_text(app, Some(TOKEN)).await;
    assert_eq!(status, 200, "{text}");
    Scrape::parse(&text)
}

/// A gateway on the sandbox with the metrics token and quick webhook retries, with session
/// `main` linked and its webhook pointed at `rx`.
pub async fn linked_gateway(sandbox: &Sandbox, rx: &Receiver, retries: &str) -> (TestApp, String) {
    let app = gateway(
        Kind::Sqlite,
        sandbox,
        &[("WAREST_METRICS_TOKEN", TOKEN), ("WAREST_WEBHOOK_BACKOFF_MS", "50"), ("WAREST_WEBHOOK_RETRIES", retries)],
    )
    .await;
    let (_, key) = app.create_user("metrics").await;
    linked_session(&app, sandbox, &key, "main", PHONE).await;
    let (status, body) =
        app.post("/api/v1/session/main/config", Some(&key), json!({ "webhookUrl": rx.url("/hook") })).await;
    assert_eq!(status, 200, "{body}");
    (app, key)
}

pub const METRICS_TOKEN: &str = TOKEN;

#[tokio::test]
async fn metrics_need_the_token() {
    let app = TestApp::spawn_with(Kind::Sqlite, &[("WAREST_METRICS_TOKEN", TOKEN)]).await;
    assert_eq!(scrape_text(&app, None).await.0, 401);
    assert_eq!(scrape_text(&app, Some("wrong-token")).await.0, 401);
    let (status, text) = scrape_text(&app, Some(TOKEN)).await;
    assert_eq!(status, 200);
    let s = Scrape::parse(&text);
    assert_eq!(s.sum("warest_build_info", &[("version", warest::VERSION)]), 1.0, "{text}");
    // An API key is not the metrics token.
    assert_eq!(scrape_text(&app, Some(ADMIN_KEY)).await.0, 401);
    app.stop().await;

    let off = TestApp::spawn_with(Kind::Sqlite, &[("WAREST_METRICS", "false")]).await;
    assert_eq!(scrape_text(&off, None).await.0, 404);
    off.stop().await;
}

async fn scrape_from(app: &TestApp, forwarded_for: Option<&str>) -> u16 {
    let mut req = app.http.get(app.url("/metrics"));
    if let Some(f) = forwarded_for {
        req = req.header("x-forwarded-for", f);
    }
    req.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn without_a_token_metrics_answer_loopback_or_the_allow_list_only() {
    // Defaults: a local scraper yes; what a reverse proxy on this host relays, no.
    let app = TestApp::spawn_with(Kind::Sqlite, &[]).await;
    assert_eq!(scrape_from(&app, None).await, 200);
    assert_eq!(scrape_from(&app, Some("203.0.113.5")).await, 403);
    app.stop().await;

    let trusted = TestApp::spawn_with(Kind::Sqlite, &[("WAREST_TRUSTED_PROXIES", "127.0.0.1")]).await;
    assert_eq!(scrape_from(&trusted, Some("203.0.113.5")).await, 403, "a remote client behind the proxy");
    trusted.stop().await;

    let allow = [("WAREST_TRUSTED_PROXIES", "127.0.0.1"), ("WAREST_METRICS_ALLOW", "203.0.113.0/24, 2001:db8::/32")];
    let listed = TestApp::spawn_with(Kind::Sqlite, &allow).await;
    assert_eq!(scrape_from(&listed, Some("203.0.113.5")).await, 200);
    assert_eq!(scrape_from(&listed, Some("2001:db8::7")).await, 200);
    assert_eq!(scrape_from(&listed, Some("198.51.100.1")).await, 403);
    assert_eq!(scrape_from(&listed, None).await, 403, "an allow-list replaces the loopback default");
    listed.stop().await;

    // Token and list together: both apply.
    let both = TestApp::spawn_with(Kind::Sqlite, &[("WAREST_METRICS_TOKEN", TOKEN), allow[0], allow[1]]).await;
    assert_eq!(scrape_text(&both, Some(TOKEN)).await.0, 403, "loopback is not on the list");
    let res = both.http.get(both.url("/metrics")).header("x-forwarded-for", "203.0.113.9").bearer_auth(TOKEN).send();
    assert_eq!(res.await.unwrap().status(), 200);
    let res = both.http.get(both.url("/metrics")).header("x-forwarded-for", "203.0.113.9").send();
    assert_eq!(res.await.unwrap().status(), 401);
    both.stop().await;
}

#[tokio::test]
async fn metrics_can_have_their_own_listener() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let listen = format!("127.0.0.1:{port}");
    let app = TestApp::spawn_with(Kind::Sqlite, &[("WAREST_METRICS_LISTEN", &listen)]).await;
    // Not on the API's listener any more…
    assert_eq!(scrape_text(&app, None).await.0, 404);
    // …but on its own (it starts with the API; the first answer may race its bind).
    let url = format!("http://{listen}/metrics");
    let text = eventually("the metrics listener", WAIT, async || match app.http.get(&url).send().await {
        Ok(r) if r.status() == 200 => Ok(r.text().await.unwrap()),
        Ok(r) => Err(r.status().to_string()),
        Err(e) => Err(e.to_string()),
    })
    .await;
    let s = Scrape::parse(&text);
    assert!(s.has("warest_sessions") && s.sum("warest_sessions", &[]) == 0.0, "{text}");
    app.stop().await;
}

#[tokio::test]
async fn metrics_families_move_through_a_scripted_sandbox_run() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.create_contact(CONTACT, Behaviour::Silent).await.unwrap();
    let rx = Receiver::start().await;
    let (app, key) = linked_gateway(&sandbox, &rx, "1").await;
    let before = scrape(&app).await;
    assert_eq!(before.sum("warest_sessions", &[("status", "WORKING")]), 1.0);
    assert_eq!(before.sum("warest_sessions", &[]), 1.0);

    // A send, delivered and then read by the contact.
    let (status, body) = app
        .post(
            "/api/v1/messages/send/text",
            Some(&key),
            json!({ "sessionId": "main", "to": format!("+{CONTACT}"), "message": "metrics hello" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let id = body["results"][0]["messageId"].as_str().unwrap().to_string();
    wait_status(&app, &key, &id, |s| s == "delivered").await;
    sandbox.contact_read(CONTACT, PHONE, &[&id]).await.unwrap();
    wait_status(&app, &key, &id, |s| s == "read").await;

    // Inbound: the first webhook attempt fails and its retry succeeds; then an event fails
    // both its attempts (one retry allowed) and is dead-lettered. Deliveries to one URL go
    // in order, so the scripted answers meet attempts in this order whatever the events are.
    let seen = rx.hits().len();
    rx.script(500, None);
    let first = sandbox.contact_send(CONTACT, PHONE, "first inbound").await.unwrap();
    rx.wait_until("the first inbound delivered", WAIT, |h| {
        h.iter().any(|x| x.status == 200 && x.json()["data"]["messageId"] == first.as_str())
    })
    .await;
    let failed_before = rx.hits()[seen..].iter().filter(|h| h.status == 500).count();
    assert_eq!(failed_before, 1);
    rx.script(500, None);
    rx.script(500, None);
    sandbox.contact_send(CONTACT, PHONE, "second inbound").await.unwrap();
    eventually("a dead letter", WAIT, async || {
        let s = scrape(&app).await;
        let n = s.sum("warest_webhook_dead_letters", &[]);
        if n == 1.0 { Ok(()) } else { Err(n) }
    })
    .await;

    // A live stream counts while it is open.
    let stream = app.req(reqwest::Method::GET, "/api/v1/events/stream", Some(ADMIN_KEY)).send().await.unwrap();
    assert_eq!(stream.status(), 200);

    let after = scrape(&app).await;
    let moved = |name: &str, labels: &[(&str, &str)]| after.sum(name, labels) - before.sum(name, labels);
    let at_least = |name: &str, labels: &[(&str, &str)], n: f64| {
        let d = moved(name, labels);
        assert!(d >= n, "{name}{labels:?} moved by {d}, expected at least {n}");
    };
    at_least("warest_sends_total", &[("stage", "accepted")], 1.0);
    at_least("warest_sends_total", &[("stage", "sent")], 1.0);
    at_least("warest_sends_total", &[("stage", "delivered")], 1.0);
    at_least("warest_sends_total", &[("stage", "read")], 1.0);
    at_least("warest_send_latency_seconds_count", &[], 1.0);
    at_least("warest_inbound_messages_total", &[], 2.0);
    at_least("warest_inbound_commit_seconds_count", &[], 1.0);
    at_least("warest_webhook_deliveries_total", &[("outcome", "retry")], 2.0);
    at_least("warest_webhook_deliveries_total", &[("outcome", "dead")], 1.0);
    at_least("warest_webhook_deliveries_total", &[("outcome", "delivered")], 2.0);
    at_least("warest_webhook_attempt_duration_seconds_count", &[], 4.0);
    at_least(
        "warest_http_requests_total",
        &[("route", "/api/v1/messages/send/text"), ("method", "POST"), ("status", "2xx")],
        1.0,
    );
    at_least("warest_http_request_duration_seconds_count", &[("route", "/api/v1/messages/{messageId}")], 2.0);
    assert!(after.sum("warest_sse_clients", &[]) >= 1.0);
    // The linking happened before the first scrape; the transition to WORKING is counted.
    assert!(after.sum("warest_session_transitions_total", &[("status", "WORKING"), ("reason", "open")]) >= 1.0);

    // This gateway's own gauges, exactly.
    assert_eq!(after.sum("warest_sessions", &[("status", "WORKING")]), 1.0);
    assert_eq!(after.sum("warest_webhook_dead_letters", &[]), 1.0);
    assert_eq!(after.sum("warest_send_queue_depth", &[]), 0.0);
    assert_eq!(after.sum("warest_scrape_errors", &[]), 0.0);
    assert!(after.sum("warest_process_resident_memory_bytes", &[]) > 1e6);
    assert!(after.sum("warest_process_open_fds", &[]) > 0.0);
    assert!(after.has("warest_webhook_outbox_oldest_age_seconds"));
    // No series carries a phone number or a message id.
    for (name, labels) in after.0.keys() {
        for (_, v) in labels {
            assert!(!v.contains(PHONE) && !v.contains(CONTACT) && !v.contains(&id), "{name} {labels:?}");
        }
    }
    drop(stream);
    eventually("the stream to be counted out", WAIT, async || {
        let n = scrape(&app).await.sum("warest_sse_clients", &[]);
        if n < after.sum("warest_sse_clients", &[]) { Ok(()) } else { Err(n) }
    })
    .await;

    // A logout through the API: counted by who did it, and the session is STOPPED.
    let (status, body) = app.get("/api/v1/session/logout?sessionId=main", Some(&key)).await;
    assert_eq!(status, 200, "{body}");
    let last = eventually("the session to be STOPPED", WAIT, async || {
        let s = scrape(&app).await;
        if s.sum("warest_sessions", &[("status", "STOPPED")]) == 1.0 { Ok(s) } else { Err(format!("{:?}", s.0.len())) }
    })
    .await;
    assert_eq!(last.sum("warest_sessions", &[("status", "WORKING")]), 0.0);
    let moved_since = |name: &str, labels: &[(&str, &str)]| last.sum(name, labels) - after.sum(name, labels);
    assert!(moved_since("warest_session_logouts_total", &[("by", "api")]) >= 1.0);
    assert!(moved_since("warest_session_transitions_total", &[("status", "STOPPED"), ("reason", "logged_out")]) >= 1.0);
    app.stop().await;
}
