//! The admin key generated at first start goes where logs are not collected: printed only
//! to a terminal; otherwise (a service, a container, a pipe) written once to a 0600 file
//! in the data dir, whose path is logged (issue 16, item 10).

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use crate::common::eventually;
use crate::common::process::{Proc, warest};

#[tokio::test]
async fn without_a_terminal_the_generated_admin_key_goes_to_a_private_file_not_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("output.log");
    let data = dir.path().join("data");
    let mut cmd = warest(&[]);
    cmd.env("WAREST_DATA_DIR", &data).env("LOG_LEVEL", "info");
    let proc = Proc::start(cmd, Some(&log)).await;
    let file = data.join("admin-api-key.txt");
    let key = eventually("the key file", Duration::from_secs(30), async || {
        std::fs::read_to_string(&file).ok().map(|t| t.trim().to_string()).filter(|k| k.starts_with("wrst_"))
    })
    .await;
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    let res = reqwest::Client::new()
        .get(format!("{}/api/v1/server/ping", proc.base()))
        .header("x-warest-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the file holds the admin key");
    drop(proc);
    let output = std::fs::read_to_string(&log).unwrap();
    assert!(!output.contains(&key), "the key is in the collected output");
    assert!(output.contains("admin-api-key.txt"), "the output names the file: {output}");
}
