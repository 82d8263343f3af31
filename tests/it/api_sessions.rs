//! The session registry over HTTP, on SQLite and Postgres: validation, tenant isolation,
//! config, listing and deletion. Nothing here starts a WhatsApp client (that needs the
//! sandbox); sessions are registered through the store.

use crate::common;

use common::{ADMIN_KEY, TestApp, envelope_code, kinds};
use serde_json::{Value, json};
use warest::store::Db;
use warest::store::sessions::NewSession;

async fn db_of(app: &TestApp) -> Db {
    match &app.db {
        Some(t) => t.db.clone(),
        None => {
            let vars = std::collections::HashMap::from([(
                "WAREST_DATA_DIR".to_string(),
                app.data_dir.path().display().to_string(),
            )]);
            warest::app::open_database(&warest::config::Config::from_map(&vars).unwrap()).await.unwrap()
        }
    }
}

/// Registers a stopped session owned by `registry`, as `/session/create` would before starting it.
async fn register(app: &TestApp, registry: &str, id: &str) {
    let db = db_of(app).await;
    let meta = json!({ "team": "support" });
    db.create_session(NewSession {
        id,
        registry,
        label: Some("Support"),
        status: "STOPPED",
        auto_start: true,
        metadata: &meta,
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn session_routes_need_a_valid_session_id() {
    let app = TestApp::spawn(common::Kind::Sqlite).await;
    for path in
        ["/api/v1/session/logout", "/api/v1/session/devices", "/api/v1/session/create", "/api/v1/session/reconnect"]
    {
        let (status, body) = app.get(path, Some(ADMIN_KEY)).await;
        assert_eq!((status, envelope_code(&body)), (400, 1100), "{path}: {body}");
    }
    let (status, body) = app.get("/api/v1/session/create?sessionId=bad%20id", Some(ADMIN_KEY)).await;
    assert_eq!((status, body["results"][0]["field"].as_str()), (400, Some("sessionId")));
    let (status, body) = app.get("/api/v1/session/create/pair-code?sessionId=s1&phone=12", Some(ADMIN_KEY)).await;
    assert_eq!((status, body["results"][0]["field"].as_str()), (400, Some("phone")));
    let (status, _) = app.get("/api/v1/session/logout?sessionId=missing", Some(ADMIN_KEY)).await;
    assert_eq!(status, 404);
    app.stop().await;
}

#[tokio::test]
async fn a_second_tenant_can_neither_see_nor_touch_a_session() {
    for kind in kinds() {
        let app = TestApp::spawn(kind).await;
        let (reg_a, key_a) = app.create_user("tenant-a").await;
        let (_, key_b) = app.create_user("tenant-b").await;
        register(&app, &reg_a, "a-main").await;

        let (status, body) = app.get("/api/v1/session/a-main", Some(&key_a)).await;
        assert_eq!(status, 200, "{body}");
        let s = &body["results"][0];
        assert_eq!((s["status"].as_str(), s["label"].as_str()), (Some("STOPPED"), Some("Support")));
        assert_eq!(s["metadata"]["team"], "support");

        let tries: Vec<(reqwest::Method, &str)> = vec![
            (reqwest::Method::GET, "/api/v1/session/a-main"),
            (reqwest::Method::GET, "/api/v1/session/a-main/qr"),
            (reqwest::Method::GET, "/api/v1/session/a-main/me"),
            (reqwest::Method::POST, "/api/v1/session/a-main/stop"),
            (reqwest::Method::GET, "/api/v1/session/logout?sessionId=a-main"),
            (reqwest::Method::GET, "/api/v1/session/devices?sessionId=a-main"),
            (reqwest::Method::DELETE, "/api/v1/session/delete?sessionId=a-main"),
        ];
        for (method, path) in tries {
            let (status, body) = common::call(app.req(method.clone(), path, Some(&key_b))).await;
            assert_eq!((status, envelope_code(&body)), (404, 1101), "{kind:?} {method} {path}: {body}");
        }
        let (status, body) = app.post("/api/v1/session/a-main/config", Some(&key_b), json!({ "label": "mine" })).await;
        assert_eq!((status, envelope_code(&body)), (404, 1101));
        let (_, body) = app.get("/api/v1/session/list", Some(&key_b)).await;
        assert_eq!(body["results"][0]["total"], 0);
        // Ids are unique per gateway: tenant b cannot take a's id, and learns nothing else.
        let (status, body) = app.get("/api/v1/session/create?sessionId=a-main", Some(&key_b)).await;
        assert_eq!((status, envelope_code(&body)), (409, 1102));

        // Untouched for its owner; the admin sees every registry.
        let (_, body) = app.get("/api/v1/session/a-main", Some(&key_a)).await;
        assert_eq!(body["results"][0]["label"], "Support");
        let (_, body) = app.get("/api/v1/session/list", Some(ADMIN_KEY)).await;
        assert_eq!(body["results"][0]["total"], 1);
        app.stop().await;
    }
}

#[tokio::test]
async fn config_updates_webhook_flags_and_metadata_and_rejects_bad_values() {
    for kind in kinds() {
        let app = TestApp::spawn(kind).await;
        let (reg, key) = app.create_user("cfg").await;
        register(&app, &reg, "s1").await;
        let body = json!({
            "webhookUrl": "https://hooks.example.com/warest",
            "webhookSecret": "rotate-me",
            "flags": { "ignoreGroups": true, "rejectCalls": true, "rejectCallMessage": "No calls, please" },
            "metadata": { "crm": 42 },
            "autoStart": false,
        });
        let (status, res) = app.post("/api/v1/session/s1/config", Some(&key), body).await;
        assert_eq!(status, 200, "{res}");
        let s = &res["results"][0];
        assert_eq!(s["webhookUrl"], "https://hooks.example.com/warest");
        assert_eq!(s["flags"]["ignoreGroups"], true);
        assert_eq!(s["metadata"], json!({ "crm": 42 }));
        assert_eq!(s["autoStart"], false);
        assert!(s.get("webhookSecret").is_none(), "the secret is not echoed in views");

        // Omitted fields are kept.
        let (_, res) = app.post("/api/v1/session/s1/config", Some(&key), json!({ "label": "Renamed" })).await;
        assert_eq!(res["results"][0]["webhookUrl"], "https://hooks.example.com/warest");
        assert_eq!(res["results"][0]["label"], "Renamed");

        let bad: Vec<(Value, &str)> = vec![
            (json!({ "webhookUrl": "ftp://x" }), "webhookUrl"),
            (json!({ "flags": { "ignoreEverything": true } }), "flags.ignoreEverything"),
            (json!({ "flags": { "ignoreGroups": "yes" } }), "flags.ignoreGroups"),
            (json!({ "metadata": [1, 2] }), "metadata"),
            (json!({ "webhookSecret": "x".repeat(300) }), "webhookSecret"),
        ];
        for (payload, field) in bad {
            let (status, res) = app.post("/api/v1/session/s1/config", Some(&key), payload.clone()).await;
            assert_eq!(status, 400, "{payload}: {res}");
            assert_eq!(res["results"][0]["field"], field, "{payload}: {res}");
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn an_unlinked_session_has_no_qr_and_no_me() {
    let app = TestApp::spawn(common::Kind::Sqlite).await;
    let (reg, key) = app.create_user("idle").await;
    register(&app, &reg, "idle").await;
    let (status, body) = app.get("/api/v1/session/idle/qr", Some(&key)).await;
    assert_eq!((status, envelope_code(&body)), (404, 2600));
    assert!(body["message"].as_str().unwrap().contains("STOPPED"));
    let (status, _) = app.get("/api/v1/session/idle/qr?format=gif", Some(&key)).await;
    assert_eq!(status, 400);
    assert_eq!(app.get("/api/v1/session/idle/me", Some(&key)).await.0, 404);
    let (status, body) = app.get("/api/v1/session/devices?sessionId=idle", Some(&key)).await;
    assert_eq!((status, body["results"][0]["device"].as_str()), (200, Some("WAREST")));
    app.stop().await;
}

#[tokio::test]
async fn deleting_a_session_removes_it_and_its_device_keys() {
    for kind in kinds() {
        let app = TestApp::spawn(kind).await;
        let (reg, key) = app.create_user("del").await;
        register(&app, &reg, "gone").await;
        let db = db_of(&app).await;
        // Some device state, as a linked client would have written.
        let store = warest::sessions::device_store::SqlDeviceStore::new(db.clone(), "gone");
        use whatsapp_rust::wacore::store::traits::SignalStore;
        store.put_identity("123@s.whatsapp.net:1", [7u8; 32]).await.unwrap();
        assert!(store.load_identity("123@s.whatsapp.net:1").await.unwrap().is_some());

        let (status, body) = app.delete("/api/v1/session/delete?sessionId=gone", Some(&key)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["results"][0]["steps"]["meta"], true);
        assert!(store.load_identity("123@s.whatsapp.net:1").await.unwrap().is_none(), "device keys wiped");
        assert_eq!(app.get("/api/v1/session/gone", Some(&key)).await.0, 404);
        app.stop().await;
    }
}

#[tokio::test]
async fn deleting_a_user_deletes_its_sessions() {
    let app = TestApp::spawn(common::Kind::Sqlite).await;
    let (reg, _) = app.create_user("leaver").await;
    register(&app, &reg, "leaver-s").await;
    assert_eq!(app.delete(&format!("/api/v1/admin/users/{reg}"), Some(ADMIN_KEY)).await.0, 200);
    let (_, body) = app.get("/api/v1/session/list", Some(ADMIN_KEY)).await;
    assert_eq!(body["results"][0]["total"], 0);
    app.stop().await;
}

#[tokio::test]
async fn answers_about_a_session_carry_its_label() {
    let app = TestApp::spawn(common::Kind::Sqlite).await;
    let (reg, key) = app.create_user("labeller").await;
    register(&app, &reg, "labelled").await;
    let label_of =
        |res: &reqwest::Response| res.headers().get("x-warest-label").map(|v| v.to_str().unwrap().to_string());
    let res = app.req(reqwest::Method::GET, "/api/v1/session/labelled", Some(&key)).send().await.unwrap();
    assert_eq!(label_of(&res).as_deref(), Some("Support"));
    let res = app
        .req(reqwest::Method::POST, "/api/v1/session/labelled/config", Some(&key))
        .json(&json!({ "label": "Sales desk" }))
        .send()
        .await
        .unwrap();
    assert_eq!(label_of(&res).as_deref(), Some("Sales desk"));
    // Not about one session: no label.
    let res = app.req(reqwest::Method::GET, "/api/v1/session/list", Some(&key)).send().await.unwrap();
    assert_eq!(label_of(&res), None);
    // A missing session has no label either.
    let res = app.req(reqwest::Method::GET, "/api/v1/session/nope", Some(&key)).send().await.unwrap();
    assert_eq!((res.status().as_u16(), label_of(&res)), (404, None));
    app.stop().await;
}

/// Inserts one row into every per-session table for `sid` (as inbound, webhooks and the
/// action runner would have written them).
async fn fill(db: &Db, sid: &str) {
    let ev = format!("ev-{sid}");
    let q = |sql: &'static str| sqlx::query(db.sql(sql));
    q("INSERT INTO messages (session_id, chat_jid, id, from_me, direction, content_type, content, ts, created_at)
       VALUES ($1, 'c@s.whatsapp.net', 'M1', 0, 'in', 'text', '{}', 1, 1)")
    .bind(sid)
    .execute(db.pool())
    .await
    .unwrap();
    q("INSERT INTO chats (session_id, jid, updated_at) VALUES ($1, 'c@s.whatsapp.net', 1)")
        .bind(sid)
        .execute(db.pool())
        .await
        .unwrap();
    q("INSERT INTO contacts (session_id, jid, updated_at) VALUES ($1, 'c@s.whatsapp.net', 1)")
        .bind(sid)
        .execute(db.pool())
        .await
        .unwrap();
    q("INSERT INTO media (id, session_id, message_id, mimetype, size, path, created_at)
       VALUES ($1, $2, 'M1', 'image/png', 1, 'x', 1)")
    .bind(format!("media-{sid}"))
    .bind(sid)
    .execute(db.pool())
    .await
    .unwrap();
    q("INSERT INTO action_runs (event_id, target, path, session_id, outcome, created_at) VALUES ($1, 'session:', '0#1', $2, NULL, 1)")
        .bind(&ev)
        .bind(sid)
        .execute(db.pool())
        .await
        .unwrap();
    let seq: i64 = sqlx::query_scalar(db.sql(
        "INSERT INTO webhook_events (id, session_id, registry, username, event, body, created_at)
         VALUES ($1, $2, 'r', 'u', 'message_received', '{}', 1) RETURNING seq",
    ))
    .bind(&ev)
    .bind(sid)
    .fetch_one(db.pool())
    .await
    .unwrap();
    q("INSERT INTO webhook_deliveries (event_seq, session_id, target_kind, url, state, next_at, created_at, updated_at)
       VALUES ($1, $2, 'session', 'http://127.0.0.1:1/', 'delivered', 1, 1, 1)")
    .bind(seq)
    .bind(sid)
    .execute(db.pool())
    .await
    .unwrap();
    q("INSERT INTO webhook_attempts (delivery_id, event_id, event, session_id, url, attempt, duration_ms, created_at)
       VALUES (1, $1, 'message_received', $2, 'http://127.0.0.1:1/', 1, 1, 1)")
    .bind(&ev)
    .bind(sid)
    .execute(db.pool())
    .await
    .unwrap();
    q("INSERT INTO webhook_dead_letters (id, delivery_id, event_seq, event_id, session_id, registry, event, url, attempts, created_at)
       VALUES ($1, 1, $2, $3, $4, 'r', 'message_received', 'http://127.0.0.1:1/', 1, 1)")
    .bind(format!("dl-{sid}"))
    .bind(seq)
    .bind(&ev)
    .bind(sid)
    .execute(db.pool())
    .await
    .unwrap();
}

/// Rows of `sid` per table; webhook events only those `fill` wrote (deleting a session
/// publishes a `session_status` event of its own, kept so receivers learn of it).
async fn rows_of(db: &Db, sid: &str) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    for table in [
        "messages",
        "chats",
        "contacts",
        "media",
        "action_runs",
        "webhook_deliveries",
        "webhook_attempts",
        "webhook_dead_letters",
    ] {
        let n: i64 = sqlx::query_scalar(&db.sql_string(format!("SELECT COUNT(*) FROM {table} WHERE session_id = $1")))
            .bind(sid)
            .fetch_one(db.pool())
            .await
            .unwrap();
        out.push((table, n));
    }
    let n: i64 = sqlx::query_scalar(db.sql("SELECT COUNT(*) FROM webhook_events WHERE session_id = $1 AND id = $2"))
        .bind(sid)
        .bind(format!("ev-{sid}"))
        .fetch_one(db.pool())
        .await
        .unwrap();
    out.push(("webhook_events", n));
    out
}

#[tokio::test]
async fn deleting_a_session_removes_its_rows_in_every_table_and_no_others() {
    for kind in kinds() {
        let app = TestApp::spawn(kind).await;
        let (reg, key) = app.create_user("wipe").await;
        register(&app, &reg, "wiped").await;
        register(&app, &reg, "kept").await;
        let db = db_of(&app).await;
        fill(&db, "wiped").await;
        fill(&db, "kept").await;
        assert!(rows_of(&db, "wiped").await.iter().all(|(_, n)| *n == 1), "{:?}", rows_of(&db, "wiped").await);

        let (status, body) = app.delete("/api/v1/session/delete?sessionId=wiped", Some(&key)).await;
        assert_eq!(status, 200, "{body}");
        let left = rows_of(&db, "wiped").await;
        assert!(left.iter().all(|(_, n)| *n == 0), "{kind:?}: rows left behind: {left:?}");
        let kept = rows_of(&db, "kept").await;
        assert!(kept.iter().all(|(_, n)| *n == 1), "{kind:?}: another session's rows went too: {kept:?}");
        app.stop().await;
    }
}
