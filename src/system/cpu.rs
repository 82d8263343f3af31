//! A background CPU sampler and the aggregation behind `/api/v1/server/cpu-history`.
//!
//! Samples are kept in memory for up to 30 days (at the default 60 s interval that is
//! 43,200 small entries); history does not survive a restart, as in the original.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

const KEEP_SECS: i64 = 30 * 24 * 3600;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Unix seconds.
    pub ts: i64,
    pub usage: f32,
}

#[derive(Default)]
pub struct CpuHistory {
    samples: Mutex<VecDeque<Sample>>,
}

impl CpuHistory {
    pub fn push(&self, sample: Sample) {
        let mut s = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        s.push_back(sample);
        while s.front().is_some_and(|f| sample.ts - f.ts > KEEP_SECS) {
            s.pop_front();
        }
    }

    pub fn latest(&self) -> Option<Sample> {
        self.samples.lock().unwrap_or_else(|e| e.into_inner()).back().copied()
    }

    pub fn since(&self, from_ts: i64) -> Vec<Sample> {
        let s = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        s.iter().filter(|x| x.ts >= from_ts).copied().collect()
    }
}

/// One aggregated bucket: its start (Unix seconds) and mean usage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    pub ts: i64,
    pub usage: f32,
}

/// Groups samples into `interval`-second buckets (aligned to the epoch) and averages each.
pub fn aggregate(samples: &[Sample], interval: i64) -> Vec<Bucket> {
    let mut out: Vec<(i64, f64, u32)> = Vec::new();
    for s in samples {
        let start = s.ts - s.ts.rem_euclid(interval);
        match out.last_mut() {
            Some((ts, sum, n)) if *ts == start => {
                *sum += f64::from(s.usage);
                *n += 1;
            }
            _ => out.push((start, f64::from(s.usage), 1)),
        }
    }
    out.into_iter().map(|(ts, sum, n)| Bucket { ts, usage: round1((sum / f64::from(n)) as f32) }).collect()
}

pub fn round1(x: f32) -> f32 {
    (x * 10.0).round() / 10.0
}

/// Samples global CPU usage every `interval` until cancelled.
pub async fn run_sampler(history: std::sync::Arc<CpuHistory>, interval: Duration, stop: CancellationToken) {
    let mut sys = sysinfo::System::new();
    sys.refresh_cpu_usage();
    // sysinfo needs two readings a moment apart; take the first real sample quickly so the
    // endpoint has data soon after start.
    let mut wait = sysinfo::MINIMUM_CPU_UPDATE_INTERVAL.max(Duration::from_millis(500));
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        sys.refresh_cpu_usage();
        history.push(Sample { ts: chrono::Utc::now().timestamp(), usage: round1(sys.global_cpu_usage()) });
        wait = interval;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_average_within_aligned_intervals() {
        let s = |ts, usage| Sample { ts, usage };
        let got = aggregate(&[s(600, 10.0), s(660, 20.0), s(899, 30.0), s(900, 50.0)], 300);
        assert_eq!(got, vec![Bucket { ts: 600, usage: 20.0 }, Bucket { ts: 900, usage: 50.0 }]);
        assert!(aggregate(&[], 60).is_empty());
    }

    #[test]
    fn history_drops_samples_older_than_thirty_days() {
        let h = CpuHistory::default();
        h.push(Sample { ts: 0, usage: 1.0 });
        h.push(Sample { ts: KEEP_SECS + 1, usage: 2.0 });
        assert_eq!(h.since(i64::MIN).len(), 1);
        assert_eq!(h.latest().unwrap().usage, 2.0);
    }
}
