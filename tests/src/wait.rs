//! Polling helpers: tests wait for a condition with a deadline, never for a fixed time.

use std::thread;
use std::time::{Duration, Instant};

/// How long to pause between two evaluations of a predicate.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Evaluates `predicate` until it returns `true` or `deadline` passes.
///
/// Returns whether the predicate became true; it is evaluated at least once, even past the
/// deadline.
pub fn wait_until(deadline: Instant, mut predicate: impl FnMut() -> bool) -> bool {
    poll_until(deadline, || predicate().then_some(())).is_some()
}

/// Evaluates `probe` until it returns `Some` or `deadline` passes, and returns that value.
pub fn poll_until<T>(deadline: Instant, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    loop {
        if let Some(value) = probe() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(POLL_INTERVAL);
    }
}

/// The instant `seconds` from now.
pub fn deadline_in(seconds: u64) -> Instant {
    Instant::now() + Duration::from_secs(seconds)
}
