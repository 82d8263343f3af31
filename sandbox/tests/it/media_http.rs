//! The media host over plain HTTP on the sandbox's own port, as a client in another
//! process (the gateway with `WAREST_WA_URL`) reaches it.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use warest_sandbox::Sandbox;

/// Sends one raw HTTP/1.1 request and returns (status, body).
async fn exchange(addr: std::net::SocketAddr, head: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(head.as_bytes()).await.unwrap();
    tcp.write_all(body).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut out)).await.unwrap().unwrap();
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").expect("a response head") + 4;
    let status_line = String::from_utf8_lossy(&out[..split]).to_string();
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    (status, out[split..].to_vec())
}

#[tokio::test]
async fn uploads_and_downloads_over_plain_http() {
    let sandbox = Sandbox::start().await.unwrap();
    let addr = sandbox.addr();
    let blob: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();

    // The resume probe says "never seen", as for any fresh upload.
    let probe =
        "POST /mms/image/tok_1-A?auth=x&token=tok_1-A&resume=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n";
    assert_eq!(exchange(addr, probe, b"").await.0, 404);

    let head = format!(
        "POST /mms/image/tok_1-A?auth=x&token=tok_1-A HTTP/1.1\r\nHost: h\r\nContent-Length: {}\r\n\r\n",
        blob.len()
    );
    let (status, body) = exchange(addr, &head, &blob).await;
    assert_eq!(status, 200);
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(answer["direct_path"], "/v/t62.sandbox/tok_1-A");
    assert_eq!(answer["url"], "https://mmg.sandbox.invalid/v/t62.sandbox/tok_1-A");

    let (status, body) = exchange(addr, "GET /v/t62.sandbox/tok_1-A HTTP/1.1\r\nHost: h\r\n\r\n", b"").await;
    assert_eq!(status, 200);
    assert_eq!(body, blob);
    // The in-process client sees the same store.
    let req = wacore::net::HttpRequest::get("https://mmg.sandbox.invalid/v/t62.sandbox/tok_1-A");
    let res = wacore::net::HttpClient::execute(&sandbox.http_client(), req).await.unwrap();
    assert_eq!(res.body, blob);

    let (status, _) = exchange(addr, "GET /v/t62.sandbox/unknown HTTP/1.1\r\nHost: h\r\n\r\n", b"").await;
    assert_eq!(status, 404);
    // Bodies must say their length; oversized ones are refused before being read.
    let chunked = "POST /mms/image/t2 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    assert_eq!(exchange(addr, chunked, b"").await.0, 411);
    let huge = "POST /mms/image/t3 HTTP/1.1\r\nHost: h\r\nContent-Length: 999999999999\r\n\r\n";
    assert_eq!(exchange(addr, huge, b"").await.0, 413);
}
