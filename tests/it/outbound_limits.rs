//! The send queue's size limit holds under concurrent requests on the database servers
//! too (Postgres, MySQL/MariaDB; issue 16, item 9): forty sends at once to a paused session
//! whose queue takes five leave exactly five queued; the others are refused with 429, none
//! half-accepted.

use crate::common;
use crate::e2e_send::{gateway, linked_session};

use common::{Kind, envelope_code, server_kinds};
use serde_json::json;
use warest_sandbox::{Behaviour, Sandbox};

const PHONE: &str = "15550007201";
const CONTACT: &str = "15550007202";

#[tokio::test]
async fn the_queue_limit_holds_under_concurrent_sends_on_database_servers() {
    for kind in server_kinds() {
        queue_limit_holds(kind).await;
    }
}

async fn queue_limit_holds(kind: Kind) {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.create_contact(CONTACT, Behaviour::Silent).await.unwrap();
    let env = [("WAREST_QUEUE_MAX_SIZE", "5"), ("RATE_LIMIT_MAX", "100000"), ("SPAM_COOLDOWN_MS", "0")];
    let app = gateway(kind, &sandbox, &env).await;
    let (_, key) = app.create_user("limits").await;
    linked_session(&app, &sandbox, &key, "main", PHONE).await;
    let (status, _) = app.post("/api/v1/session/main/queue/pause", Some(&key), json!({})).await;
    assert_eq!(status, 200);

    let sends = (0..40).map(|i| {
        let body = json!({ "sessionId": "main", "to": format!("+{CONTACT}"), "message": format!("burst {i}") });
        common::call(app.req(reqwest::Method::POST, "/api/v1/messages/send/text", Some(&key)).json(&body))
    });
    let answers = futures_util::future::join_all(sends).await;
    let accepted = answers.iter().filter(|(s, _)| *s == 200).count();
    let full: Vec<_> = answers.iter().filter(|(s, _)| *s == 429).collect();
    assert_eq!(accepted, 5, "{kind:?}: {answers:?}");
    assert_eq!(full.len(), 35, "{kind:?}: {answers:?}");
    let codes: std::collections::BTreeSet<u64> = full.iter().map(|(_, b)| envelope_code(b)).collect();
    assert_eq!(codes.len(), 1, "one refusal, the full queue: {codes:?}");
    let depth: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbound_messages WHERE session_id = 'main' AND status IN ('queued', 'sending')",
    )
    .fetch_one(app.state.db.pool())
    .await
    .unwrap();
    assert_eq!(depth, 5);
    app.stop().await;
}

/// The same race at the store, where it is widest: sixty accepts at once on a pool of
/// connections, ten rounds; each round leaves exactly the limit queued.
#[tokio::test]
async fn concurrent_accepts_never_exceed_the_limit_on_database_servers() {
    for kind in server_kinds() {
        let t = match kind {
            Kind::Mysql => warest::testing::TestDb::mysql().await,
            _ => warest::testing::TestDb::postgres().await,
        };
        concurrent_accepts(t.expect("configured")).await;
    }
}

async fn concurrent_accepts(t: warest::testing::TestDb) {
    use warest::outbound::store::{Accepted, NewJob};
    use warest::store::sessions::NewSession;
    let db = t.db.clone();
    db.create_user(warest::store::users::NewUser { id: "uq", username: "quser", password_hash: None, is_admin: false })
        .await
        .unwrap();
    let new = NewSession {
        id: "q1",
        registry: "uq",
        label: None,
        status: "STOPPED",
        auto_start: false,
        metadata: &json!({}),
    };
    db.create_session(new).await.unwrap();
    for round in 0..10 {
        let tasks = (0..60).map(|i| {
            let db = db.clone();
            tokio::spawn(async move {
                let id = format!("r{round}-{i}");
                let job = NewJob { message_id: &id, to_jid: "1@s.whatsapp.net", kind: "text", payload: "{}" };
                matches!(db.outbound_accept("q1", "uq", &[job], None, 5).await.unwrap(), Accepted::Queued)
            })
        });
        let queued = futures_util::future::join_all(tasks).await.into_iter().filter(|r| *r.as_ref().unwrap()).count();
        assert_eq!(queued, 5, "{:?} round {round}: {queued} accepted past a limit of 5", db.kind());
        sqlx::query("DELETE FROM outbound_messages WHERE session_id = 'q1'").execute(db.pool()).await.unwrap();
    }
    t.cleanup().await;
}
