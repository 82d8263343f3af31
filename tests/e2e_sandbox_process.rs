//! `warest sandbox` as real processes (sandbox builds only): the network's state survives
//! a restart on the same data dir, and with `--network-only` a gateway process can be
//! killed and restarted alone while the network keeps going. Every process is killed at
//! the end (also when an assertion fails), every wait is bounded, and everything listens
//! on 127.0.0.1 ports picked free.

#![cfg(feature = "sandbox")]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::process::{Proc, free_port, temp_dir};

use serde_json::{Value, json};

const KEY: &str = "sandbox-process-test-admin-key";
const WAIT: Duration = Duration::from_secs(60);

/// Starts `warest <args>` with a clean environment plus `env`; output goes to
/// `<data dir>/warest-<n>.log` for post-mortems.
fn spawn(args: &[&str], data_dir: &Path, port: u16, env: &[(&str, String)]) -> Proc {
    let n = std::fs::read_dir(data_dir).map(|d| d.count()).unwrap_or(0);
    let log = std::fs::File::create(data_dir.join(format!("warest-{n}.log"))).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_warest"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("WAREST_DATA_DIR", data_dir)
        .env("WAREST_HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("WAREST_ADMIN_APIKEY", KEY)
        .env("LOG_LEVEL", "info")
        .env("LOG_PRETTY", "false")
        .stdin(Stdio::null())
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log));
    for (k, v) in env {
        cmd.env(k, v);
    }
    Proc(cmd.spawn().expect("spawn warest"))
}

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    fn new(port: u16) -> Self {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(90)).build().unwrap();
        Api { http, base: format!("http://127.0.0.1:{port}") }
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
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if let Ok((200, _)) = self.call(reqwest::Method::GET, path, None).await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{}{path} did not come up within {WAIT:?}", self.base);
    }

    /// Polls a session until it is WORKING; returns every status seen on the way.
    async fn wait_working(&self, session: &str) -> Vec<String> {
        let deadline = Instant::now() + WAIT;
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            if let Ok((200, body)) = self.call(reqwest::Method::GET, &format!("/api/v1/session/{session}"), None).await
            {
                let status = body["results"][0]["status"].as_str().unwrap_or_default().to_string();
                if seen.last() != Some(&status) {
                    seen.push(status.clone());
                }
                if status == "WORKING" {
                    return seen;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("session {session} not WORKING within {WAIT:?}; statuses seen: {seen:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_sandbox_keeps_its_linked_session_linked() {
    let dir = temp_dir("sandbox-restart");
    let port = free_port();
    let api = Api::new(port);

    let gateway = spawn(&["sandbox"], &dir, port, &[]);
    api.wait_up("/api/v1/server/healthz").await;
    let (status, body) = api.get("/api/v1/session/create?sessionId=s1").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = api.post("/api/v1/sandbox/sessions/s1/link", json!({ "phone": "15550000100" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"][0]["status"], "WORKING");
    gateway.terminate();
    assert!(dir.join("sandbox/state.json").exists(), "the network saved its state");

    let _gateway = spawn(&["sandbox"], &dir, port, &[]);
    api.wait_up("/api/v1/server/healthz").await;
    let seen = api.wait_working("s1").await;
    assert!(!seen.iter().any(|s| s == "SCAN_QR_CODE"), "asked for a new QR: {seen:?}");
    let (_, body) = api.get("/api/v1/session/s1").await;
    assert_eq!(body["results"][0]["me"]["id"], "15550000100@s.whatsapp.net", "{body}");
    // The echo contact came back with the network instead of being created twice.
    let (_, body) = api.get("/api/v1/sandbox/contacts").await;
    assert_eq!(body["results"][0]["items"][0]["phone"], "15550000001", "{body}");
    assert_eq!(body["results"][0]["total"], 1, "{body}");
    drop(_gateway);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_killed_and_restarted_alone_stays_linked_to_the_network() {
    let (net_dir, gw_dir) = (temp_dir("network"), temp_dir("gateway"));
    let (net_port, gw_port) = (free_port(), free_port());
    let listen = format!("127.0.0.1:{net_port}");
    let net_api = Api::new(net_port);
    let gw_api = Api::new(gw_port);

    let _network = spawn(&["sandbox", "--network-only", "--listen", &listen], &net_dir, free_port(), &[]);
    net_api.wait_up("/api/v1/sandbox/contacts").await;
    let (status, body) =
        net_api.post("/api/v1/sandbox/contacts", json!({ "phone": "15550000002", "behaviour": "silent" })).await;
    assert_eq!(status, 201, "{body}");
    // The network serves no gateway routes.
    assert_eq!(net_api.get("/api/v1/session/list").await.0, 404);

    let wa = [("WAREST_WA_URL", format!("ws://{listen}/ws/chat"))];
    let gateway = spawn(&["serve"], &gw_dir, gw_port, &wa);
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

    let _gateway = spawn(&["serve"], &gw_dir, gw_port, &wa);
    gw_api.wait_up("/api/v1/server/healthz").await;
    let seen = gw_api.wait_working("s1").await;
    assert!(!seen.iter().any(|s| s == "SCAN_QR_CODE"), "asked for a new QR: {seen:?}");
    let (status, _) = gw_api.get("/api/v1/session/s1/qr?format=raw").await;
    assert_eq!(status, 404, "a linked session shows no QR");
    drop(_gateway);
    drop(_network);
    let _ = std::fs::remove_dir_all(&net_dir);
    let _ = std::fs::remove_dir_all(&gw_dir);
}
