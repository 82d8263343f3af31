//! Password sign-in under a burst (issue 16, item 4): attempts are counted before argon2
//! runs, argon2 runs at most `WAREST_LOGIN_MAX_CONCURRENT` at once, unknown users cost the
//! same verification, and the gateway's memory stays bounded.

use std::time::Duration;

use futures_util::future::join_all;
use serde_json::json;

use crate::common::process::{Proc, warest};
use crate::common::{ADMIN_PASSWORD, Kind, TestApp, envelope_code, eventually};

/// The burst the issue names.
const BURST: usize = 500;

fn wrong(user: &str) -> serde_json::Value {
    json!({ "username": user, "password": "wrong-password" })
}

async fn burst(base: &str, n: usize, user: &str) -> Vec<(u16, u64)> {
    let http = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let url = format!("{base}/api/auth/login");
    join_all((0..n).map(|_| {
        let req = http.post(&url).json(&wrong(user));
        async move {
            let res = req.send().await.expect("the gateway answers");
            let status = res.status().as_u16();
            let body: serde_json::Value = res.json().await.unwrap_or_default();
            (status, envelope_code(&body))
        }
    }))
    .await
}

#[tokio::test]
async fn wrong_password_logins_are_counted_before_argon2_runs() {
    // Ten failures allowed per window; fifty arrive together. Counting after verification
    // let every one of them reach argon2 (all 401).
    let app =
        TestApp::spawn_with(Kind::Sqlite, &[("RATE_LIMIT_MAX", "10"), ("WAREST_LOGIN_MAX_CONCURRENT", "64")]).await;
    let answers = burst(&format!("http://{}", app.addr), 50, "admin").await;
    let refused = answers.iter().filter(|a| a.0 == 401).count();
    assert!(refused <= 10, "{refused} attempts were verified, the window allows 10: {answers:?}");
    assert!(answers.iter().all(|a| *a == (401, 2200) || *a == (429, 2400)), "{answers:?}");
    // The right password is slowed down too: a password (unlike a key) can be guessed.
    let (status, _) =
        app.post("/api/auth/login", None, json!({ "username": "admin", "password": ADMIN_PASSWORD })).await;
    assert_eq!(status, 429);
    app.stop().await;
}

#[tokio::test]
async fn concurrent_wrong_logins_reach_argon2_at_most_the_configured_number_at_once() {
    let app =
        TestApp::spawn_with(Kind::Sqlite, &[("RATE_LIMIT_MAX", "100000"), ("WAREST_LOGIN_MAX_CONCURRENT", "4")]).await;
    let answers = burst(&format!("http://{}", app.addr), BURST, "admin").await;
    let gate = app.state.login_gate.clone();
    assert!(gate.high_water() <= 4, "{} verifications ran at once", gate.high_water());
    assert!(gate.high_water() >= 1 && gate.verifications() >= 1);
    assert!(answers.iter().all(|a| *a == (401, 2200) || *a == (429, 2402)), "{answers:?}");
    assert!(answers.iter().any(|a| a.0 == 429), "a full gate answers 429");
    assert_eq!(answers.iter().filter(|a| a.0 == 401).count() as u64, gate.verifications());

    // An unknown user spends one verification as well (against a dummy hash), so timing
    // does not tell which usernames exist.
    let before = gate.verifications();
    assert_eq!(app.post("/api/auth/login", None, wrong("nobody-here")).await.0, 401);
    assert_eq!(gate.verifications(), before + 1);
    app.stop().await;
}

#[tokio::test]
async fn a_burst_of_wrong_logins_keeps_the_gateways_memory_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = warest(&[]);
    cmd.env("WAREST_DATA_DIR", dir.path())
        .env("WAREST_ADMIN_APIKEY", "rss-test-admin-key-000000000000")
        .env("WAREST_AUTHADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("RATE_LIMIT_MAX", "100000")
        .env("LOG_LEVEL", "error");
    let proc = Proc::start(cmd, None).await;
    eventually("the gateway to be ready", Duration::from_secs(60), async || {
        reqwest::get(format!("{}/api/v1/server/ready", proc.base())).await.is_ok_and(|r| r.status().is_success())
    })
    .await;
    let before = proc.peak_rss_kib();
    let answers = burst(&proc.base(), BURST, "admin").await;
    assert!(answers.iter().all(|a| a.0 == 401 || a.0 == 429), "{answers:?}");
    let grown_mib = proc.peak_rss_kib().saturating_sub(before) / 1024;
    // argon2 takes 19 MiB per verification: 4 at once is ~76 MiB; unbounded, a burst of
    // 500 would take ~9.5 GiB.
    assert!(grown_mib < 256, "peak RSS grew by {grown_mib} MiB during {BURST} logins");
}
