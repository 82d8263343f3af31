//! The exposition and the alert rules against the real Prometheus tools (Debian's
//! `prometheus` package): `promtool check metrics` on a scrape of a working gateway,
//! `promtool check rules` and `promtool test rules` on `deploy/prometheus/`, and a real
//! Prometheus server scraping the gateway every second, queried over its HTTP API.

use crate::common;
use crate::metrics_scrape::{METRICS_TOKEN, linked_gateway, scrape_text};
use crate::webhooks_support::Receiver;

use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::eventually;
use warest::testing::require;
use warest_sandbox::Sandbox;

const WAIT: Duration = Duration::from_secs(60);

fn deploy(file: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/prometheus").join(file).display().to_string()
}

#[tokio::test]
async fn exposition_and_alert_rules_pass_promtool() {
    let Some(promtool) = require::tool("promtool") else { return };
    let sandbox = Sandbox::start().await.unwrap();
    let rx = Receiver::start().await;
    let (app, _) = linked_gateway(&sandbox, &rx, "1").await;
    // A request of every kind first, so the histograms and labelled counters exist.
    let _ = app.get("/api/v1/server/healthz", None).await;
    let (status, text) = scrape_text(&app, Some(METRICS_TOKEN)).await;
    assert_eq!(status, 200);

    let mut child = std::process::Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}\n--- exposition ---\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    for args in [vec!["check", "rules", &deploy("alerts.yml")], vec!["test", "rules", &deploy("alerts_test.yml")]] {
        let out = std::process::Command::new(&promtool).args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "promtool {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    app.stop().await;
}

#[test]
fn dashboard_queries_are_valid_promql() {
    let Some(promtool) = require::tool("promtool") else { return };
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/grafana/warest.json");
    let dash: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    // Each panel query as a recording rule: `promtool check rules` parses every expression.
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    let mut n = 0;
    for panel in dash["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            assert!(expr.contains("warest_"), "{expr}");
            rules
                .push_str(&format!("      - record: dashboard_query_{n}\n        expr: {}\n", serde_json::json!(expr)));
            n += 1;
        }
    }
    assert!(n >= 16, "{n} queries");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dashboard.yml");
    std::fs::write(&file, rules).unwrap();
    let out = std::process::Command::new(&promtool).arg("check").arg("rules").arg(&file).output().unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn a_real_prometheus_scrapes_the_sessions_gauge() {
    let Some(prometheus) = require::tool("prometheus") else { return };
    let sandbox = Sandbox::start().await.unwrap();
    let rx = Receiver::start().await;
    let (app, _) = linked_gateway(&sandbox, &rx, "1").await;

    // Prometheus needs a fixed port: take a free one from the kernel, then hand it over.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: warest\n    \
             authorization:\n      credentials: {METRICS_TOKEN}\n    static_configs:\n      - targets: ['{}']\n",
            app.addr
        ),
    )
    .unwrap();
    let _server = tokio::process::Command::new(prometheus)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();

    let url = format!("http://127.0.0.1:{port}/api/v1/query?query=warest_sessions");
    let http = reqwest::Client::new();
    let working = eventually("Prometheus to have scraped warest_sessions", WAIT, async || {
        let body: serde_json::Value = match http.get(&url).send().await {
            Ok(r) => r.json().await.map_err(|e| e.to_string())?,
            Err(e) => return Err(e.to_string()),
        };
        let series = body["data"]["result"].as_array().cloned().unwrap_or_default();
        series
            .iter()
            .find(|s| s["metric"]["status"] == "WORKING")
            .map(|s| s["value"][1].as_str().unwrap_or_default().to_string())
            .ok_or_else(|| body.to_string())
    })
    .await;
    assert_eq!(working, "1", "the linked session, as Prometheus stored it");
    // The scrape itself was healthy (`up` is Prometheus's own view of the target).
    let up: serde_json::Value = http
        .get(format!("http://127.0.0.1:{port}/api/v1/query?query=up{{job=\"warest\"}}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(up["data"]["result"][0]["value"][1], "1", "{up}");
    app.stop().await;
}
