//! Human-like pacing of a send, when the request (`presence`) or the session
//! (`humanPacing` flag) asks for it: the worker marks the chat read, shows "typing…" for a
//! time that grows with the text (bounded), stops typing, waits a random gap, then sends.
//!
//! Identical texts going to many recipients (a broadcast) are slowed, never dropped: each
//! repeat of the same content within [`BURST_WINDOW`] waits a little longer than the one
//! before, up to [`BURST_MAX_DELAY`]. The decisions are pure functions over explicit
//! inputs so they are tested without clocks; the worker only sleeps what they return.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

/// Typing speed shown to the recipient: about 40 words a minute.
pub const TYPING_PER_CHAR: Duration = Duration::from_millis(45);
pub const TYPING_MIN: Duration = Duration::from_millis(600);
pub const TYPING_MAX: Duration = Duration::from_secs(6);
/// Random gap between "paused" and the message.
pub const GAP_MIN: Duration = Duration::from_millis(200);
pub const GAP_MAX: Duration = Duration::from_millis(1200);
/// How long sends of one content are remembered as one burst.
pub const BURST_WINDOW: Duration = Duration::from_secs(10 * 60);
/// Recipients of the same content that go out without extra delay.
pub const BURST_FREE: usize = 3;
/// Extra delay of the first slowed repeat; each further repeat adds half as much again.
pub const BURST_STEP: Duration = Duration::from_secs(2);
pub const BURST_MAX_DELAY: Duration = Duration::from_secs(60);

/// How long "typing…" shows before a message with `chars` visible characters.
pub fn typing_time(chars: usize) -> Duration {
    let t = TYPING_PER_CHAR.saturating_mul(u32::try_from(chars).unwrap_or(u32::MAX));
    t.clamp(TYPING_MIN, TYPING_MAX)
}

/// The random gap for a uniform sample `unit` in [0, 1).
pub fn gap(unit: f64) -> Duration {
    let span = (GAP_MAX - GAP_MIN).as_secs_f64();
    GAP_MIN + Duration::from_secs_f64(span * unit.clamp(0.0, 1.0))
}

/// Extra delay of a send whose content already went to `earlier` recipients in the
/// window: none for the first [`BURST_FREE`], then growing by half a step more each time
/// (2 s, 3 s, 4 s, …), capped at [`BURST_MAX_DELAY`].
pub fn burst_delay(earlier: usize) -> Duration {
    if earlier < BURST_FREE {
        return Duration::ZERO;
    }
    let k = u32::try_from(earlier - BURST_FREE).unwrap_or(u32::MAX);
    let d = BURST_STEP.saturating_add((BURST_STEP / 2).saturating_mul(k));
    d.min(BURST_MAX_DELAY)
}

/// Remembers recent sends per (session, content) to compute [`burst_delay`]s. In memory:
/// a restart forgets bursts, which only makes the first sends after it faster.
#[derive(Default)]
pub struct Bursts {
    seen: Mutex<HashMap<(String, String), VecDeque<i64>>>,
}

impl Bursts {
    /// Records one send of `content` (a hash) by `session` at `now_ms` and returns how
    /// long it waits first.
    pub fn next_delay(&self, session: &str, content: &str, now_ms: i64) -> Duration {
        let window = BURST_WINDOW.as_millis() as i64;
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        // Forget bursts that ended, so the map does not grow with every distinct text.
        seen.retain(|_, times| times.back().is_some_and(|t| now_ms - t < window));
        let times = seen.entry((session.to_string(), content.to_string())).or_default();
        while times.front().is_some_and(|t| now_ms - t >= window) {
            times.pop_front();
        }
        let earlier = times.len();
        times.push_back(now_ms);
        burst_delay(earlier)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typing_grows_with_the_text_within_bounds() {
        assert_eq!(typing_time(0), TYPING_MIN);
        assert_eq!(typing_time(40), Duration::from_millis(1800));
        assert_eq!(typing_time(100), Duration::from_millis(4500));
        assert_eq!(typing_time(10_000), TYPING_MAX);
        assert!(typing_time(20) < typing_time(60));
    }

    #[test]
    fn the_gap_spans_its_range() {
        assert_eq!(gap(0.0), GAP_MIN);
        assert_eq!(gap(1.0), GAP_MAX);
        assert_eq!(gap(0.5), Duration::from_millis(700));
    }

    #[test]
    fn repeats_of_one_text_are_slowed_more_and_more_up_to_a_cap() {
        let d: Vec<u64> = (0..8).map(|k| burst_delay(k).as_millis() as u64).collect();
        assert_eq!(d, [0, 0, 0, 2000, 3000, 4000, 5000, 6000]);
        assert_eq!(burst_delay(10_000), BURST_MAX_DELAY);
        assert!((0..200).all(|k| burst_delay(k) <= burst_delay(k + 1)), "never shrinks");
    }

    #[test]
    fn a_burst_is_counted_per_session_and_content_and_ends_after_the_window() {
        let b = Bursts::default();
        let t = 1_000_000;
        let delays: Vec<u64> = (0..5).map(|i| b.next_delay("s", "h", t + i).as_millis() as u64).collect();
        assert_eq!(delays, [0, 0, 0, 2000, 3000], "the same text to 5 recipients");
        assert_eq!(b.next_delay("s", "other", t + 5), Duration::ZERO, "another text is not slowed");
        assert_eq!(b.next_delay("s2", "h", t + 5), Duration::ZERO, "another session is not slowed");
        let later = t + BURST_WINDOW.as_millis() as i64 + 10;
        assert_eq!(b.next_delay("s", "h", later), Duration::ZERO, "a new burst after the window");
    }
}
