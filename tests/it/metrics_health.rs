//! The health answer names its checks: each with its state for anyone, with its detail for
//! a key holder; a FAILED session degrades it (still 200, so probes do not restart a
//! gateway that serves every other session), and `/ready` lists its own two checks.
//! SQLite and Postgres.

use crate::common;

use common::{ADMIN_KEY, TestApp, kinds};
use serde_json::json;

#[tokio::test]
async fn health_names_each_check_and_a_failed_session_degrades_it() {
    for kind in kinds() {
        let app = TestApp::spawn(kind).await;
        let (status, body) = app.get("/api/v1/server/healthz", None).await;
        let h = &body["results"][0];
        assert_eq!(status, 200, "{body}");
        for name in ["database", "dataDir", "ffmpeg", "sendQueue", "webhookOutbox", "sessions"] {
            assert!(h["checks"][name]["state"].is_string(), "{kind:?}: {name} missing in {h}");
            assert!(h["checks"][name].get("detail").is_none(), "anonymous callers get no detail: {h}");
        }
        assert_eq!(h["checks"]["database"]["state"], "ok");
        assert_eq!(h["checks"]["sessions"]["state"], "ok");

        let (_, body) = app.get("/api/v1/server/healthz", Some(ADMIN_KEY)).await;
        let h = &body["results"][0];
        assert_eq!(h["checks"]["sendQueue"]["detail"]["depth"], 0, "{h}");
        assert_eq!(h["checks"]["webhookOutbox"]["detail"]["oldestAgeSeconds"], 0, "{h}");
        assert_eq!(h["checks"]["sessions"]["detail"], json!({ "failed": 0, "total": 0 }));
        assert_eq!(h["services"]["fileSystem"], "ok", "the original's fields stay: {h}");

        // A session WhatsApp stopped: degraded, and the detail says how many.
        let admin = app.state.db.find_user_by_username("admin").await.unwrap().unwrap().id;
        let meta = json!({});
        let spec = warest::sessions::manager::NewSessionSpec {
            id: "broken",
            registry: &admin,
            label: None,
            auto_start: false,
            metadata: &meta,
        };
        app.state.sessions.create(spec).await.unwrap();
        app.state.db.set_session_status("broken", "FAILED", Some("temporarily banned")).await.unwrap();
        let (status, body) = app.get("/api/v1/server/healthz", Some(ADMIN_KEY)).await;
        let h = &body["results"][0];
        assert_eq!((status, h["status"].as_str()), (200, Some("degraded")), "{kind:?}: {body}");
        assert_eq!(h["checks"]["sessions"], json!({ "state": "degraded", "detail": { "failed": 1, "total": 1 } }));

        let (status, body) = app.get("/api/v1/server/ready", None).await;
        assert_eq!(status, 200);
        assert_eq!(
            body["results"][0]["checks"],
            json!({ "database": { "state": "ok" }, "bootstrap": { "state": "ok" } })
        );
        app.stop().await;
    }
}
