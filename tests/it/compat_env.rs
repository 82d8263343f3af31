//! A team running the original WAREST keeps its `.env` (issue 17, item 1): the original's
//! `.env.example`, verbatim (`tests/fixtures/original-warest.env`), starts the gateway;
//! its empty `KEY=` lines mean the default, its other names for a setting are honoured,
//! its keys of features done differently here are named once at start, and an unknown
//! `WAREST_*` key gets one warning line. With `AUTOREPLY_ENABLED`, `ping` gets `pong`
//! (item 5), through the sandbox.

use std::time::Duration;

use crate::common;
use crate::common::eventually;
use crate::common::process::{Proc, warest};

use common::Kind;
use warest_sandbox::{Behaviour, Sandbox};

const ORIGINAL: &str = include_str!("../fixtures/original-warest.env");

/// A directory whose `.env` is the original's example plus `extra` lines.
fn dir_with_env(extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".env"), format!("{ORIGINAL}\n{extra}\n")).unwrap();
    dir
}

#[tokio::test]
async fn the_original_env_example_starts_the_gateway_and_names_what_it_ignores() {
    let dir = dir_with_env("WAREST_TYPO_SETTING=1\nWAREST_STORAGE_LOCAL_SIGNED_TTL_SEC=900");
    let log = dir.path().join("output.log");
    let mut cmd = warest(&[]);
    cmd.current_dir(dir.path());
    let proc = Proc::start(cmd, Some(&log)).await;
    // WAREST_ADMIN_APIKEY= is empty there: a key is generated, into ./data (the default).
    let file = dir.path().join("data").join("admin-api-key.txt");
    let key = eventually("the generated admin key", Duration::from_secs(30), async || {
        std::fs::read_to_string(&file).ok().map(|t| t.trim().to_string()).filter(|k| k.starts_with("wrst_"))
    })
    .await;
    let res = reqwest::Client::new()
        .get(format!("{}/api/v1/server/ping", proc.base()))
        .header("x-warest-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    drop(proc);

    let output = std::fs::read_to_string(&log).unwrap();
    let lines = |needle: &str| output.lines().filter(|l| l.contains(needle)).count();
    assert_eq!(lines("unknown settings, ignored (a typo?): WAREST_TYPO_SETTING"), 1, "{output}");
    assert_eq!(lines("WAREST_TYPO_SETTING"), 1, "one line names it: {output}");
    assert_eq!(lines("have no effect here"), 1, "{output}");
    let ignored = output.lines().find(|l| l.contains("have no effect here")).unwrap();
    for k in ["WAREST_CACHING_DRIVER", "WAREST_CACHE_LOCAL_SWEEP_MS", "WAREST_STORAGE_TEMP_TTL_SEC"] {
        assert!(ignored.contains(k), "{k} is named: {ignored}");
    }
    for k in ["AUTOREPLY_ENABLED", "WAREST_QUEUE_MAX_SIZE", "WAREST_STORAGE_LOCAL_SIGNED_TTL_SEC"] {
        assert!(!ignored.contains(k), "{k} is honoured, not ignored: {ignored}");
    }
}

#[tokio::test]
async fn the_original_env_values_are_the_ones_in_effect() {
    let dir = dir_with_env("WAREST_STORAGE_LOCAL_SIGNED_TTL_SEC=900\nWAREST_QUEUE_MAX_SIZE=0");
    let out = warest(&["config", "check"]).current_dir(dir.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let config = String::from_utf8_lossy(&out.stdout);
    // Set there: honoured. Empty there: our default. An alias: read as ours. 0 in the
    // original means no limit; here it is the largest limit.
    for expected in [
        "autoreply: AutoReply {\n        enabled: true,\n        ping_pong: true,",
        "max_retries: 0,",
        "admin_username: \"admin\",",
        "url_ttl: 900s,",
        "max_size: 10000000,",
        "download_received: true,",
    ] {
        assert!(config.contains(expected), "{expected:?} in:\n{config}");
    }
}

#[tokio::test]
async fn autoreply_answers_ping_with_pong_quoting_it() {
    const PHONE: &str = "15550007601";
    const CONTACT: &str = "15550007602";
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.create_contact(CONTACT, Behaviour::Silent).await.unwrap();
    let app = common::wa::sandbox_gateway(Kind::Sqlite, &sandbox, &[("AUTOREPLY_ENABLED", "true")]).await;
    let (_, key) = app.create_user("bot").await;
    common::wa::link_session(&app, &sandbox, &key, "main", PHONE).await;

    sandbox.contact_send(CONTACT, PHONE, "hello").await.unwrap();
    let ping = sandbox.contact_send(CONTACT, PHONE, "  PING ").await.unwrap();
    let timeout = Duration::from_secs(60);
    let pong = sandbox.wait_inbox(CONTACT, timeout, |e| e.text.as_deref() == Some("pong")).await.unwrap();
    let quoted = pong.message_json.unwrap_or_default();
    assert!(quoted.contains(&ping), "the pong quotes the ping {ping}: {quoted}");
    // Only the ping was answered: a second ping's pong comes next, nothing for "hello".
    sandbox.contact_send(CONTACT, PHONE, "ping").await.unwrap();
    eventually("the second pong", timeout, async || {
        sandbox.inbox(CONTACT).unwrap().iter().filter(|e| e.text.as_deref() == Some("pong")).count() == 2
    })
    .await;
    let inbox = sandbox.inbox(CONTACT).unwrap();
    assert!(inbox.iter().all(|e| e.text.as_deref() == Some("pong")), "{inbox:?}");
    app.stop().await;
}
