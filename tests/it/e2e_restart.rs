//! `/api/v1/server/restart` and `/restart/scheduled` with the real binary: a restart
//! stops the process gracefully with exit code 75 (for its supervisor); a daily schedule
//! is kept in the database across that restart and then fires; with the sandbox, sends
//! already in flight finish before the process exits. Every process is killed at the end,
//! every wait is bounded; each child binds port 0 and reports the port it got.

use crate::common;

use std::path::Path;
use std::time::Duration;

use common::eventually;
use common::process::{Proc, temp_dir, warest};

use serde_json::{Value, json};

const KEY: &str = "restart-test-admin-key-0123456789";
const WAIT: Duration = Duration::from_secs(60);

/// Starts `warest <args>`; output goes to `<data dir>/warest-<n>.log` for post-mortems.
async fn spawn(args: &[&str], data_dir: &Path) -> Proc {
    let n = std::fs::read_dir(data_dir).map(|d| d.count()).unwrap_or(0);
    let mut cmd = warest(args);
    cmd.env("WAREST_DATA_DIR", data_dir)
        .env("WAREST_ADMIN_APIKEY", KEY)
        .env("GENERIC_TIMEZONE", "UTC")
        .env("LOG_LEVEL", "info")
        .env("LOG_PRETTY", "false");
    Proc::start(cmd, Some(&data_dir.join(format!("warest-{n}.log")))).await
}

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    fn new(gateway: &Proc) -> Self {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(90)).build().unwrap();
        Api { http, base: gateway.base() }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        key: &str,
        body: Option<Value>,
    ) -> reqwest::Result<(u16, Value)> {
        let mut req = self.http.request(method, format!("{}{path}", self.base)).header("X-WAREST-API-Key", key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await?;
        let status = res.status().as_u16();
        let text = res.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, KEY, None).await.unwrap()
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, KEY, Some(body)).await.unwrap()
    }

    async fn wait_up(&self) {
        eventually(format!("{} to be ready", self.base), WAIT, async || {
            self.call(reqwest::Method::GET, "/api/v1/server/ready", KEY, None)
                .await
                .map(|(s, _)| s == 200)
                .unwrap_or(false)
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_exits_75_and_a_daily_schedule_survives_it_and_fires() {
    let dir = temp_dir("restart");
    let mut first = spawn(&["serve"], &dir).await;
    let api = Api::new(&first);
    api.wait_up().await;

    // A daily time at least a minute after the next start (UTC, to the minute).
    let at = chrono::Utc::now() + chrono::Duration::seconds(120);
    let hhmm = at.format("%H:%M").to_string();
    let (status, body) =
        api.post("/api/v1/server/restart/scheduled", json!({ "schedule": hhmm, "timezone": "UTC" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"][0]["scheduledRestart"], hhmm.as_str(), "{body}");
    assert_eq!(body["results"][0]["timezone"], "UTC");

    // Bad input and non-admins are refused.
    let (status, res) = api.post("/api/v1/server/restart/scheduled", json!({ "schedule": "25:00" })).await;
    assert_eq!((status, res["results"][0]["field"].as_str()), (400, Some("schedule")), "{res}");
    let (status, res) =
        api.post("/api/v1/server/restart/scheduled", json!({ "schedule": "02:00", "timezone": "Mars/Base" })).await;
    assert_eq!((status, res["results"][0]["field"].as_str()), (400, Some("timezone")), "{res}");
    let (status, res) = api.post("/api/v1/server/restart", json!({ "delaySeconds": -1 })).await;
    assert_eq!((status, res["results"][0]["field"].as_str()), (400, Some("delaySeconds")), "{res}");
    let (status, body) = api.post("/api/v1/admin/users", json!({ "username": "tenant" })).await;
    assert_eq!(status, 201, "{body}");
    let tenant_key = body["results"][0]["apiKey"]["key"].as_str().unwrap().to_string();
    let (status, _) =
        api.call(reqwest::Method::POST, "/api/v1/server/restart", &tenant_key, Some(json!({}))).await.unwrap();
    assert_eq!(status, 403, "a tenant cannot restart everyone's gateway");

    // Restart: accepted, a second request while pending says so, then exit code 75.
    let (status, body) = api.post("/api/v1/server/restart", json!({ "delaySeconds": 1, "reason": "test" })).await;
    assert_eq!((status, body["code"].as_u64()), (200, Some(1000)), "{body}");
    assert_eq!(body["results"][0]["restartInitiated"], true);
    let (status, body) = api.post("/api/v1/server/restart", json!({})).await;
    assert_eq!((status, body["code"].as_u64()), (200, Some(1005)), "{body}");
    assert_eq!(body["results"][0]["restartInitiated"], false);
    assert_eq!(first.wait_exit(WAIT).await.code(), Some(75));

    // The supervisor starts it again: the schedule is still there, and it fires.
    let mut second = spawn(&["serve"], &dir).await;
    let api = Api::new(&second);
    api.wait_up().await;
    let (status, body) = api.get("/api/v1/server/restart/scheduled").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"][0]["scheduledRestart"], hhmm.as_str(), "{body}");
    assert_eq!(second.wait_exit(Duration::from_secs(200)).await.code(), Some(75), "the scheduled restart fired");

    // Cleared with "0": results null, and gone after the next start.
    let third = spawn(&["serve"], &dir).await;
    let api = Api::new(&third);
    api.wait_up().await;
    let (status, body) = api.post("/api/v1/server/restart/scheduled", json!({ "schedule": "0" })).await;
    assert_eq!((status, body["results"].clone()), (200, Value::Null), "{body}");
    let (_, body) = api.get("/api/v1/server/restart/scheduled").await;
    assert_eq!(body["results"], Value::Null, "{body}");
    drop(third);
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(feature = "sandbox")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_lets_sends_in_flight_finish_first() {
    use sqlx::Row;
    let dir = temp_dir("restart-drain");
    let mut gateway = spawn(&["sandbox"], &dir).await;
    let api = Api::new(&gateway);
    api.wait_up().await;
    let (status, body) = api.get("/api/v1/session/create?sessionId=s1").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = api.post("/api/v1/sandbox/sessions/s1/link", json!({ "phone": "15550000300" })).await;
    assert_eq!(status, 200, "{body}");
    for i in 0..20 {
        let (status, body) = api
            .post(
                "/api/v1/messages/send/text",
                json!({ "sessionId": "s1", "to": "15550000001", "message": format!("m{i}") }),
            )
            .await;
        assert!(status < 300, "{body}");
    }
    let (status, body) = api.post("/api/v1/server/restart", json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(gateway.wait_exit(WAIT).await.code(), Some(75));

    // Nothing was cut off mid-send: every job is either done or still waiting its turn.
    let url = format!("sqlite://{}", dir.join("warest.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM outbound_messages GROUP BY status")
        .fetch_all(&pool)
        .await
        .unwrap();
    let counts: Vec<(String, i64)> = rows.iter().map(|r| (r.get("status"), r.get("n"))).collect();
    assert!(!counts.iter().any(|(s, _)| s == "sending"), "a send was cut off: {counts:?}");
    assert_eq!(counts.iter().map(|(_, n)| n).sum::<i64>(), 20, "{counts:?}");
    pool.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}
