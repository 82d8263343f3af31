//! The HTTP skeleton: bad input, unknown routes, limits, headers, CORS, server endpoints,
//! the docs gate and login cookie, graceful shutdown.

use crate::common;

use common::{ADMIN_KEY, ADMIN_PASSWORD, Kind, TestApp, envelope_code, eventually, kinds, split};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn malformed_input_is_a_400_naming_the_field() {
    for kind in kinds() {
        let app = TestApp::spawn(kind).await;
        let post_raw = |body: &'static str| {
            app.req(Method::POST, "/api/v1/admin/users", Some(ADMIN_KEY))
                .header("content-type", "application/json")
                .body(body)
        };
        let cases = [
            ("{not json", "body"),
            (r#"{}"#, "username"),
            (r#"{"username": 42}"#, "username"),
            (r#"{"username": "ok-name", "isAdmin": "yes"}"#, "isAdmin"),
            (r#"{"username": "bad name!"}"#, "username"),
            (r#"{"username": "ok-name", "password": "short"}"#, "password"),
            (r#"{"username": "ok-name", "surprise": 1}"#, "surprise"),
        ];
        for (raw, field) in cases {
            let (status, body) = common::call(post_raw(raw)).await;
            assert_eq!(status, 400, "{raw}: {body}");
            assert_eq!(envelope_code(&body), 2001, "{raw}");
            assert_eq!(body["results"][0]["field"], field, "{raw}: {body}");
            assert!(body["message"].as_str().unwrap().starts_with(field), "{body}");
        }
        let (status, body) =
            common::call(app.req(Method::POST, "/api/v1/admin/users", Some(ADMIN_KEY)).body("username=x")).await;
        assert_eq!((status, envelope_code(&body)), (400, 2001), "missing content type");

        let (status, body) = app.get("/api/v1/server/cpu-history?period=2h", Some(ADMIN_KEY)).await;
        assert_eq!((status, body["results"][0]["field"].as_str()), (400, Some("period")));
        let (status, body) = app.get("/api/v1/admin/users?limit=abc", Some(ADMIN_KEY)).await;
        assert_eq!((status, body["results"][0]["field"].as_str()), (400, Some("limit")));
        app.stop().await;
    }
}

#[tokio::test]
async fn unknown_routes_wrong_methods_and_big_bodies_get_envelopes() {
    let app = TestApp::spawn_with(Kind::Sqlite, &[("WAREST_HTTP_BODY_LIMIT_MB", "1")]).await;
    let (status, body) = app.get("/api/v1/nope", Some(ADMIN_KEY)).await;
    assert_eq!((status, envelope_code(&body)), (404, 2600));
    let (status, body) = common::call(app.req(Method::PUT, "/api/v1/server/ping", Some(ADMIN_KEY))).await;
    assert_eq!((status, envelope_code(&body)), (405, 2605));
    let big = format!(r#"{{"username": "{}"}}"#, "x".repeat(1_100_000));
    let (status, body) = common::call(
        app.req(Method::POST, "/api/v1/admin/users", Some(ADMIN_KEY))
            .header("content-type", "application/json")
            .body(big),
    )
    .await;
    assert_eq!((status, envelope_code(&body)), (413, 2413));
    app.stop().await;
}

#[tokio::test]
async fn responses_carry_security_headers_and_cors_follows_allowed_origins() {
    let app = TestApp::spawn_with(Kind::Sqlite, &[("ALLOWED_ORIGINS", "https://app.example.com")]).await;
    let res = app
        .req(Method::GET, "/api/v1/server/ping", Some(ADMIN_KEY))
        .header("origin", "https://app.example.com")
        .send()
        .await
        .unwrap();
    let h = res.headers();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert!(h["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
    assert_eq!(h["access-control-allow-origin"], "https://app.example.com");

    let preflight = app
        .http
        .request(Method::OPTIONS, app.url("/api/v1/server/ping"))
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "x-warest-api-key")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    assert!(preflight.headers()["access-control-allow-headers"].to_str().unwrap().contains("x-warest-api-key"));

    let res = app
        .req(Method::GET, "/api/v1/server/ping", Some(ADMIN_KEY))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(!res.headers().contains_key("access-control-allow-origin"));
    app.stop().await;
}

#[tokio::test]
async fn server_endpoints_answer_on_every_database() {
    for kind in kinds() {
        let app = TestApp::spawn(kind).await;
        let (status, body) = app.get("/api/v1/server/info", Some(ADMIN_KEY)).await;
        assert_eq!(status, 200, "{body}");
        let info = &body["results"][0];
        assert_eq!(info["serverVersion"], warest::VERSION);
        assert!(info["memory"]["totalMB"].as_u64().unwrap() > 0);
        let name = match kind {
            Kind::Sqlite => "sqlite",
            Kind::Postgres => "postgres",
            Kind::Mysql => "mysql",
        };
        assert_eq!(info["database"], name);

        // Anonymous probes get the status only; a key adds the per-service detail.
        // Without ffmpeg (a machine with only Rust) the gateway is up but degraded: voice
        // notes, GIFs and video stills cannot be made.
        let ffmpeg = std::process::Command::new("ffmpeg").arg("-version").output().is_ok_and(|o| o.status.success());
        let expected = if ffmpeg { "healthy" } else { "degraded" };
        let (status, body) = app.get("/api/v1/server/healthz", None).await;
        assert_eq!((status, body["results"][0]["status"].as_str()), (200, Some(expected)), "{body}");
        assert!(body["results"][0].get("services").is_none());
        let (_, body) = app.get("/api/v1/server/healthz", Some(ADMIN_KEY)).await;
        assert_eq!(body["results"][0]["services"]["database"]["status"], "ok");
        assert_eq!(app.get("/api/v1/server/healthz", Some("wrst_bad")).await.0, 401);

        let (status, body) = app.get("/api/v1/server/ready", None).await;
        assert_eq!((status, body["results"][0]["ready"].as_bool()), (200, Some(true)));

        let (status, body) = app.get("/api/v1/server/cpu-history?period=6h&interval=1m", Some(ADMIN_KEY)).await;
        assert_eq!(status, 200);
        assert_eq!(body["results"][0]["period"], "6h");
        assert!(body["results"][0]["data"].is_array());
        app.stop().await;
    }
}

#[tokio::test]
async fn the_cpu_sampler_fills_the_history() {
    let app = TestApp::spawn_with(Kind::Sqlite, &[("WAREST_CPU_SAMPLE_SEC", "1")]).await;
    let body = eventually("a CPU sample", std::time::Duration::from_secs(30), async || {
        let (_, body) = app.get("/api/v1/server/cpu-history?interval=1m", Some(ADMIN_KEY)).await;
        if body["results"][0]["data"].as_array().unwrap().is_empty() { Err(body) } else { Ok(body) }
    })
    .await;
    assert!(body["results"][0]["averageUsagePercent"].is_number());
    app.stop().await;
}

#[tokio::test]
async fn docs_need_a_cookie_or_a_key_and_login_sets_a_strict_cookie() {
    for kind in kinds() {
        let app = TestApp::spawn(kind).await;
        let (status, body) = app.get("/openapi.json", None).await;
        assert_eq!((status, envelope_code(&body)), (401, 2200));
        let res = app.http.get(app.url("/docs/")).header("accept", "text/html").send().await.unwrap();
        assert_eq!(res.status(), 303);
        assert!(res.headers()["location"].to_str().unwrap().starts_with("/login"));

        let (status, doc) = app.get("/openapi.json", Some(ADMIN_KEY)).await;
        assert_eq!(status, 200);
        assert!(doc["paths"]["/api/v1/server/ping"].is_object());

        let (status, body) =
            app.post("/api/auth/login", None, json!({ "username": "admin", "password": "wrong-password" })).await;
        assert_eq!((status, envelope_code(&body)), (401, 2200));
        let res = app
            .req(Method::POST, "/api/auth/login", None)
            .json(&json!({ "username": "admin", "password": ADMIN_PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
        for part in ["WAREST_DOCS_SESSION=", "HttpOnly", "SameSite=Strict", "Max-Age=43200", "Path=/"] {
            assert!(cookie.contains(part), "{cookie}");
        }
        let pair = cookie.split(';').next().unwrap().to_string();

        let res = app.http.get(app.url("/docs/")).header("cookie", &pair).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.text().await.unwrap().contains("swagger"), "Swagger UI page");
        assert_eq!(app.http.get(app.url("/openapi.json")).header("cookie", &pair).send().await.unwrap().status(), 200);
        let (status, body) =
            split(app.http.get(app.url("/api/auth/session")).header("cookie", &pair).send().await.unwrap()).await;
        assert_eq!((status, body["results"][0]["username"].as_str()), (200, Some("admin")));

        // The cookie is for the explorer only: API routes still need a key.
        assert_eq!(
            app.http.get(app.url("/api/v1/server/ping")).header("cookie", &pair).send().await.unwrap().status(),
            401
        );

        let res = app.http.post(app.url("/api/auth/logout")).header("cookie", &pair).send().await.unwrap();
        assert!(res.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
        assert_eq!(
            app.http.get(app.url("/api/auth/session")).header("cookie", &pair).send().await.unwrap().status(),
            401
        );
        assert_eq!(app.http.get(app.url("/docs/")).header("cookie", &pair).send().await.unwrap().status(), 401);
        app.stop().await;
    }
}

#[tokio::test]
async fn the_login_form_redirects_to_the_docs_with_the_cookie() {
    let app = TestApp::spawn(Kind::Sqlite).await;
    let page = app.http.get(app.url("/login")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("action=\"/ui/login\""));
    let res = app
        .http
        .post(app.url("/api/auth/login"))
        .form(&[("apiKey", ADMIN_KEY), ("next", "https://evil.example/")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/docs/", "no open redirect");
    assert!(res.headers()["set-cookie"].to_str().unwrap().starts_with("WAREST_DOCS_SESSION="));
    app.stop().await;
}

#[tokio::test]
async fn shutdown_is_graceful_and_the_server_stops() {
    let app = TestApp::spawn(Kind::Sqlite).await;
    let addr = app.addr;
    app.stop().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "listener closed after shutdown");
}

#[tokio::test]
async fn the_docs_cookie_is_secure_when_a_trusted_proxy_says_https() {
    let login = |app: &TestApp, proto: Option<&str>| {
        let mut req = app.req(Method::POST, "/api/auth/login", None).json(&json!({ "apiKey": ADMIN_KEY }));
        if let Some(p) = proto {
            req = req.header("x-forwarded-proto", p);
        }
        req.send()
    };
    let cookie = |res: reqwest::Response| res.headers()["set-cookie"].to_str().unwrap().to_string();
    let proxied = TestApp::spawn_with(Kind::Sqlite, &[("WAREST_TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    let c = cookie(login(&proxied, Some("https")).await.unwrap());
    assert!(c.contains("; Secure"), "{c}");
    let c = cookie(login(&proxied, Some("http")).await.unwrap());
    assert!(!c.contains("Secure"), "{c}");
    let c = cookie(login(&proxied, None).await.unwrap());
    assert!(!c.contains("Secure"), "{c}");
    proxied.stop().await;

    // From anyone else the header is the client's own word: plain HTTP, no Secure (a
    // browser would not send a Secure cookie back over it).
    let direct = TestApp::spawn(Kind::Sqlite).await;
    let c = cookie(login(&direct, Some("https")).await.unwrap());
    assert!(!c.contains("Secure"), "{c}");
    direct.stop().await;
}

#[tokio::test]
async fn the_dashboards_own_cookies_are_secure_behind_a_trusted_https_proxy() {
    let app = TestApp::spawn_with(Kind::Sqlite, &[("WAREST_TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    let login_page = |proto: &'static str| app.http.get(app.url("/login")).header("x-forwarded-proto", proto).send();
    let cookies = |res: &reqwest::Response| -> Vec<String> {
        res.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect()
    };
    let res = login_page("https").await.unwrap();
    let set = cookies(&res);
    assert!(!set.is_empty() && set.iter().all(|c| c.ends_with("; Secure")), "{set:?}");
    let res = login_page("http").await.unwrap();
    let set = cookies(&res);
    assert!(!set.is_empty() && set.iter().all(|c| !c.contains("Secure")), "{set:?}");
    app.stop().await;
}
