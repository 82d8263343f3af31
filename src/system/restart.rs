//! Restarts the way a supervised service does them: the process stops gracefully (the
//! send queue drains its in-flight sends within `WAREST_SHUTDOWN_TIMEOUT`, sessions stop
//! cleanly, the database closes) and exits with [`RESTART_EXIT_CODE`], which the
//! supervisor (systemd `Restart=on-failure`/`RestartForceExitStatus=75`, Docker
//! `restart: unless-stopped`, PM2, …) answers by starting it again.
//!
//! A daily restart time is kept in the database (`server_restart_schedule`), so it
//! survives the restarts it causes; [`run_scheduler`] fires it. Owns no HTTP.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use sqlx::Row;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::store::{Db, RowText, StoreResult, now_ms};

/// EX_TEMPFAIL: "try again later". The process exits with it after a requested restart.
pub const RESTART_EXIT_CODE: u8 = 75;

/// A restart that was asked for and is under way (or waiting for its delay).
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub at: DateTime<Utc>,
    pub reason: String,
}

/// The shared restart switch of one process.
#[derive(Clone, Default)]
pub struct Restarter {
    requested: CancellationToken,
    pending: Arc<Mutex<Option<Pending>>>,
    /// Woken when the schedule changes.
    schedule_changed: Arc<Notify>,
}

impl Restarter {
    /// Asks for a restart in `delay`. Returns `Err(existing)` if one is already pending.
    pub fn request(&self, delay: Duration, reason: &str) -> Result<Pending, Pending> {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = pending.as_ref() {
            return Err(p.clone());
        }
        let at = Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
        let p = Pending { at, reason: reason.to_string() };
        *pending = Some(p.clone());
        let token = self.requested.clone();
        tracing::warn!(%at, reason, "restart requested");
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            token.cancel();
        });
        Ok(p)
    }

    /// Whether the process is stopping to be restarted (then it exits with
    /// [`RESTART_EXIT_CODE`]).
    pub fn is_requested(&self) -> bool {
        self.requested.is_cancelled()
    }

    /// Resolves once a requested restart's delay has passed.
    pub async fn wait(&self) {
        self.requested.cancelled().await
    }

    pub fn schedule_changed(&self) {
        self.schedule_changed.notify_one();
    }
}

/// The stored daily restart.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// `HH:MM`, 24-hour.
    pub time: NaiveTime,
    pub timezone: Tz,
    /// Unix ms of the last occurrence fired, and of the last change.
    pub last_fired_at: Option<i64>,
    pub updated_at: i64,
}

impl Schedule {
    /// The first occurrence of the daily time strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> DateTime<Utc> {
        let local = after.with_timezone(&self.timezone);
        for day in 0..3 {
            let date = local.date_naive() + chrono::Days::new(day);
            // A time skipped by a DST change falls on the next valid instant of that day.
            let candidate = self.timezone.from_local_datetime(&date.and_time(self.time)).earliest().or_else(|| {
                self.timezone.from_local_datetime(&(date.and_time(self.time) + chrono::Duration::hours(1))).earliest()
            });
            if let Some(c) = candidate.map(|c| c.with_timezone(&Utc))
                && c > after
            {
                return c;
            }
        }
        after + chrono::Duration::days(1)
    }
}

/// Parses `HH:MM` (24-hour).
pub fn parse_time(s: &str) -> Option<NaiveTime> {
    let (h, m) = s.trim().split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    NaiveTime::from_hms_opt(h.parse().ok()?, m.parse().ok()?, 0)
}

const KEY: &str = "daily";

impl Db {
    pub async fn restart_schedule(&self) -> StoreResult<Option<Schedule>> {
        let row = sqlx::query(
            self.sql("SELECT schedule, timezone, last_fired_at, updated_at FROM server_restart_schedule WHERE id = $1"),
        )
        .bind(KEY)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let (time, tz) = (row.text("schedule")?, row.text("timezone")?);
        // A row this code did not write is ignored rather than failing the scheduler.
        let (Some(time), Ok(timezone)) = (parse_time(&time), tz.parse::<Tz>()) else {
            tracing::warn!(%time, %tz, "ignoring an unreadable restart schedule");
            return Ok(None);
        };
        Ok(Some(Schedule {
            time,
            timezone,
            last_fired_at: row.try_get("last_fired_at")?,
            updated_at: row.try_get("updated_at")?,
        }))
    }

