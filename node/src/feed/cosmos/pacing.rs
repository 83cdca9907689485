//! When a feed range may be asked again, and what its last page says about its lag.
//!
//! Plain data over instants the caller passes in, so the rules are tested without a clock:
//! after an empty page a range waits `poll_delay`; after a throttled read it waits what the
//! service asked for; a page with changes lets the next read go at once.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// What the last page of a range held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LastPage {
    /// Nothing (HTTP 304): the range was caught up.
    Empty,
    /// Fewer changes than asked for: the page reached the end of the feed.
    Partial,
    /// As many changes as asked for (`max`): more were probably waiting.
    Full(u64),
}

#[derive(Debug, Clone, Copy)]
struct RangePace {
    /// No request for this range before this instant.
    not_before: Option<Instant>,
    last_page: Option<LastPage>,
}

/// Per-range pacing of one source.
#[derive(Debug)]
pub(crate) struct Pacing {
    poll_delay: Duration,
    ranges: HashMap<String, RangePace>,
}

impl Pacing {
    /// Pacing that waits `poll_delay` after each empty page.
    pub(crate) fn new(poll_delay: Duration) -> Self {
        Self {
            poll_delay,
            ranges: HashMap::new(),
        }
    }

    /// The instant before which `range` must not be asked, if it is still ahead of `now`.
    pub(crate) fn hold_until(&self, range: &str, now: Instant) -> Option<Instant> {
        self.ranges
            .get(range)
            .and_then(|pace| pace.not_before)
            .filter(|at| *at > now)
    }

    /// Records a page of `changes` (of at most `max`) read from `range` at `now`.
    pub(crate) fn page(&mut self, range: &str, changes: usize, max: usize, now: Instant) {
        let poll_delay = self.poll_delay;
        let pace = self.entry(range);
        if changes == 0 {
            pace.last_page = Some(LastPage::Empty);
            pace.not_before = Some(now + poll_delay);
        } else {
            pace.last_page = Some(if changes >= max {
                LastPage::Full(u64::try_from(max).unwrap_or(u64::MAX))
            } else {
                LastPage::Partial
            });
            pace.not_before = None;
        }
    }

    /// Records that the service refused a read of `range` at `now` for `retry_after`.
    pub(crate) fn throttled(&mut self, range: &str, retry_after: Duration, now: Instant) {
        let pace = self.entry(range);
        let until = now + retry_after;
        pace.not_before = Some(pace.not_before.map_or(until, |at| at.max(until)));
    }

    /// The lag estimate of `range`: 0 after a page that reached the end of the feed (or before
    /// any read), `max` after a full page (a lower bound: at least one more change was likely
    /// waiting).
    pub(crate) fn lag(&self, range: &str) -> u64 {
        match self.ranges.get(range).and_then(|pace| pace.last_page) {
            Some(LastPage::Full(max)) => max,
            Some(LastPage::Empty | LastPage::Partial) | None => 0,
        }
    }

    /// Forgets `range` (its lease was handed over).
    pub(crate) fn forget(&mut self, range: &str) {
        self.ranges.remove(range);
    }

    fn entry(&mut self, range: &str) -> &mut RangePace {
        self.ranges.entry(range.to_owned()).or_insert(RangePace {
            not_before: None,
            last_page: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DELAY: Duration = Duration::from_secs(1);

    #[test]
    fn an_empty_page_holds_the_range_for_the_poll_delay() {
        let t0 = Instant::now();
        let mut pacing = Pacing::new(DELAY);
        assert_eq!(pacing.hold_until("a", t0), None, "never read");
        pacing.page("a", 0, 10, t0);
        assert_eq!(pacing.hold_until("a", t0), Some(t0 + DELAY));
        assert_eq!(
            pacing.hold_until("a", t0 + Duration::from_millis(999)),
            Some(t0 + DELAY)
        );
        assert_eq!(pacing.hold_until("a", t0 + DELAY), None);
        assert_eq!(pacing.hold_until("b", t0), None, "ranges are paced apart");
        pacing.page("a", 3, 10, t0);
        assert_eq!(
            pacing.hold_until("a", t0),
            None,
            "changes: ask again at once"
        );
    }

    #[test]
    fn throttling_holds_for_the_longer_of_both_waits() {
        let t0 = Instant::now();
        let mut pacing = Pacing::new(DELAY);
        pacing.throttled("a", Duration::from_millis(200), t0);
        assert_eq!(
            pacing.hold_until("a", t0),
            Some(t0 + Duration::from_millis(200))
        );
        pacing.page("a", 0, 10, t0);
        pacing.throttled("a", Duration::from_millis(200), t0);
        assert_eq!(pacing.hold_until("a", t0), Some(t0 + DELAY));
        pacing.throttled("a", Duration::from_secs(5), t0);
        assert_eq!(
            pacing.hold_until("a", t0),
            Some(t0 + Duration::from_secs(5))
        );
    }

    #[test]
    fn lag_is_a_full_page_or_nothing() {
        let t0 = Instant::now();
        let mut pacing = Pacing::new(DELAY);
        assert_eq!(pacing.lag("a"), 0);
        pacing.page("a", 10, 10, t0);
        assert_eq!(pacing.lag("a"), 10);
        pacing.page("a", 4, 10, t0);
        assert_eq!(pacing.lag("a"), 0);
        pacing.page("a", 10, 10, t0);
        pacing.forget("a");
        assert_eq!(pacing.lag("a"), 0);
        pacing.page("a", 0, 10, t0);
        assert_eq!(pacing.lag("a"), 0);
    }
}
