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

#[tokio::test]
async fn webhook_bookkeeping_runs_relaxed_and_leaves_the_connection_in_full() {
    let app = TestApp::spawn_with(Kind::Sqlite, &[]).await;
    let db = &app.state.db;
    // A delivery marked done (here: none matches) runs with NORMAL on the one connection,
    // and the next statement on it, whatever it acknowledges, is FULL again.
    for _ in 0..3 {
        db.delivery_done(-1, 200).await.unwrap();
        assert_eq!(synchronous(&app).await, 2, "FULL is back after the relaxed write");
    }
    // A relaxed write cut off midway (its future dropped while it waited for the
    // connection's statement) does not hand a NORMAL connection back to the pool.
    for _ in 0..20 {
        let _ = tokio::time::timeout(std::time::Duration::from_micros(50), db.delivery_done(-1, 200)).await;
        assert_eq!(synchronous(&app).await, 2, "never a relaxed connection in the pool");
    }
    app.stop().await;
}
