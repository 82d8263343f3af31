//! The dashboard: its pages and forms over plain HTTP (sign-in, CSP, scoping, CSRF, the
//! API's validation and codes), and end to end in a real headless Chromium driven by
//! `playwright-core` (tests/ui_browser/flow.js): sign in, create a session, a sandbox phone
//! scans the QR the page shows, WORKING appears without a reload, a test message is
//! delivered, stop and start. The browser tests save the screenshots in docs/screenshots/.

use crate::common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{ADMIN_KEY, ADMIN_PASSWORD, Kind, TestApp, envelope_code, require, wa};
use reqwest::header;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use warest_sandbox::{Behaviour, Sandbox};

const PASSWORD: &str = "dashboard-pass-1";
const CONTACT: &str = "15550007001";
const PHONE: &str = "15550007002";
/// The whole browser flow, linking and delivery included.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(300);

/// A signed-in dashboard client: its cookie and CSRF token.
struct Signed {
    cookie: String,
    csrf: String,
}

fn attr<'a>(html: &'a str, marker: &str) -> &'a str {
    let start = html.find(marker).unwrap_or_else(|| panic!("{marker} not in the page")) + marker.len();
    let end = html[start..].find('"').unwrap();
    &html[start..start + end]
}

fn set_cookie(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap().to_string())
}

