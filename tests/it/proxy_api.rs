//! A session's `proxy` over HTTP, without connecting anything: both input shapes are
//! stored and echoed with the password masked, `""` removes it, and malformed values or
//! unsupported schemes are 400s naming the field. `/server/proxies` is admin only and
//! says when no pool is configured.

use crate::common;

use common::{ADMIN_KEY, TestApp, envelope_code};
use serde_json::{Value, json};
use warest::store::sessions::NewSession;

fn field(body: &Value) -> Option<&str> {
    body["results"][0]["field"].as_str()
}

#[tokio::test]
async fn the_session_proxy_is_validated_stored_and_only_ever_shown_masked() {
    let app = TestApp::spawn(common::Kind::Sqlite).await;
    let (registry, key) = app.create_user("proxy-api").await;
    let meta = json!({});
    let new = NewSession {
        id: "p1",
        registry: &registry,
        label: None,
        status: "STOPPED",
        auto_start: false,
        metadata: &meta,
    };
    app.state.db.create_session(new).await.unwrap();
    let config = async |body: Value| app.post("/api/v1/session/p1/config", Some(&key), body).await;

    for (bad, at, says) in [
        (json!("ftp://10.0.0.1:21"), "proxy", "unsupported scheme"),
        (json!("https://10.0.0.1:443"), "proxy", "unsupported scheme"),
        (json!("socks5://10.0.0.1"), "proxy", "port"),
        (json!("socks5://10.0.0.1:1080/x"), "proxy", "path"),
        (json!("not a url"), "proxy", "URL"),
        (json!(1080), "proxy", "must be"),
        (json!({ "server": "" }), "proxy.server", "required"),
        (json!({ "server": "10.0.0.1" }), "proxy.server", "port"),
        (json!({ "server": "10.0.0.1:3128", "user": "x" }), "proxy.user", "unknown"),
        (json!({ "server": "10.0.0.1:3128", "password": 5 }), "proxy.password", "string"),
    ] {
        let (status, body) = config(json!({ "proxy": bad })).await;
        assert_eq!((status, envelope_code(&body), field(&body)), (400, 2001, Some(at)), "{bad}: {body}");
        assert!(body["message"].as_str().unwrap_or_default().contains(says), "{bad}: {body}");
    }

    // WAHA's shape: stored, echoed masked.
    let waha = json!({ "server": "10.0.0.1:3128", "username": "alice", "password": "waha-secret-41" });
    let (status, body) = config(json!({ "proxy": waha })).await;
    assert_eq!(status, 200, "{body}");
    let p = &body["results"][0]["proxy"];
    assert_eq!(
        p,
        &json!({ "url": "http://alice:***@10.0.0.1:3128", "server": "http://10.0.0.1:3128", "username": "alice", "password": "***", "source": "session" })
    );
    assert!(!body.to_string().contains("waha-secret-41"));
    let stored: Option<String> =
        sqlx::query_scalar("SELECT proxy FROM sessions WHERE id = 'p1'").fetch_one(app.state.db.pool()).await.unwrap();
    assert_eq!(stored.as_deref(), Some("http://alice:waha-secret-41@10.0.0.1:3128"));

    // The URL form (percent-encoded credentials), and every view masks it.
    let (status, body) = config(json!({ "proxy": "socks5://bob:p%40ss%3Aword@Proxy.Example:1080" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"][0]["proxy"]["url"], "socks5://bob:***@proxy.example:1080");
    for path in ["/api/v1/session/p1", "/api/v1/session/list"] {
        let (_, body) = app.get(path, Some(&key)).await;
        let text = body.to_string();
        assert!(
            text.contains("socks5://bob:***@proxy.example:1080") && !text.contains("p@ss") && !text.contains("p%40ss"),
            "{path}: {text}"
        );
    }
    // Other changes keep it; "" removes it.
    let (_, body) = config(json!({ "label": "Kept" })).await;
    assert_eq!(body["results"][0]["proxy"]["username"], "bob");
    let (status, body) = config(json!({ "proxy": "" })).await;
    assert_eq!(status, 200);
    assert!(body["results"][0]["proxy"].is_null(), "{body}");

    // The create route takes the URL form, refused before anything starts when malformed.
    let (status, body) = app.get("/api/v1/session/create?sessionId=p2&proxy=ftp%3A%2F%2Fh%3A1", Some(&key)).await;
    assert_eq!((status, field(&body)), (400, Some("proxy")), "{body}");
    let (status, _) = app.get("/api/v1/session/p2", Some(&key)).await;
    assert_eq!(status, 404, "nothing was created");

    // No pool configured: said so, to admins only.
    let (status, _) = app.get("/api/v1/server/proxies", Some(&key)).await;
    assert_eq!(status, 403);
    let (status, body) = app.get("/api/v1/server/proxies", Some(ADMIN_KEY)).await;
    assert_eq!((status, &body["results"][0]["enabled"]), (200, &json!(false)), "{body}");
    app.stop().await;
}
