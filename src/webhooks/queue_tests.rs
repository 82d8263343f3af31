//! The delivery queue's claim on every database: concurrent claimers (as nodes sharing one
//! database would run) never hand one delivery to two of them, and each (session, url)
//! line is delivered in order.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use crate::config::{Config, WebhookConfig};
use crate::store::{Db, now_ms};
use crate::webhooks::{NewEvent, begin_write, outbox};

const SESSIONS: usize = 6;
const PER_SESSION: usize = 4;

fn config() -> WebhookConfig {
    let vars = HashMap::from([("WEBHOOK_DEFAULT_URL".to_string(), "http://127.0.0.1:9/hook".to_string())]);
    Config::from_map(&vars).unwrap().webhook
}

async fn fill(db: &Db) -> usize {
    let cfg = config();
    for i in 0..PER_SESSION {
        for s in 0..SESSIONS {
            let mut tx = begin_write(db).await.unwrap();
            let data = serde_json::json!({ "n": i });
            let ev = NewEvent { session_id: &format!("q{s}"), registry: "r", event: "message_received", data, ts: 1 };
            outbox::insert(db, &mut tx, &cfg, ev).await.unwrap();
            tx.commit().await.unwrap();
        }
    }
    SESSIONS * PER_SESSION
}

async fn concurrent_claims_take_each_delivery_once_and_in_line_order(db: &Db) {
    let total = fill(db).await;
    // Every claim, in the order claimers made them: (delivery id, session).
    let claims = Arc::new(Mutex::new(Vec::<(i64, String)>::new()));
    let workers = (0..4).map(|_| {
        let (db, claims) = (db.clone(), claims.clone());
        tokio::spawn(async move {
            // Bounded: far more rounds than the work needs.
            for _ in 0..400 {
                let got = db.claim_deliveries(3, now_ms() + 60_000, &[]).await.unwrap();
                for c in &got {
                    claims.lock().unwrap().push((c.id, c.session_id.clone()));
                    db.delivery_done(c.id, 200).await.unwrap();
                }
                if got.is_empty() && claims.lock().unwrap().len() >= total {
                    return;
                }
                tokio::task::yield_now().await;
            }
        })
    });
    for w in futures_util::future::join_all(workers).await {
        w.unwrap();
    }
    let claims = claims.lock().unwrap().clone();
    let ids: HashSet<i64> = claims.iter().map(|c| c.0).collect();
    assert_eq!(ids.len(), claims.len(), "{:?}: a delivery was claimed twice: {claims:?}", db.kind());
    assert_eq!(claims.len(), total, "{:?}: every delivery once", db.kind());
    // A line's next delivery is claimed only after the one before it was done.
    for s in 0..SESSIONS {
        let line: Vec<i64> = claims.iter().filter(|c| c.1 == format!("q{s}")).map(|c| c.0).collect();
        assert!(line.windows(2).all(|w| w[0] < w[1]), "{:?}: q{s} out of order: {line:?}", db.kind());
    }
    assert_eq!(db.outbox_backlog().await.unwrap().depth, 0);
}

mod on_all {
    use crate::testing::on_every_db;
    on_every_db!(concurrent_claims_take_each_delivery_once_and_in_line_order);
}