/// The login page's form, as a browser would fill it: (its cookie, its token).
async fn login_form(app: &TestApp) -> (String, String) {
    let res = app.http.get(app.url("/login")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let cookie = set_cookie(&res, "WAREST_UI_LOGIN").expect("login form cookie");
    let html = res.text().await.unwrap();
    (cookie, attr(&html, "name=\"_csrf\" value=\"").to_string())
}

async fn sign_in(app: &TestApp, user: &str, password: &str) -> Signed {
    let (form_cookie, token) = login_form(app).await;
    let res = app
        .http
        .post(app.url("/ui/login"))
        .header(header::COOKIE, &form_cookie)
        .form(&[("_csrf", token.as_str()), ("username", user), ("password", password), ("next", "/ui/sessions")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "{user} signs in");
    assert_eq!(res.headers()[header::LOCATION], "/ui/sessions");
    let cookie = set_cookie(&res, "WAREST_DOCS_SESSION").expect("session cookie");
    let html = page(app, &cookie, "/ui/sessions").await.1;
    Signed { csrf: attr(&html, "data-csrf=\"").to_string(), cookie }
}

async fn page(app: &TestApp, cookie: &str, path: &str) -> (u16, String) {
    let res = app
        .http
        .get(app.url(path))
        .header(header::COOKIE, cookie)
        .header(header::ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// A dashboard action asking for the API's envelope; `token` None leaves the CSRF token out.
async fn act(app: &TestApp, who: &Signed, path: &str, token: Option<&str>, form: &[(&str, &str)]) -> (u16, Value) {
    let mut fields: Vec<(&str, &str)> = form.to_vec();
    if let Some(t) = token {
        fields.push(("_csrf", t));
    }
    let req =
        app.http.post(app.url(path)).header(header::COOKIE, &who.cookie).header(header::ACCEPT, "application/json");
    common::call(req.form(&fields)).await
}

async fn user_with_password(app: &TestApp, name: &str) -> String {
    let (status, body) =
        app.post("/api/v1/admin/users", Some(ADMIN_KEY), json!({ "username": name, "password": PASSWORD })).await;
    assert_eq!(status, 201, "{body}");
    body["results"][0]["apiKey"]["key"].as_str().unwrap().to_string()
}

async fn api_status(app: &TestApp, key: &str, id: &str) -> String {
    let (status, body) = app.get(&format!("/api/v1/session/{id}"), Some(key)).await;
    assert_eq!(status, 200, "{body}");
    body["results"][0]["status"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn the_dashboard_needs_a_sign_in_and_its_pages_carry_a_strict_csp() {
    let app = TestApp::spawn(Kind::Sqlite).await;
    let res = app.http.get(app.url("/")).send().await.unwrap();
    assert_eq!((res.status().as_u16(), res.headers()[header::LOCATION].to_str().unwrap()), (303, "/ui/sessions"));
    let res = app.http.get(app.url("/ui/sessions")).header(header::ACCEPT, "text/html").send().await.unwrap();
    assert_eq!(res.status(), 303, "a browser is sent to sign in");
    assert_eq!(res.headers()[header::LOCATION], "/login?next=%2Fui%2Fsessions");
    let (status, body) = common::call(app.http.get(app.url("/ui/sessions.json"))).await;
    assert_eq!((status, envelope_code(&body)), (401, 2200), "other clients get the API's 401: {body}");

    // The login form's own token: a post without it (another site's form) signs no one in.
    let (form_cookie, token) = login_form(&app).await;
    for (cookie, tok) in [(form_cookie.as_str(), "wrong"), ("", token.as_str())] {
        let res = app
            .http
            .post(app.url("/ui/login"))
            .header(header::COOKIE, cookie)
            .form(&[("_csrf", tok), ("username", "admin"), ("password", ADMIN_PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);
        assert!(set_cookie(&res, "WAREST_DOCS_SESSION").is_none());
    }
    let res = app
        .http
        .post(app.url("/ui/login"))
        .header(header::COOKIE, &form_cookie)
        .form(&[("_csrf", token.as_str()), ("username", "admin"), ("password", "wrong-password")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "the API's answer to bad credentials");
    assert!(res.text().await.unwrap().contains("code 2200"));

    // The admin key printed at first start signs in too (what the README's first run says).
    let (form_cookie, token) = login_form(&app).await;
    let res = app
        .http
        .post(app.url("/ui/login"))
        .header(header::COOKIE, &form_cookie)
        .form(&[("_csrf", token.as_str()), ("apiKey", ADMIN_KEY), ("next", "/ui/server")])
        .send()
        .await
        .unwrap();
    assert_eq!((res.status().as_u16(), res.headers()[header::LOCATION].to_str().unwrap()), (303, "/ui/server"));
    assert!(set_cookie(&res, "WAREST_DOCS_SESSION").is_some());

    let admin = sign_in(&app, "admin", ADMIN_PASSWORD).await;
    for path in ["/ui/sessions", "/ui/events", "/ui/server"] {
        let res = app.http.get(app.url(path)).header(header::COOKIE, &admin.cookie).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let csp = res.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_string();
        assert!(csp.contains("script-src 'self'") && csp.contains("style-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{path}: {csp}");
        let html = res.text().await.unwrap();
        assert!(html.contains(r#"<script src="/ui/static/app.js"#), "{path}");
        assert_eq!(html.matches("<script").count(), 1, "{path}: no inline script");
        assert!(!html.contains(" style=") && !html.contains("<style"), "{path}: no inline style");
        assert!(html.contains(&format!(r#"name="_csrf" value="{}""#, admin.csrf)), "{path}: forms carry the token");
    }
    let (_, server) = page(&app, &admin.cookie, "/ui/server").await;
    assert!(server.contains("<polyline") && server.contains("Users"), "an admin's server page has the chart and users");
    assert!(
        server.contains(r#"data-testid="health-checks""#) && server.contains("<dt>sendQueue</dt>"),
        "the server page lists the health checks"
    );

    for (file, kind) in [("app.js", "text/javascript"), ("app.css", "text/css")] {
        let res = app.http.get(app.url(&format!("/ui/static/{file}"))).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with(kind));
        let etag = res.headers()[header::ETAG].clone();
        let again = app
            .http
            .get(app.url(&format!("/ui/static/{file}")))
            .header(header::IF_NONE_MATCH, etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304);
    }

    // The API explorer's gate sends browsers to the same login, and back.
    let res = app.http.get(app.url("/docs/")).header(header::ACCEPT, "text/html").send().await.unwrap();
    assert_eq!(res.headers()[header::LOCATION], "/login?next=/docs/");
    // (Templates escape `/` as `&#x2f;`, which browsers read back as `/`.)
    let (status, html) = page(&app, "", "/login?next=/docs/").await;
    assert!(status == 200 && html.replace("&#x2f;", "/").contains(r#"name="next" value="/docs/""#));
    let (status, html) = page(&app, "", "/login?next=https://evil.example/").await;
    assert!(
        status == 200 && html.replace("&#x2f;", "/").contains(r#"name="next" value="/ui/sessions""#),
        "no open redirect"
    );

    // Signing out ends the session: the same cookie no longer opens a page.
    let res = app
        .http
        .post(app.url("/ui/logout"))
        .header(header::COOKIE, &admin.cookie)
        .form(&[("_csrf", admin.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!((res.status().as_u16(), res.headers()[header::LOCATION].to_str().unwrap()), (303, "/login"));
    let (status, _) = page(&app, &admin.cookie, "/ui/sessions").await;
    assert_eq!(status, 303);
    app.stop().await;
}

#[tokio::test]
async fn a_user_sees_only_its_own_sessions_and_changes_need_the_csrf_token() {
    let sandbox = Sandbox::start().await.unwrap();
    let app = wa::sandbox_gateway(Kind::Sqlite, &sandbox, &[]).await;
    let alice_key = user_with_password(&app, "alice").await;
    user_with_password(&app, "bob").await;
    let alice = sign_in(&app, "alice", PASSWORD).await;
    let bob = sign_in(&app, "bob", PASSWORD).await;
    let admin = sign_in(&app, "admin", ADMIN_PASSWORD).await;

    // Created through the dashboard's form: the API's answer (a QR to scan), as the API gives it.
    for (who, id) in [(&alice, "alice-1"), (&bob, "bob-1")] {
        let (status, body) =
            act(&app, who, "/ui/sessions", Some(&who.csrf), &[("sessionId", id), ("mode", "qr")]).await;
        assert_eq!((status, envelope_code(&body)), (200, 1107), "{body}");
        assert!(body["results"][0]["qr"].as_str().unwrap().starts_with("data:image/png;base64,"));
    }

    let (_, list) = page(&app, &alice.cookie, "/ui/sessions").await;
    assert!(list.contains("alice-1") && !list.contains("bob-1"), "alice sees her own session only");
    let (_, list) = page(&app, &admin.cookie, "/ui/sessions").await;
    assert!(list.contains("alice-1") && list.contains("bob-1"), "the admin sees every tenant");
    let (status, html) = page(&app, &alice.cookie, "/ui/sessions/bob-1").await;
    assert!(status == 404 && html.contains("code 1101"), "another tenant's session is not found");
    let (status, body) = act(&app, &alice, "/ui/sessions/bob-1/start", Some(&alice.csrf), &[]).await;
    assert_eq!((status, envelope_code(&body)), (404, 1101), "nor can it be acted on: {body}");
    let (status, html) = page(&app, &alice.cookie, "/ui/sessions/alice-1").await;
    assert!(status == 200 && html.contains("qr.png") && html.contains("SCAN_QR_CODE"), "{status}");

    // Without the token, with another sign-in's token, or from another origin: refused, and
    // nothing changed.
    let stop = [("confirm", "yes")];
    for token in [None, Some(bob.csrf.as_str()), Some("")] {
        let (status, body) = act(&app, &alice, "/ui/sessions/alice-1/stop", token, &stop).await;
        assert_eq!((status, envelope_code(&body)), (403, 2202), "{token:?}: {body}");
    }
    let res = app
        .http
        .post(app.url("/ui/sessions/alice-1/stop"))
        .header(header::COOKIE, &alice.cookie)
        .header(header::ORIGIN, "https://evil.example")
        .form(&[("_csrf", alice.csrf.as_str()), ("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "a cross-origin post is refused even with the token");
    assert!(res.text().await.unwrap().contains("CSRF"), "a browser gets a page saying why");
    assert_eq!(api_status(&app, &alice_key, "alice-1").await, "SCAN_QR_CODE");
    let (status, body) = act(&app, &alice, "/ui/sessions/alice-1/stop", Some(&alice.csrf), &[]).await;
    assert_eq!((status, body["results"][0]["field"].as_str()), (400, Some("confirm")), "stopping asks first");
    let (status, body) = act(&app, &alice, "/ui/sessions/alice-1/stop", Some(&alice.csrf), &stop).await;
    assert_eq!((status, envelope_code(&body)), (200, 1000), "{body}");
    assert_eq!(api_status(&app, &alice_key, "alice-1").await, "STOPPED");

    // A form gets exactly the API's validation: same status, code, field and message.
    let long = "x".repeat(129);
    let (ui_status, ui_body) =
        act(&app, &alice, "/ui/sessions/alice-1/config", Some(&alice.csrf), &[("label", &long)]).await;
    let (api_status_code, api_body) =
        app.post("/api/v1/session/alice-1/config", Some(&alice_key), json!({ "label": long })).await;
    assert_eq!((ui_status, &ui_body), (api_status_code, &api_body));
    assert_eq!(
        (ui_status, ui_body["code"].as_u64(), ui_body["results"][0]["field"].as_str()),
        (400, Some(2001), Some("label"))
    );
    let (status, body) =
        act(&app, &alice, "/ui/sessions/alice-1/config", Some(&alice.csrf), &[("metadata", "[1]")]).await;
    assert_eq!((status, body["results"][0]["field"].as_str()), (400, Some("metadata")), "{body}");
    let (status, body) =
        act(&app, &alice, "/ui/sessions/alice-1/config", Some(&alice.csrf), &[("metadata", "{oops")]).await;
    assert_eq!(
        (status, body["code"].as_u64(), body["results"][0]["field"].as_str()),
        (400, Some(2001), Some("metadata"))
    );
    let (ui_status, ui_body) =
        act(&app, &alice, "/ui/sessions", Some(&alice.csrf), &[("sessionId", "has space")]).await;
    let (api_code, api_body) = app.get("/api/v1/session/create?sessionId=has%20space", Some(&alice_key)).await;
    assert_eq!((ui_status, ui_body), (api_code, api_body), "the create form too");
    let (status, body) = act(&app, &bob, "/ui/sessions", Some(&bob.csrf), &[("sessionId", "alice-1")]).await;
    assert_eq!((status, envelope_code(&body)), (409, 1102), "an id another tenant holds: {body}");

    // A plain form post is redirected back with the outcome shown once.
    let res = app
        .http
        .post(app.url("/ui/sessions/alice-1/config"))
        .header(header::COOKIE, &alice.cookie)
        .form(&[("_csrf", alice.csrf.as_str()), ("label", "Front desk"), ("metadata", r#"{"team": "north"}"#)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        (res.status().as_u16(), res.headers()[header::LOCATION].to_str().unwrap()),
        (303, "/ui/sessions/alice-1")
    );
    let flash = set_cookie(&res, "WAREST_UI_FLASH").expect("flash");
    let (_, html) = page(&app, &format!("{}; {flash}", alice.cookie), "/ui/sessions/alice-1").await;
    assert!(html.contains("Config updated") && html.contains("code 1000") && html.contains("Front desk"), "{html}");
    let (_, list) = page(&app, &alice.cookie, "/ui/sessions?q=NORTH").await;
    assert!(list.contains("alice-1"), "search looks into metadata");
    let (_, list) = page(&app, &alice.cookie, "/ui/sessions?q=south").await;
    assert!(!list.contains(r#"data-session-row="alice-1""#));
    app.stop().await;
}

#[tokio::test]
async fn the_forms_drive_the_api_pairing_code_webhooks_queue_keys_and_users() {
    let sandbox = Sandbox::start().await.unwrap();
    let app = wa::sandbox_gateway(Kind::Sqlite, &sandbox, &[]).await;
    let admin = sign_in(&app, "admin", ADMIN_PASSWORD).await;
    let t = Some(admin.csrf.as_str());

    // The pairing-code flow: the form asks the API for a code, the phone types it in.
    let mut events = app.state.events.subscribe();
    let (status, body) =
        act(&app, &admin, "/ui/sessions", t, &[("sessionId", "paired"), ("mode", "pair"), ("phone", PHONE)]).await;
    assert_eq!((status, envelope_code(&body)), (200, 1000), "{body}");
    let code = body["results"][0]["pairCode"].as_str().unwrap().to_string();
    sandbox.link_with_code(PHONE, &code).await.expect("the phone enters the code");
    tokio::time::timeout(wa::LINK_TIMEOUT, async {
        loop {
            if let Ok(ev) = events.recv().await
                && ev.session_id == "paired"
                && ev.tag() == Some("open")
            {
                return;
            }
        }
    })
    .await
    .expect("linked by pairing code");
    let (_, html) = page(&app, &admin.cookie, "/ui/sessions/paired").await;
    assert!(html.contains("WORKING") && html.contains(PHONE), "the page shows the account");

    // Webhook targets, flags and the queue, each read back from the API.
    let (status, body) = act(
        &app,
        &admin,
        "/ui/sessions/paired/webhooks",
        t,
        &[("primary.events", "message_received"), ("primary.events", "message_ack"), ("targets", "[]")],
    )
    .await;
    assert_eq!((status, envelope_code(&body)), (200, 1000), "{body}");
    let (_, hooks) = app.get("/api/v1/session/paired/webhooks", Some(ADMIN_KEY)).await;
    assert_eq!(hooks["results"][0]["targets"][0]["events"], json!(["message_received", "message_ack"]));
    let (status, body) =
        act(&app, &admin, "/ui/sessions/paired/webhooks", t, &[("primary.events", "no_such_event")]).await;
    assert_eq!((status, body["results"][0]["field"].as_str()), (400, Some("primary.events[0]")), "{body}");
    let (status, _) = act(&app, &admin, "/ui/sessions/paired/config", t, &[("flags.ignoreGroups", "on")]).await;
    assert_eq!(status, 200);
    let (_, s) = app.get("/api/v1/session/paired", Some(ADMIN_KEY)).await;
    assert_eq!(s["results"][0]["flags"]["ignoreGroups"], true);
    let (status, body) = act(&app, &admin, "/ui/sessions/paired/queue-pause", t, &[]).await;
    assert_eq!((status, body["results"][0]["paused"].as_bool()), (200, Some(true)), "{body}");
    let (_, html) = page(&app, &admin.cookie, "/ui/sessions/paired").await;
    assert!(html.contains("paused"), "the queue block shows it");
    let (status, _) = act(&app, &admin, "/ui/sessions/paired/queue-resume", t, &[]).await;
    assert_eq!(status, 200);

    // A preflight to a receiver that is not there: the API's answer, failure included.
    // A port that was free a moment ago: nothing answers there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let (status, body) = act(&app, &admin, "/ui/preflight", t, &[("url", &url), ("sessionId", "paired")]).await;
    assert_eq!((status, body["results"][0]["ok"].as_bool()), (200, Some(false)), "{body}");
    let (status, body) = act(&app, &admin, "/ui/dlq/dlq_nope/replay", t, &[]).await;
    assert_eq!((status, envelope_code(&body)), (404, 2600), "{body}");

    // Keys: a new one is shown once, on the answer page, and works; revoking ends it.
    let res = app
        .http
        .post(app.url("/ui/keys"))
        .header(header::COOKIE, &admin.cookie)
        .form(&[("_csrf", admin.csrf.as_str()), ("name", "from-the-dashboard")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let html = res.text().await.unwrap();
    let marker = r#"data-testid="new-key">"#;
    let at = html.find(marker).expect("the new key is on the page") + marker.len();
    let key = html[at..].split('<').next().unwrap().to_string();
    assert!(key.starts_with("wrst_"), "{key}");
    assert_eq!(app.get("/api/v1/server/ping", Some(&key)).await.0, 200);
    let (_, keys) = app.get("/api/v1/keys", Some(&key)).await;
    let id = keys["results"][0]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "from-the-dashboard")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = act(&app, &admin, &format!("/ui/keys/{id}/revoke"), t, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(app.get("/api/v1/server/ping", Some(&key)).await.0, 401);

    // Users (admin): created with the API's rules, then disabled.
    let (status, body) = act(&app, &admin, "/ui/users", t, &[("username", "x")]).await;
    assert_eq!((status, body["results"][0]["field"].as_str()), (400, Some("username")), "{body}");
    let (status, body) = act(&app, &admin, "/ui/users", t, &[("username", "erin"), ("password", PASSWORD)]).await;
    assert_eq!(status, 201, "{body}");
    let erin = body["results"][0]["user"]["id"].as_str().unwrap().to_string();
    let (status, _) = act(&app, &admin, &format!("/ui/users/{erin}/disable"), t, &[]).await;
    assert_eq!(status, 200);
    let (form_cookie, token) = login_form(&app).await;
    let res = app
        .http
        .post(app.url("/ui/login"))
        .header(header::COOKIE, form_cookie)
        .form(&[("_csrf", token.as_str()), ("username", "erin"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "a disabled user cannot sign in");
    let erin_signed = {
        let (_, k) = app.post(&format!("/api/v1/admin/users/{erin}/enable"), Some(ADMIN_KEY), json!({})).await;
        assert_eq!(k["status"], true);
        sign_in(&app, "erin", PASSWORD).await
    };
    let (status, body) = act(&app, &erin_signed, "/ui/users", Some(&erin_signed.csrf), &[("username", "frank")]).await;
    assert_eq!((status, envelope_code(&body)), (403, 2201), "a user is not an admin: {body}");
    let (_, html) = page(&app, &erin_signed.cookie, "/ui/server").await;
    assert!(
        !html.contains("New user") && html.contains("All <strong>0</strong>"),
        "a user's own figures, no admin blocks"
    );
    app.stop().await;
}

/// node, chromium and the npm packages of tests/ui_browser, or a SKIP line.
fn browser_tools() -> Option<(PathBuf, PathBuf, PathBuf)> {
    let node = require::tool("node")?;
    let chromium = require::tool("chromium")?;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui_browser");
    if !dir.join("node_modules/playwright-core").is_dir() {
        return require::missing("playwright-core", "run `npm ci` in tests/ui_browser");
    }
    Some((node, chromium, dir))
}

/// Decodes a QR code from a PNG, as the phone's camera would read the screen.
fn read_qr(png: &Path) -> String {
    let img = image::open(png).expect("the QR screenshot").to_luma8();
    let (w, h) = img.dimensions();
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(w as usize, h as usize, |x, y| {
        img.get_pixel(x as u32, y as u32).0[0]
    });
    let grids = prepared.detect_grids();
    assert!(!grids.is_empty(), "no QR code in the screenshot");
    grids[0].decode().expect("the QR decodes").1
}

/// Runs flow `flow` of flow.js; on `QR <png>` lines, the sandbox phone `PHONE` scans it.
async fn run_flow(flow: &str, env: &[(&str, String)], sandbox: Option<&Sandbox>) {
    let Some((node, chromium, dir)) = browser_tools() else { return };
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let qr_file = common::process::temp_dir("ui-qr").join("qr.png");
    let mut child = tokio::process::Command::new(node)
        .arg(dir.join("flow.js"))
        .current_dir(&dir)
        .env("FLOW", flow)
        .env("CHROMIUM", chromium)
        .env("SHOTS_DIR", &shots)
        .env("QR_FILE", &qr_file)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut done = false;
    let outcome = tokio::time::timeout(BROWSER_TIMEOUT, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            eprintln!("flow.js: {line}");
            if let Some(png) = line.strip_prefix("QR ") {
                let code = read_qr(Path::new(png));
                let _ = std::fs::remove_file(png);
                sandbox.expect("a sandbox to scan with").link(&code, PHONE).expect("the sandbox phone scans the QR");
            }
            done |= line == "DONE";
        }
        child.wait().await.unwrap()
    })
    .await
    .expect("the browser flow finished in time");
    assert!(outcome.success() && done, "flow.js {flow} failed ({outcome})");
}

#[tokio::test]
async fn in_a_browser_a_session_is_linked_by_its_qr_used_and_restarted() {
    if browser_tools().is_none() {
        return;
    }
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.create_contact(CONTACT, Behaviour::Silent).await.unwrap();
    let app = wa::sandbox_gateway(Kind::Sqlite, &sandbox, &[]).await;
    let env = [
        ("WAREST_URL", format!("http://{}", app.addr)),
        ("WAREST_USER", "admin".to_string()),
        ("WAREST_PASSWORD", ADMIN_PASSWORD.to_string()),
        ("SESSION_ID", "front-desk".to_string()),
        ("CONTACT", CONTACT.to_string()),
    ];
    run_flow("link", &env, Some(&sandbox)).await;
    // What the page showed is what the gateway has.
    assert_eq!(api_status(&app, ADMIN_KEY, "front-desk").await, "WORKING");
    let got = sandbox.wait_inbox(CONTACT, Duration::from_secs(5), |e| e.text.is_some()).await.unwrap();
    assert_eq!(got.text.as_deref(), Some("Hello from the WAREST dashboard"));
    app.stop().await;
}

#[tokio::test]
async fn in_a_browser_a_user_sees_only_its_sessions_and_a_post_without_the_token_is_refused() {
    if browser_tools().is_none() {
        return;
    }
    let sandbox = Sandbox::start().await.unwrap();
    let app = wa::sandbox_gateway(Kind::Sqlite, &sandbox, &[]).await;
    let carol = user_with_password(&app, "carol").await;
    let dave = user_with_password(&app, "dave").await;
    for (key, id) in [(&carol, "carol-1"), (&dave, "dave-1")] {
        let (status, body) = app.get(&format!("/api/v1/session/create?sessionId={id}"), Some(key)).await;
        assert_eq!((status, envelope_code(&body)), (200, 1107), "{body}");
    }
    let env = [
        ("WAREST_URL", format!("http://{}", app.addr)),
        ("WAREST_USER", "carol".to_string()),
        ("WAREST_PASSWORD", PASSWORD.to_string()),
        ("OWN_SESSION", "carol-1".to_string()),
        ("OTHER_SESSION", "dave-1".to_string()),
    ];
    run_flow("scope", &env, None).await;
    assert_eq!(api_status(&app, &carol, "carol-1").await, "STOPPED", "only the request with the token stopped it");
    assert_eq!(api_status(&app, &dave, "dave-1").await, "SCAN_QR_CODE");
    app.stop().await;
}
