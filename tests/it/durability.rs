//! What a commit promises (issue 16, item 9): SQLite runs with `synchronous = FULL` unless
//! `WAREST_SQLITE_SYNCHRONOUS=normal` says otherwise (the README says what that loses).

use crate::common;

use common::{Kind, TestApp};

async fn synchronous(app: &TestApp) -> i64 {
    sqlx::query_scalar("PRAGMA synchronous").fetch_one(app.state.db.pool()).await.unwrap()
}

#[tokio::test]
async fn sqlite_commits_are_synced_in_full_unless_relaxed() {
    let app = TestApp::spawn_with(Kind::Sqlite, &[]).await;
    assert_eq!(synchronous(&app).await, 2, "FULL by default");
    app.stop().await;
    let relaxed = TestApp::spawn_with(Kind::Sqlite, &[("WAREST_SQLITE_SYNCHRONOUS", "normal")]).await;
    assert_eq!(synchronous(&relaxed).await, 1, "NORMAL when asked");
    relaxed.stop().await;
}
