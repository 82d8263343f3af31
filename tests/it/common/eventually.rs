//! `eventually`: the one bounded poll of these tests, for state that has no event to wait
//! on (a row in the store, a status behind an HTTP endpoint, a child process's exit).
//! Where an event exists (the session event bus, the webhook receiver's notify, the
//! sandbox's inbox), tests wait on that instead.

use std::fmt::{Debug, Display};
use std::time::Duration;

use tokio::time::Instant;

/// The first pause between two probes; it doubles up to `MAX_PAUSE`, so a state that is
/// almost there is seen at once and a slow one is not hammered.
const FIRST_PAUSE: Duration = Duration::from_millis(10);
const MAX_PAUSE: Duration = Duration::from_millis(100);

/// What a probe answers: done (with a value), or not yet (with what it saw, for the
/// panic message when the wait runs out).
pub trait Probe {
    type Done;
    fn done(self) -> Result<Self::Done, String>;
}

impl Probe for bool {
    type Done = ();
    fn done(self) -> Result<(), String> {
        if self { Ok(()) } else { Err("false".into()) }
    }
}

impl<T> Probe for Option<T> {
    type Done = T;
    fn done(self) -> Result<T, String> {
        self.ok_or_else(|| "None".into())
    }
}

/// `Err(last)`: not yet, and `last` is what the probe saw (shown if the wait runs out).
impl<T, E: Debug> Probe for Result<T, E> {
    type Done = T;
    fn done(self) -> Result<T, String> {
        self.map_err(|last| format!("{last:?}"))
    }
}

/// Calls `probe` until it answers `true`, `Some(v)` or `Ok(v)`, for at most `bound`, and
/// returns the value. Panics naming `what` and the last answer when `bound` passes (also
/// when one probe is still running then). A panic inside the probe (an assertion) fails
/// the test at once, as in a hand-written loop.
pub async fn eventually<P: Probe>(what: impl Display, bound: Duration, mut probe: impl AsyncFnMut() -> P) -> P::Done {
    let deadline = Instant::now() + bound;
    let mut pause = FIRST_PAUSE;
    let mut last = String::from("(no answer yet)");
    loop {
        match tokio::time::timeout_at(deadline, probe()).await {
            Ok(answer) => match answer.done() {
                Ok(v) => return v,
                Err(seen) => last = seen,
            },
            Err(_) => panic!("timed out after {bound:?} waiting for {what}: a probe was still running; last: {last}"),
        }
        let now = Instant::now();
        if now >= deadline {
            panic!("timed out after {bound:?} waiting for {what}; last: {last}");
        }
        tokio::time::sleep(pause.min(deadline - now)).await;
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn returns_the_first_done_answer() {
        let mut n = 0;
        let v = eventually("n to reach 3", Duration::from_secs(5), async || {
            n += 1;
            if n >= 3 { Ok(n) } else { Err(n) }
        })
        .await;
        assert_eq!(v, 3);
    }

    #[tokio::test]
    #[should_panic(expected = "waiting for the impossible; last: 7")]
    async fn panics_naming_what_and_the_last_answer() {
        eventually("the impossible", Duration::from_millis(50), async || Err::<(), _>(7)).await;
    }

    #[tokio::test]
    #[should_panic(expected = "a probe was still running")]
    async fn a_hanging_probe_is_bounded_too() {
        eventually("a hanging probe", Duration::from_millis(50), async || std::future::pending::<bool>().await).await;
    }
}
