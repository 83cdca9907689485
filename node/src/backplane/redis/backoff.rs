//! Capped exponential backoff with jitter between reconnect attempts, so a Redis restart is
//! noticed within a fraction of a second while a long outage costs one attempt per cap, and
//! many nodes do not reconnect in lockstep.

use std::time::Duration;

use rand::Rng;

/// The first delay after a failed attempt.
pub(super) const MIN_DELAY: Duration = Duration::from_millis(100);
/// The longest delay between attempts.
pub(super) const MAX_DELAY: Duration = Duration::from_secs(2);

/// Delays between attempts; `reset` after a success.
#[derive(Debug)]
pub(super) struct Backoff {
    /// The delay before jitter; doubles after each attempt up to the cap.
    next: Duration,
}

impl Backoff {
    pub(super) fn new() -> Self {
        Self { next: MIN_DELAY }
    }

    /// The delay before the next attempt: between half and all of the current step.
    pub(super) fn next_delay(&mut self) -> Duration {
        let step = self.next;
        self.next = (step * 2).min(MAX_DELAY);
        let half = step / 2;
        half + rand::rng().random_range(Duration::ZERO..=half)
    }

    pub(super) fn reset(&mut self) {
        self.next = MIN_DELAY;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_and_resets() {
        let mut backoff = Backoff::new();
        let delays: Vec<Duration> = (0..8).map(|_| backoff.next_delay()).collect();
        assert!(
            delays[0] >= MIN_DELAY / 2 && delays[0] <= MIN_DELAY,
            "{delays:?}"
        );
        assert!(delays.iter().all(|d| *d <= MAX_DELAY), "{delays:?}");
        assert!(delays[7] >= MAX_DELAY / 2, "{delays:?}");
        backoff.reset();
        assert!(backoff.next_delay() <= MIN_DELAY);
    }
}
