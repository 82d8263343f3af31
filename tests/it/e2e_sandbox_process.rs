//! `warest sandbox` as real processes (sandbox builds only): the network's state survives
//! a restart on the same data dir, and with `--network-only` a gateway process can be
//! killed and restarted alone while the network keeps going. Every process is killed at
//! the end (also when an assertion fails), every wait is bounded, and every process binds
//! port 0 on 127.0.0.1 and reports the port it got.

use crate::common;

use std::path::Path;
use std::time::Duration;

use common::eventually;
use common::process::{Proc, temp_dir, warest};

use serde_json::{Value, json};

const KEY: &str = "sandbox-process-test-admin-key";
const WAIT: Duration = Duration::from_secs(60);

/// Starts `warest <args>` with a clean environment plus `env`; output goes to
/// `<data dir>/warest-<n>.log` for post-mortems.
async fn spawn(args: &[&str], data_dir: &Path, env: &[(&str, String)]) -> Proc {
    let n = std::fs::read_dir(data_dir).map(|d| d.count()).unwrap_or(0);
    let mut cmd = warest(args);
    cmd.env("WAREST_DATA_DIR", data_dir)
        .env("WAREST_ADMIN_APIKEY", KEY)
        .env("LOG_LEVEL", "info")
        .env("LOG_PRETTY", "false");
    for (k, v) in env {
        cmd.env(k, v);
    }
    Proc::start(cmd, Some(&data_dir.join(format!("warest-{n}.log")))).await
}

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    fn new(process: &Proc) -> Self {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(90)).build().unwrap();
        Api { http, base: process.base() }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> reqwest::Result<(u16, Value)> {
        let mut req = self.http.request(method, format!("{}{path}", self.base)).header("X-WAREST-API-Key", KEY);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await?;
        let status = res.status().as_u16();
        let text = res.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, None).await.unwrap()
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await.unwrap()
    }

    /// Polls `path` until it answers 200 (the process is up).
    async fn wait_up(&self, path: &str) {
        eventually(format!("{}{path} to come up", self.base), WAIT, async || {
            self.call(reqwest::Method::GET, path, None).await.map(|(s, _)| s == 200).unwrap_or(false)
        })
        .await;
    }

    /// Polls a session until it is WORKING; returns every status seen on the way.
    async fn wait_working(&self, session: &str) -> Vec<String> {
        let mut seen = Vec::new();
        eventually(format!("session {session} to be WORKING"), WAIT, async || {
            if let Ok((200, body)) = self.call(reqwest::Method::GET, &format!("/api/v1/session/{session}"), None).await
            {
                let status = body["results"][0]["status"].as_str().unwrap_or_default().to_string();
                if seen.last() != Some(&status) {
                    seen.push(status.clone());
                }
            }
            if seen.last().is_some_and(|s| s == "WORKING") { Ok(()) } else { Err(format!("statuses seen: {seen:?}")) }
        })
        .await;
        seen
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_sandbox_keeps_its_linked_session_linked() {
    let dir = temp_dir("sandbox-restart");
    let gateway = spawn(&["sandbox"], &dir, &[]).await;
    let api = Api::new(&gateway);
    api.wait_up("/api/v1/server/healthz").await;
    let (status, body) = api.get("/api/v1/session/create?sessionId=s1").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = api.post("/api/v1/sandbox/sessions/s1/link", json!({ "phone": "15550000100" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"][0]["status"], "WORKING");
    gateway.terminate().await;
    assert!(dir.join("sandbox/state.json").exists(), "the network saved its state");

    let gateway = spawn(&["sandbox"], &dir, &[]).await;
    let api = Api::new(&gateway);
    api.wait_up("/api/v1/server/healthz").await;
    let seen = api.wait_working("s1").await;
    assert!(!seen.iter().any(|s| s == "SCAN_QR_CODE"), "asked for a new QR: {seen:?}");
    let (_, body) = api.get("/api/v1/session/s1").await;
    assert_eq!(body["results"][0]["me"]["id"], "15550000100@s.whatsapp.net", "{body}");
    // The echo contact came back with the network instead of being created twice.
    let (_, body) = api.get("/api/v1/sandbox/contacts").await;
    assert_eq!(body["results"][0]["items"][0]["phone"], "15550000001", "{body}");
    assert_eq!(body["results"][0]["total"], 1, "{body}");
    drop(gateway);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_killed_and_restarted_alone_stays_linked_to_the_network() {
    let (net_dir, gw_dir) = (temp_dir("network"), temp_dir("gateway"));
    let network = spawn(&["sandbox", "--network-only", "--listen", "127.0.0.1:0"], &net_dir, &[]).await;
    let net_api = Api::new(&network);
    net_api.wait_up("/api/v1/sandbox/contacts").await;
    let (status, body) =
        net_api.post("/api/v1/sandbox/contacts", json!({ "phone": "15550000002", "behaviour": "silent" })).await;
    assert_eq!(status, 201, "{body}");
    // The network serves no gateway routes.
    assert_eq!(net_api.get("/api/v1/session/list").await.0, 404);

    let wa = [("WAREST_WA_URL", format!("ws://{}/ws/chat", network.addr()))];
    let gateway = spawn(&["serve"], &gw_dir, &wa).await;
    let gw_api = Api::new(&gateway);
    gw_api.wait_up("/api/v1/server/healthz").await;
    let (status, body) = gw_api.get("/api/v1/session/create?sessionId=s1").await;
    assert_eq!(status, 200, "{body}");
    let (status, qr) = gw_api.get("/api/v1/session/s1/qr?format=raw").await;
    assert_eq!(status, 200, "{qr}");
    let qr = qr.as_str().expect("a raw QR string").to_string();
    let (status, body) = net_api.post("/api/v1/sandbox/link", json!({ "qr": qr, "phone": "15550000100" })).await;
    assert_eq!(status, 200, "{body}");
    gw_api.wait_working("s1").await;

    gateway.kill9();
    // Sent while the gateway is down: the network queues it for the gateway's device.
    let (status, body) = net_api
        .post(
            "/api/v1/sandbox/contacts/15550000002/send",
            json!({ "to": "15550000100", "text": "while you were down" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let gateway = spawn(&["serve"], &gw_dir, &wa).await;
    let gw_api = Api::new(&gateway);
    gw_api.wait_up("/api/v1/server/healthz").await;
    let seen = gw_api.wait_working("s1").await;
    assert!(!seen.iter().any(|s| s == "SCAN_QR_CODE"), "asked for a new QR: {seen:?}");
    let (status, _) = gw_api.get("/api/v1/session/s1/qr?format=raw").await;
    assert_eq!(status, 404, "a linked session shows no QR");
    drop(gateway);
    drop(network);
    let _ = std::fs::remove_dir_all(&net_dir);
    let _ = std::fs::remove_dir_all(&gw_dir);
}
