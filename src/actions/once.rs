//! At most once: every side-effecting action of a run is claimed in `action_runs` before
//! it runs, keyed by (event, target, action occurrence), and its outcome stored when it
//! ends. A redelivered event — the same delivery retried after a crash or after marking it
//! delivered failed, or a replay (a new delivery of the same event to the same target) —
//! gets the same answer, and its actions find their claims and are skipped.
//!
//! The key is the target, not the delivery id: a replay makes a new delivery, and its
//! answer must not act on WhatsApp again (see `Db::requeue_events`).

use serde_json::{Value, json};

use crate::store::{Db, RowText, StoreResult, now_ms};

/// What an earlier run left for one action occurrence.
pub(super) enum Claim {
    /// Nobody ran it: this run does, and has now claimed it.
    New,
    /// It ran to the end with this outcome.
    Done(Result<Value, String>),
    /// An earlier run claimed it and never recorded an end (it crashed, or the store
    /// failed): it may or may not have happened.
    Unfinished,
}

/// Claims `path` of the event's answer from `target`, or says what became of it.
pub(super) async fn claim(db: &Db, event_id: &str, target: &str, path: &str, session_id: &str) -> StoreResult<Claim> {
    let inserted = sqlx::query(db.sql(
        "INSERT INTO action_runs (event_id, target, path, session_id, outcome, created_at)
         VALUES ($1, $2, $3, $4, NULL, $5) ON CONFLICT DO NOTHING",
    ))
    .bind(event_id)
    .bind(target)
    .bind(path)
    .bind(session_id)
    .bind(now_ms())
    .execute(db.pool())
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(Claim::New);
    }
    let outcome: Option<String> =
        sqlx::query(db.sql("SELECT outcome FROM action_runs WHERE event_id = $1 AND target = $2 AND path = $3"))
            .bind(event_id)
            .bind(target)
            .bind(path)
            .fetch_optional(db.pool())
            .await?
            .map(|r| r.text_opt("outcome"))
            .transpose()?
            .flatten();
    Ok(match outcome {
        None => Claim::Unfinished,
        Some(text) => Claim::Done(decode(&text)),
    })
}

/// Stores the outcome of a claimed action.
pub(super) async fn finish(
    db: &Db,
    event_id: &str,
    target: &str,
    path: &str,
    outcome: &Result<Value, String>,
) -> StoreResult<()> {
    sqlx::query(db.sql("UPDATE action_runs SET outcome = $1 WHERE event_id = $2 AND target = $3 AND path = $4"))
        .bind(encode(outcome).to_string())
        .bind(event_id)
        .bind(target)
        .bind(path)
        .execute(db.pool())
        .await?;
    Ok(())
}

fn encode(outcome: &Result<Value, String>) -> Value {
    match outcome {
        Ok(v) => json!({ "ok": true, "result": v }),
        Err(e) => json!({ "ok": false, "error": e }),
    }
}

fn decode(text: &str) -> Result<Value, String> {
    let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    if v["ok"] == true {
        Ok(v.get("result").cloned().unwrap_or(Value::Null))
    } else {
        Err(v["error"].as_str().unwrap_or("failed in an earlier run").to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_survive_the_round_trip() {
        let ok: Result<Value, String> = Ok(json!({ "messageIds": ["A"] }));
        assert_eq!(decode(&encode(&ok).to_string()), ok);
        let err: Result<Value, String> = Err("nope".into());
        assert_eq!(decode(&encode(&err).to_string()), err);
        assert_eq!(decode(&encode(&Ok(Value::Null)).to_string()), Ok(Value::Null));
    }
}
