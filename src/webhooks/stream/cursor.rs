//! The stream's read position in `webhook_events`, and when it may move past a missing
//! `seq`: the part of the stream that decides what "every committed event, in order" means.
//!
//! The cursor shows `seq > after` in `seq` order and never moves past a `seq` that is
//! missing but may still commit. Whether a missing `seq` may still commit:
//!
//! - SQLite: never. Writers are serialized (one write lock, held from a transaction's first
//!   write to its commit), so a visible `seq` means every smaller one has committed or is
//!   gone for good (rolled back, or deleted by retention).
//! - Postgres: a `seq` is taken from the sequence when its INSERT runs, and the INSERT has
//!   locked `webhook_events` (`RowExclusiveLock`, taken before the statement executes and
//!   held to the end of the transaction) before that. So when a read shows `seq` S and not
//!   G < S, G's transaction locked the table before that read. The transactions holding
//!   that lock just after the read (from `pg_locks`) therefore include G's, if it is still
//!   running; once none of them is running (each holds its own `virtualxid` lock while it
//!   lives), a read then shows G if it committed, and G is gone for good if not. The wait
//!   is exact, not a guess by time, and it waits only for transactions that write events
//!   (or delete them), not for unrelated long transactions.
//! - MySQL/MariaDB: InnoDB takes an AUTO_INCREMENT value inside the INSERT, so the same
//!   reasoning holds with `information_schema.INNODB_TRX` for `pg_locks`: G's transaction
//!   had begun before that read, so it is among the transactions running just after it.
//!   InnoDB does not say which of them wrote `webhook_events`, so the cursor waits for all
//!   of them (any long transaction on the database delays a gap, never a gapless stream).
//!   Reading `INNODB_TRX` needs the `PROCESS` privilege; without it (a user granted only
//!   its database) a gap settles after [`BLIND_WAIT`] instead, and a warning says so once.

use sqlx::Row;

use crate::store::{Db, DbKind, RowText, StoreResult};
use crate::webhooks::StoredEvent;
use crate::webhooks::ops::Filter;

/// Seqs read per step; a backlog is shown in steps of this many.
const PAGE: i64 = 500;
/// How long a gap waits when the running transactions cannot be seen (MySQL without the
/// `PROCESS` privilege): far longer than an event's write transaction takes, so only a
/// transaction held open that long could commit an event the stream then skips (it stays
/// in the table, for replay).
pub const BLIND_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

pub struct Cursor {
    /// Every event up to this seq was shown (or filtered out, or is gone for good).
    after: i64,
    /// A missing seq at or below this is gone for good.
    settled: i64,
    /// Missing seqs at or below `upto` that wait on these transactions.
    pending: Option<Pending>,
}

struct Pending {
    upto: i64,
    /// The writers' virtual transaction ids, comma-separated (as `pg_locks` spells them;
    /// InnoDB transaction ids on MySQL).
    writers: String,
    /// Set when the writers could not be seen: the gap settles at this time instead.
    blind_until: Option<std::time::Instant>,
}

/// One step's result.
pub struct Step {
    pub events: Vec<StoredEvent>,
    /// Read again at once: a full page was read, or a gap can be settled now.
    pub again: bool,
}

impl Cursor {
    /// After `last` (a resume), or after the newest stored event (a new stream).
    pub async fn start(db: &Db, last: Option<i64>) -> StoreResult<Cursor> {
        let after = match last {
            Some(last) => last,
            None => sqlx::query("SELECT COALESCE(MAX(seq), 0) AS m FROM webhook_events")
                .fetch_one(db.pool())
                .await?
                .try_get("m")?,
        };
        let settled = match db.kind() {
            DbKind::Sqlite => i64::MAX,
            DbKind::Postgres | DbKind::Mysql => after,
        };
        Ok(Cursor { after, settled, pending: None })
    }

    /// Whether a gap is being waited on (the caller polls sooner: a rollback wakes no one).
    pub fn waiting(&self) -> bool {
        self.pending.is_some()
    }

    /// The next events matching `f` that can be shown in order (possibly none).
    pub async fn step(&mut self, db: &Db, f: &Filter<'_>) -> StoreResult<Step> {
        // Checked before the read: a writer that ended before it is seen by it.
        if let Some(p) = &self.pending
            && match p.blind_until {
                Some(at) => std::time::Instant::now() >= at,
                None => !any_running(db, &p.writers).await?,
            }
        {
            self.settled = self.settled.max(p.upto);
            self.pending = None;
        }
        let seqs: Vec<i64> = sqlx::query(db.sql("SELECT seq FROM webhook_events WHERE seq > $1 ORDER BY seq LIMIT $2"))
            .bind(self.after)
            .bind(PAGE)
            .fetch_all(db.pool())
            .await?
            .iter()
            .map(|r| r.try_get("seq"))
            .collect::<Result<_, _>>()?;
        let (ready, gap) = ready_upto(self.after, self.settled, &seqs);
        let mut again = seqs.len() as i64 == PAGE && !gap;
        if gap && self.pending.is_none() {
            let upto = seqs.last().copied().unwrap_or(self.after);
            self.pending = Some(match writers(db).await? {
                Some(writers) => {
                    // With none, the gap settles on the next step: one more read, at once.
                    again = writers.is_empty();
                    Pending { upto, writers, blind_until: None }
                }
                None => {
                    Pending { upto, writers: String::new(), blind_until: Some(std::time::Instant::now() + BLIND_WAIT) }
                }
            });
        }
        let mut events = Vec::new();
        if ready > self.after {
            // At most PAGE rows lie in (after, ready], and none can appear there any more.
            events = db.events_after(f, self.after, PAGE).await?;
            events.retain(|e| e.seq <= ready);
            self.after = ready;
        }
        Ok(Step { events, again })
    }
}

