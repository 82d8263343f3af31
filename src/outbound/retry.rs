//! The retry schedule of a failed send: exponential backoff with jitter, as a pure
//! function so the schedule is tested without clocks.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt; 0 means a transient failure is final.
    pub max_retries: u32,
    pub base_delay: Duration,
    pub factor: f64,
    /// Share of the delay (0–1) that is randomized up or down, so sessions that failed
    /// together do not all retry in the same instant.
    pub jitter: f64,
}

/// Never wait longer than this between two attempts, whatever the factor says.
const MAX_DELAY: Duration = Duration::from_secs(15 * 60);

impl RetryPolicy {
    /// The delay before retry number `attempt` (1 = the first retry), or `None` when the
    /// retries are used up. `unit` is a random number in [0, 1) (0.5 = no jitter).
    pub fn delay(&self, attempt: u32, unit: f64) -> Option<Duration> {
        if attempt == 0 || attempt > self.max_retries {
            return None;
        }
        let exp = self.factor.powi(attempt as i32 - 1);
        let base = (self.base_delay.as_secs_f64() * exp).min(MAX_DELAY.as_secs_f64());
        let spread = self.jitter * (unit.clamp(0.0, 1.0) * 2.0 - 1.0);
        Some(Duration::from_secs_f64((base * (1.0 + spread)).max(0.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(max_retries: u32, jitter: f64) -> RetryPolicy {
        RetryPolicy { max_retries, base_delay: Duration::from_millis(1000), factor: 2.0, jitter }
    }

    #[test]
    fn delays_grow_by_the_factor_and_stop_after_the_last_retry() {
        let p = policy(3, 0.0);
        let got: Vec<_> = (1..=4).map(|a| p.delay(a, 0.9).map(|d| d.as_millis())).collect();
        assert_eq!(got, vec![Some(1000), Some(2000), Some(4000), None]);
        assert_eq!(policy(0, 0.0).delay(1, 0.5), None, "no retries configured");
    }

    #[test]
    fn jitter_spreads_the_delay_both_ways_within_its_share() {
        let p = policy(5, 0.2);
        assert_eq!(p.delay(2, 0.0).unwrap().as_millis(), 1600);
        assert_eq!(p.delay(2, 0.5).unwrap().as_millis(), 2000);
        assert_eq!(p.delay(2, 1.0).unwrap().as_millis(), 2400);
    }

    #[test]
    fn a_huge_factor_is_capped() {
        let p = RetryPolicy { max_retries: 50, base_delay: Duration::from_secs(10), factor: 10.0, jitter: 0.0 };
        assert_eq!(p.delay(40, 0.5), Some(MAX_DELAY));
    }
}
