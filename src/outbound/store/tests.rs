//! The send queue's store on every database: accept with idempotency and limits, claims
//! that never hand one job to two workers, pause, receipts and figures.

use crate::auth::new_id;
use crate::store::Db;
use crate::store::sessions::{NewSession, Scope};
use crate::store::users::NewUser;

use super::*;

async fn session(db: &Db, id: &str) -> String {
    let user = new_id("usr");
    db.create_user(NewUser { id: &user, username: id, password_hash: None, is_admin: false }).await.unwrap();
    let meta = serde_json::json!({});
    let new = NewSession { id, registry: &user, label: None, status: "stopped", auto_start: false, metadata: &meta };
    db.create_session(new).await.unwrap();
    user
}

fn job<'a>(id: &'a str, payload: &'a str) -> NewJob<'a> {
    NewJob { message_id: id, to_jid: "15550001001@s.whatsapp.net", kind: "text", payload }
}

async fn accepts_once_per_idempotency_key(db: &Db) {
    let reg = session(db, "s-idem").await;
    let key = |hash: &'static str| IdemKey { key: "k1", request_hash: hash, response: "{\"id\":\"m1\"}" };
    let first = db.outbound_accept("s-idem", &reg, &[job("m1", "{}")], Some(key("h1")), 100).await.unwrap();
    assert!(matches!(first, Accepted::Queued), "{first:?}");
    let again = db.outbound_accept("s-idem", &reg, &[job("m2", "{}")], Some(key("h1")), 100).await.unwrap();
    assert!(
        matches!(&again, Accepted::Replay { same_request: true, response } if response == "{\"id\":\"m1\"}"),
        "{again:?}"
    );
    let other = db.outbound_accept("s-idem", &reg, &[job("m3", "{}")], Some(key("h2")), 100).await.unwrap();
    assert!(matches!(other, Accepted::Replay { same_request: false, .. }), "{other:?}");
    assert_eq!(db.idempotency_lookup(&reg, "k1").await.unwrap().map(|(h, _)| h).as_deref(), Some("h1"));
    // Only the first request stored a job.
    assert!(db.outbound_message(Scope::All, "m2", None).await.is_err());
    assert_eq!(db.outbound_message(Scope::All, "m1", Some("s-idem")).await.unwrap().status, QUEUED);
}

async fn limits_refuse_and_store_nothing(db: &Db) {
    let reg = session(db, "s-full").await;
    db.outbound_accept("s-full", &reg, &[job("a", "{}"), job("b", "{}")], None, 2).await.unwrap();
    let full = db.outbound_accept("s-full", &reg, &[job("c", "{}")], None, 2).await.unwrap();
    assert!(matches!(full, Accepted::Full { depth: 2 }), "{full:?}");
    let limits = AcceptLimits { max_size: 100, tenant_max_bytes: 10 };
    let big = [AcceptRequest { jobs: &[job("d", "0123456789")], idem: None }];
    let refused = db.outbound_accept_all("s-full", &reg, &big, limits).await.unwrap();
    assert!(matches!(refused[..], [Accepted::TenantBytes { used: 4 }]), "{refused:?}");
    assert!(db.outbound_message(Scope::All, "d", None).await.is_err());
}

/// Four workers claim twenty jobs at once: each job goes to exactly one of them.
async fn concurrent_claims_take_each_job_once(db: &Db) {
    let reg = session(db, "s-claim").await;
    let ids: Vec<String> = (0..20).map(|i| format!("c{i:02}")).collect();
    let jobs: Vec<NewJob> = ids.iter().map(|id| job(id, "{}")).collect();
    db.outbound_accept("s-claim", &reg, &jobs, None, 100).await.unwrap();
    let workers = (0..4).map(|_| {
        let db = db.clone();
        tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(j) = db.outbound_claim("s-claim").await.unwrap() {
                assert_eq!(j.attempts, 1);
                got.push(j.message_id);
            }
            got
        })
    });
    let mut claimed: Vec<String> = Vec::new();
    for w in workers.collect::<Vec<_>>() {
        claimed.extend(w.await.unwrap());
    }
    claimed.sort();
    assert_eq!(claimed, ids);
}

async fn pause_receipts_and_figures(db: &Db) {
    let reg = session(db, "s-flow").await;
    db.outbound_accept("s-flow", &reg, &[job("f1", "{\"text\":\"hi\"}"), job("f2", "{}")], None, 100).await.unwrap();
    db.outbound_set_paused("s-flow", true).await.unwrap();
    assert!(db.outbound_claim("s-flow").await.unwrap().is_none());
    assert_eq!(db.outbound_paused_sessions().await.unwrap(), ["s-flow"]);
    db.outbound_set_paused("s-flow", false).await.unwrap();
    let j = db.outbound_claim("s-flow").await.unwrap().unwrap();
    assert_eq!((j.message_id.as_str(), j.payload.as_str()), ("f1", "{\"text\":\"hi\"}"));

    db.outbound_sent(j.seq).await.unwrap();
    let to = db.outbound_advance("s-flow", "f1", DELIVERED, 1_000).await.unwrap();
    assert_eq!(to.as_deref(), Some("15550001001@s.whatsapp.net"));
    assert_eq!(db.outbound_advance("s-flow", "f1", DELIVERED, 2_000).await.unwrap(), None);
    let read = db.outbound_advance("s-flow", "f1", READ, 3_000).await.unwrap();
    assert!(read.is_some());
    let rec = db.outbound_message(Scope::Registry(&reg), "f1", None).await.unwrap();
    assert_eq!((rec.status.as_str(), rec.delivered_at, rec.read_at), (READ, Some(1_000), Some(3_000)));

    let stats = db.outbound_stats(Scope::Registry(&reg)).await.unwrap();
    assert_eq!((stats[0].queued, stats[0].in_flight, stats[0].failed), (1, 0, 0));
    assert_eq!(db.outbound_clear("s-flow").await.unwrap(), 1);
    let stats = db.outbound_stats(Scope::All).await.unwrap();
    let mine = stats.iter().find(|s| s.session_id == "s-flow").unwrap();
    assert_eq!((mine.queued, mine.failed), (0, 1));
    let cleared = db.outbound_message(Scope::All, "f2", None).await.unwrap();
    assert_eq!(cleared.last_error.as_deref(), Some("cleared from the queue"));
}

mod on_all {
    use crate::testing::on_every_db;
    on_every_db!(
        accepts_once_per_idempotency_key,
        limits_refuse_and_store_nothing,
        concurrent_claims_take_each_job_once,
        pause_receipts_and_figures,
    );
}