/// How far the stream can go from `after` over the seqs read (ascending), and whether it
/// stopped at a gap that may still fill: a missing seq is passed only when it is at or
/// below `settled`.
fn ready_upto(after: i64, settled: i64, seqs: &[i64]) -> (i64, bool) {
    let mut ready = after;
    for &s in seqs {
        if s == ready + 1 || s - 1 <= settled {
            ready = s;
        } else {
            return (ready, true);
        }
    }
    (ready, false)
}

/// The transactions (other than this connection's) that hold or await the write lock on
/// `webhook_events` now (on MySQL: every running one): every one that may still commit a
/// seq taken before. `None`: they cannot be seen (MySQL without `PROCESS`).
async fn writers(db: &Db) -> StoreResult<Option<String>> {
    if db.kind() == DbKind::Mysql {
        let rows = sqlx::query(
            "SELECT CAST(trx_id AS CHAR) AS tx FROM information_schema.INNODB_TRX
              WHERE trx_mysql_thread_id <> CONNECTION_ID()",
        )
        .fetch_all(db.pool())
        .await;
        let rows = match rows {
            Ok(rows) => rows,
            // 1227, ER_SPECIFIC_ACCESS_DENIED_ERROR: the user lacks PROCESS.
            Err(sqlx::Error::Database(e))
                if e.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>().is_some_and(|m| m.number() == 1227) =>
            {
                static WARNED: std::sync::Once = std::sync::Once::new();
                WARNED.call_once(|| {
                    tracing::warn!(
                        error = %e,
                        "event streams cannot see running transactions without the PROCESS privilege; \
                         a gap in event ids is waited out for {}s instead",
                        BLIND_WAIT.as_secs()
                    )
                });
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        };
        let ids: Vec<String> = rows.iter().map(|r| r.text("tx")).collect::<Result<_, _>>()?;
        return Ok(Some(ids.join(",")));
    }
    let rows = sqlx::query(
        "SELECT DISTINCT virtualtransaction AS vx FROM pg_locks
         WHERE locktype = 'relation' AND relation = 'webhook_events'::regclass
           AND mode = 'RowExclusiveLock' AND pid <> pg_backend_pid() AND virtualtransaction IS NOT NULL",
    )
    .fetch_all(db.pool())
    .await?;
    let ids: Vec<String> = rows.iter().map(|r| r.try_get("vx")).collect::<Result<_, _>>()?;
    Ok(Some(ids.join(",")))
}

/// Whether any of `writers` is still running.
async fn any_running(db: &Db, writers: &str) -> StoreResult<bool> {
    if writers.is_empty() {
        return Ok(false);
    }
    let n: i64 = sqlx::query(db.pick(
        "SELECT COUNT(*) AS n FROM pg_locks
         WHERE locktype = 'virtualxid' AND virtualxid = ANY(string_to_array($1, ','))",
        "SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX WHERE FIND_IN_SET(CAST(trx_id AS CHAR), ?) > 0",
    ))
    .bind(writers)
    .fetch_one(db.pool())
    .await?
    .try_get("n")?;
    Ok(n > 0)
}

#[cfg(test)]
mod tests {
    use super::{ready_upto, writers};
    use crate::config::{Database, Secret};
    use crate::store::Db;

    /// A MySQL user granted only its database cannot read `INNODB_TRX`: the cursor learns
    /// that the writers are unknown (and waits gaps out) instead of failing every step.
    #[tokio::test]
    async fn without_process_the_writers_are_unknown_not_an_error() {
        let Some(t) = crate::testing::TestDb::mysql().await else { return };
        let Database::Mysql { url } = &t.database else { unreachable!() };
        let name = url.expose().rsplit('/').next().unwrap().split('?').next().unwrap().to_string();
        // Short: MySQL allows 32 characters in a user name.
        let user = format!("np_{}", &name[name.len().saturating_sub(12)..]);
        for q in [
            format!("CREATE USER IF NOT EXISTS '{user}'@'%' IDENTIFIED BY 'np-pass'"),
            format!("GRANT ALL ON {name}.* TO '{user}'@'%'"),
        ] {
            sqlx::query(&q).execute(t.db.pool()).await.unwrap();
        }
        let (_, at) = url.expose().split_once('@').unwrap();
        let plain = Db::connect(&Database::Mysql { url: Secret::new(format!("mysql://{user}:np-pass@{at}")) }, 2)
            .await
            .unwrap();
        assert_eq!(writers(&plain).await.unwrap(), None);
        assert!(writers(&t.db).await.unwrap().is_some(), "root sees the running transactions");
        plain.close().await;
        sqlx::query(&format!("DROP USER '{user}'@'%'")).execute(t.db.pool()).await.unwrap();
        t.cleanup().await;
    }

    #[test]
    fn the_cursor_stops_at_a_gap_until_it_is_settled() {
        assert_eq!(ready_upto(10, 10, &[]), (10, false));
        assert_eq!(ready_upto(10, 10, &[11, 12, 13]), (13, false));
        // 12 missing, maybe still committing: 13 waits.
        assert_eq!(ready_upto(10, 10, &[11, 13, 14]), (11, true));
        // 12 settled (gone for good): pass it.
        assert_eq!(ready_upto(10, 12, &[11, 13, 14]), (14, false));
        // Settled up to 13, but 15 is a new gap.
        assert_eq!(ready_upto(10, 13, &[11, 14, 16]), (14, true));
        // SQLite: never a gap that may fill.
        assert_eq!(ready_upto(0, i64::MAX, &[5, 9, 100]), (100, false));
    }
}
