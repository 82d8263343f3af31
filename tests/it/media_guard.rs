//! The media fetch's address guard is not bypassed through the environment: with
//! `HTTP_PROXY` (and friends) set, a URL fetch still connects to the address it checked and
//! pinned, not to a proxy that would resolve the name again (issue 16, item 11).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;

use crate::common::eventually;
use crate::common::process::{Proc, warest};

const KEY: &str = "media-guard-admin-key-0000000000";

/// Counts TCP connections (and answers each with a small body).
async fn counting_listener() -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let body = [7u8; 64];
                let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(&body).await;
            });
        }
    });
    (addr, hits)
}

#[tokio::test]
async fn media_fetches_ignore_proxy_variables() {
    let (trap, trapped) = counting_listener().await;
    let (origin, fetched) = counting_listener().await;
    let dir = tempfile::tempdir().unwrap();
    let proxy = format!("http://{trap}");
    let mut cmd = warest(&[]);
    cmd.env("WAREST_DATA_DIR", dir.path())
        .env("WAREST_ADMIN_APIKEY", KEY)
        // The origin is on loopback: let the guard pass it, so only the proxy question remains.
        .env("WAREST_ALLOW_PRIVATE_MEDIA_URLS", "true")
        .env("LOG_LEVEL", "error");
    for var in ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"] {
        cmd.env(var, &proxy);
    }
    let proc = Proc::start(cmd, None).await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    eventually("the gateway to be ready", Duration::from_secs(60), async || {
        http.get(format!("{}/api/v1/server/ready", proc.base())).send().await.is_ok_and(|r| r.status().is_success())
    })
    .await;
    let res = http
        .post(format!("{}/api/v1/misc/whatsapp/file-decrypt", proc.base()))
        .header("x-warest-api-key", KEY)
        .json(&json!({ "mediaKey": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "mimeType": "image/png",
                       "file": format!("http://{origin}/blob.enc") }))
        .send()
        .await
        .unwrap();
    // The blob is not real media: what matters is where the gateway connected.
    assert!(res.status().is_client_error(), "{}", res.status());
    assert_eq!(trapped.load(Ordering::SeqCst), 0, "the fetch went through the proxy");
    assert_eq!(fetched.load(Ordering::SeqCst), 1, "the fetch reached the pinned origin");
}
