//! The stored daily restart on SQLite and Postgres: set, read back through the API and
//! after a restart of the app, cleared with "0". (Firing and the exit code are covered
//! with the real binary in `e2e_restart.rs`.)

use crate::common;

use common::{ADMIN_KEY, TestApp, kinds};
use serde_json::{Value, json};

#[tokio::test]
async fn schedule_is_stored_survives_a_restart_and_clears() {
    for kind in kinds() {
        let app = TestApp::spawn(kind).await;
        let path = "/api/v1/server/restart/scheduled";
        let (status, body) = app.get(path, Some(ADMIN_KEY)).await;
        assert_eq!((status, body["results"].clone()), (200, Value::Null), "{kind:?} {body}");
        let (status, body) =
            app.post(path, Some(ADMIN_KEY), json!({ "schedule": "02:30", "timezone": "Asia/Jakarta" })).await;
        assert_eq!(status, 200, "{kind:?} {body}");
        let r = &body["results"][0];
        assert_eq!((r["scheduledRestart"].as_str(), r["timezone"].as_str()), (Some("02:30"), Some("Asia/Jakarta")));
        assert!(r["nextRestartAt"].as_str().unwrap().contains("T02:30:00.000+07:00"), "{body}");

        let app = app.restart().await;
        let (_, body) = app.get(path, Some(ADMIN_KEY)).await;
        assert_eq!(body["results"][0]["scheduledRestart"], "02:30", "{kind:?} {body}");
        // Replacing keeps one schedule.
        let (status, _) = app.post(path, Some(ADMIN_KEY), json!({ "schedule": "3:05" })).await;
        assert_eq!(status, 200);
        let (_, body) = app.get(path, Some(ADMIN_KEY)).await;
        assert_eq!(body["results"][0]["scheduledRestart"], "03:05", "{kind:?} {body}");

        let (status, body) = app.post(path, Some(ADMIN_KEY), json!({ "schedule": "0" })).await;
        assert_eq!((status, body["results"].clone()), (200, Value::Null), "{kind:?} {body}");
        let (_, body) = app.get(path, Some(ADMIN_KEY)).await;
        assert_eq!(body["results"], Value::Null, "{kind:?} {body}");
        let (status, res) = app.post(path, Some(ADMIN_KEY), json!({ "schedule": "noon" })).await;
        assert_eq!((status, res["results"][0]["field"].as_str()), (400, Some("schedule")), "{res}");
        let (status, res) = app.post(path, Some(ADMIN_KEY), json!({})).await;
        assert_eq!((status, res["results"][0]["field"].as_str()), (400, Some("schedule")), "{res}");
        let (_, key) = app.create_user("tenant").await;
        assert_eq!(app.get(path, Some(&key)).await.0, 403);
        app.stop().await;
    }
}