    /// Stores the daily restart (replacing any), or clears it with `None`.
    pub async fn set_restart_schedule(&self, schedule: Option<(NaiveTime, Tz)>) -> StoreResult<()> {
        match schedule {
            None => {
                sqlx::query(self.sql("DELETE FROM server_restart_schedule WHERE id = $1"))
                    .bind(KEY)
                    .execute(self.pool())
                    .await?;
            }
            Some((time, tz)) => {
                sqlx::query(self.sql(
                    "INSERT INTO server_restart_schedule (id, schedule, timezone, last_fired_at, updated_at)
                     VALUES ($1, $2, $3, NULL, $4)
                     ON CONFLICT (id) DO UPDATE SET schedule = excluded.schedule, timezone = excluded.timezone,
                         last_fired_at = NULL, updated_at = excluded.updated_at",
                ))
                .bind(KEY)
                .bind(time.format("%H:%M").to_string())
                .bind(tz.name())
                .bind(now_ms())
                .execute(self.pool())
                .await?;
            }
        }
        Ok(())
    }

    async fn restart_fired(&self, at: i64) -> StoreResult<()> {
        sqlx::query(self.sql("UPDATE server_restart_schedule SET last_fired_at = $1 WHERE id = $2"))
            .bind(at)
            .bind(KEY)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}

/// Fires the stored daily restart until `stop`. Only occurrences after this process
/// started, after the schedule was last changed and after the last one fired count: a
/// restart missed while the gateway was down is not made up later, and the process a
/// scheduled restart brings back does not fire the same occurrence again (the firing is
/// recorded before the restart is requested).
pub async fn run_scheduler(db: Db, restarter: Restarter, stop: CancellationToken) {
    let started = now_ms();
    loop {
        let schedule = match db.restart_schedule().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the restart schedule");
                None
            }
        };
        // Checked at least every minute, so a schedule written by another node is seen too.
        let mut wait = Duration::from_secs(60);
        if let Some(s) = schedule {
            let anchor = started.max(s.updated_at).max(s.last_fired_at.unwrap_or(0));
            let next = s.next_after(DateTime::from_timestamp_millis(anchor).unwrap_or_else(Utc::now));
            match (next - Utc::now()).to_std() {
                Ok(due_in) if !due_in.is_zero() => wait = wait.min(due_in),
                _ => match db.restart_fired(next.timestamp_millis()).await {
                    Ok(()) => {
                        let _ = restarter.request(Duration::ZERO, "scheduled");
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot record the scheduled restart; not restarting"),
                },
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = restarter.schedule_changed.notified() => {}
            _ = stop.cancelled() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn parses_hh_mm_only() {
        assert_eq!(parse_time("02:30"), NaiveTime::from_hms_opt(2, 30, 0));
        assert_eq!(parse_time("2:05"), NaiveTime::from_hms_opt(2, 5, 0));
        for bad in ["24:00", "02:60", "0230", "02:3", "x:00", ""] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn next_occurrence_in_the_schedule_timezone() {
        let s = Schedule {
            time: parse_time("02:00").unwrap(),
            timezone: "Asia/Jakarta".parse().unwrap(),
            last_fired_at: None,
            updated_at: 0,
        };
        // 18:00 UTC = 01:00 in Jakarta (UTC+7): today's 02:00 local is an hour away.
        assert_eq!(s.next_after(utc("2024-05-01T18:00:00Z")), utc("2024-05-01T19:00:00Z"));
        // Exactly at the time: the next one is tomorrow.
        assert_eq!(s.next_after(utc("2024-05-01T19:00:00Z")), utc("2024-05-02T19:00:00Z"));
    }
}
