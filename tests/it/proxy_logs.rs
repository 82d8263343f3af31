//! Proxy credentials never reach the log or an API answer, checked on the real `warest
//! sandbox` binary at debug level: a session goes through a pool proxy with a password
//! (and works), another is given its own proxy with a wrong password (and fails, logged);
//! the child's whole output is then searched for both passwords.

use crate::common;
use crate::proxy_support::ProxyProc;

use std::time::Duration;

use common::eventually;
use common::process::{Proc, temp_dir, warest};
use serde_json::{Value, json};

const KEY: &str = "proxy-logs-test-admin-key-0123";
const WAIT: Duration = Duration::from_secs(60);
const POOL_PASS: &str = "pool-secret-7f3b91";
const WRONG_PASS: &str = "wrong-secret-c40d22";

async fn call(req: reqwest::RequestBuilder) -> (u16, Value) {
    let res = req.header("X-WAREST-API-Key", KEY).send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_passwords_never_appear_in_the_gateway_log_or_its_answers() {
    let Some(proxy) = ProxyProc::microsocks(Some(("log-user", POOL_PASS))).await else { return };
    let dir = temp_dir("proxy-logs");
    let log = dir.join("warest.log");
    let mut cmd = warest(&["sandbox"]);
    cmd.env("WAREST_DATA_DIR", &dir)
        .env("WAREST_ADMIN_APIKEY", KEY)
        .env("LOG_LEVEL", "debug")
        .env("LOG_PRETTY", "false")
        .env("WAREST_SESSION_QR_WAIT_SEC", "2")
        .env("WAREST_PROXY_URLS", proxy.url());
    let gateway = Proc::start(cmd, Some(&log)).await;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(90)).build().unwrap();
    let url = |p: &str| format!("{}{p}", gateway.base());
    eventually("the gateway to be up", WAIT, async || {
        http.get(url("/api/v1/server/healthz")).send().await.is_ok_and(|r| r.status() == 200)
    })
    .await;

    // Through the pool proxy: linked and working.
    let (status, body) = call(http.get(url("/api/v1/session/create?sessionId=s1"))).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) =
        call(http.post(url("/api/v1/sandbox/sessions/s1/link")).json(&json!({ "phone": "15551370001" }))).await;
    assert_eq!((status, body["results"][0]["status"].as_str()), (200, Some("WORKING")), "{body}");
    assert!(proxy.log_text().contains("connected to 127.0.0.1:"), "{}", proxy.log_text());

    // Its own proxy with a wrong password: refused, and said so.
    let wrong = format!("socks5://log-user:{WRONG_PASS}@127.0.0.1:{}", proxy.port);
    let req = http.get(url("/api/v1/session/create")).query(&[("sessionId", "s2"), ("proxy", wrong.as_str())]);
    let (status, body) = call(req).await;
    assert!(status == 200 || status == 202, "{body}");
    eventually("s2's lastError to say the proxy refused", WAIT, async || {
        let (_, body) = call(http.get(url("/api/v1/session/s2"))).await;
        body["results"][0]["lastError"].as_str().is_some_and(|e| e.contains("refused")).then_some(()).ok_or(body)
    })
    .await;

    let mut answers = String::new();
    for path in ["/api/v1/session/list", "/api/v1/session/s1", "/api/v1/session/s2", "/api/v1/server/proxies"] {
        let (status, body) = call(http.get(url(path))).await;
        assert_eq!(status, 200, "{path}: {body}");
        answers.push_str(&body.to_string());
    }
    assert!(answers.contains("log-user:***@"), "{answers}");
    gateway.terminate().await;

    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("proxy dial failed"), "the failure was logged (debug level): {} bytes", text.len());
    for secret in [POOL_PASS, WRONG_PASS] {
        assert!(!answers.contains(secret), "{secret} in an API answer");
        let hits: Vec<&str> = text.lines().filter(|l| l.contains(secret)).take(3).collect();
        assert!(hits.is_empty(), "{secret} in the gateway log: {hits:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
