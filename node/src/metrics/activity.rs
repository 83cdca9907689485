//! What the node has been doing lately — messages in from clients, messages out to local
//! connections, feed changes pushed — as rates for the admin API and the dashboard's charts.
//!
//! Counters are plain atomics bumped next to their Prometheus twins; a sampler copies them into
//! a ring every [`SAMPLE_INTERVAL`] (ten minutes of samples), and rates are differences between
//! samples. Time is passed in, so the arithmetic is tested without waiting.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How often the counters are sampled.
pub const SAMPLE_INTERVAL: Duration = Duration::from_secs(2);
/// How far back samples are kept: the dashboard's charts span this.
const HISTORY: Duration = Duration::from_secs(600);
/// Samples kept: one per interval over [`HISTORY`], plus the one that closes the window.
const CAPACITY: usize = (HISTORY.as_secs() / SAMPLE_INTERVAL.as_secs()) as usize + 1;
/// The window of [`Activity::rates`].
pub const RATE_WINDOW: Duration = Duration::from_secs(60);
/// One point of [`Activity::history`] per this much time.
pub const HISTORY_STEP: Duration = Duration::from_secs(10);

/// Per-second rates of the three activities.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Rates {
    /// Hub protocol messages received from clients.
    pub messages_in_per_second: f64,
    /// Messages queued to local connections.
    pub messages_out_per_second: f64,
    /// Feed changes pushed.
    pub changes_per_second: f64,
}

/// One point of the history: rates over the step that ends at `at_ms`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HistoryPoint {
    /// When the step ended (Unix ms).
    pub at_ms: u64,
    /// The rates over the step.
    #[serde(flatten)]
    pub rates: Rates,
}

#[derive(Debug, Clone)]
struct Sample {
    at: Instant,
    at_ms: u64,
    totals: [u64; 3],
    feeds: BTreeMap<String, u64>,
}

#[derive(Default)]
struct Inner {
    messages_in: AtomicU64,
    messages_out: AtomicU64,
    changes: AtomicU64,
    /// Changes pushed per feed (feeds are few: the configured ones).
    feed_changes: Mutex<BTreeMap<String, u64>>,
    samples: Mutex<VecDeque<Sample>>,
}

/// The node's activity counters and their recent samples. Cheap to clone.
#[derive(Clone, Default)]
pub struct Activity {
    inner: Arc<Inner>,
}

impl Activity {
    /// Counts messages received from clients.
    pub fn messages_in(&self, count: u64) {
        self.inner.messages_in.fetch_add(count, Ordering::Relaxed);
    }

    /// Counts messages queued to local connections.
    pub fn messages_out(&self, count: u64) {
        self.inner.messages_out.fetch_add(count, Ordering::Relaxed);
    }

    /// Counts a change of `feed` pushed.
    pub fn change(&self, feed: &str) {
        self.inner.changes.fetch_add(1, Ordering::Relaxed);
        let mut feeds = lock(&self.inner.feed_changes);
        match feeds.get_mut(feed) {
            Some(count) => *count += 1,
            None => {
                feeds.insert(feed.to_owned(), 1);
            }
        }
    }

    fn current(&self, at: Instant, at_ms: u64) -> Sample {
        Sample {
            at,
            at_ms,
            totals: [
                self.inner.messages_in.load(Ordering::Relaxed),
                self.inner.messages_out.load(Ordering::Relaxed),
                self.inner.changes.load(Ordering::Relaxed),
            ],
            feeds: lock(&self.inner.feed_changes).clone(),
        }
    }

    /// Records the counters as of `at` (`at_ms` in Unix ms); the oldest sample beyond ten
    /// minutes is dropped.
    pub fn sample(&self, at: Instant, at_ms: u64) {
        let sample = self.current(at, at_ms);
        let mut samples = lock(&self.inner.samples);
        if samples.len() == CAPACITY {
            samples.pop_front();
        }
        samples.push_back(sample);
    }

    /// The oldest sample within [`RATE_WINDOW`] of `now`, and the counters now.
    fn window(&self, now: Instant, now_ms: u64) -> (Option<Sample>, Sample) {
        let current = self.current(now, now_ms);
        let samples = lock(&self.inner.samples);
        let start = samples
            .iter()
            .find(|s| now.saturating_duration_since(s.at) <= RATE_WINDOW)
            .cloned();
        (start, current)
    }

    /// Rates over the last minute (or since the first sample, when younger).
    pub fn rates(&self, now: Instant, now_ms: u64) -> Rates {
        match self.window(now, now_ms) {
            (Some(start), current) => rates_between(&start, &current),
            (None, _) => Rates::default(),
        }
    }

    /// Changes pushed per second over the last minute, per feed.
    pub fn feed_rates(&self, now: Instant, now_ms: u64) -> BTreeMap<String, f64> {
        let (Some(start), current) = self.window(now, now_ms) else {
            return BTreeMap::new();
        };
        let seconds = current.at.saturating_duration_since(start.at).as_secs_f64();
        current
            .feeds
            .iter()
            .map(|(feed, &count)| {
                let before = start.feeds.get(feed).copied().unwrap_or(0);
                (
                    feed.clone(),
                    per_second(count.saturating_sub(before), seconds),
                )
            })
            .collect()
    }

    /// One point per [`HISTORY_STEP`] over the last ten minutes, oldest first.
    pub fn history(&self) -> Vec<HistoryPoint> {
        let samples = lock(&self.inner.samples);
        let every = (HISTORY_STEP.as_secs() / SAMPLE_INTERVAL.as_secs()) as usize;
        // Step back from the newest sample so the last point is as fresh as possible.
        let picked: Vec<&Sample> = samples.iter().rev().step_by(every).collect();
        picked
            .windows(2)
            .rev()
            .map(|pair| HistoryPoint {
                at_ms: pair[0].at_ms,
                rates: rates_between(pair[1], pair[0]),
            })
            .collect()
    }
}

fn rates_between(start: &Sample, end: &Sample) -> Rates {
    let seconds = end.at.saturating_duration_since(start.at).as_secs_f64();
    let delta = |i: usize| end.totals[i].saturating_sub(start.totals[i]);
    Rates {
        messages_in_per_second: per_second(delta(0), seconds),
        messages_out_per_second: per_second(delta(1), seconds),
        changes_per_second: per_second(delta(2), seconds),
    }
}

fn per_second(count: u64, seconds: f64) -> f64 {
    if seconds <= 0.0 {
        return 0.0;
    }
    // Two decimals are plenty for a screen and keep the JSON short.
    (count as f64 / seconds * 100.0).round() / 100.0
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_cover_the_last_minute() {
        let activity = Activity::default();
        let t0 = Instant::now();
        activity.sample(t0, 0);
        activity.messages_in(30);
        activity.messages_out(120);
        activity.change("orders");
        activity.change("orders");
        activity.change("stocks");
        let rates = activity.rates(t0 + Duration::from_secs(30), 30_000);
        assert_eq!(
            rates,
            Rates {
                messages_in_per_second: 1.0,
                messages_out_per_second: 4.0,
                changes_per_second: 0.1,
            }
        );
        let feeds = activity.feed_rates(t0 + Duration::from_secs(20), 20_000);
        assert_eq!(feeds["orders"], 0.1);
        assert_eq!(feeds["stocks"], 0.05);
    }

    #[test]
    fn samples_older_than_a_minute_do_not_count() {
        let activity = Activity::default();
        let t0 = Instant::now();
        activity.sample(t0, 0);
        activity.messages_in(600);
        activity.sample(t0 + Duration::from_secs(60), 60_000);
        // At 100 s the window starts at the 60 s sample: nothing since.
        let rates = activity.rates(t0 + Duration::from_secs(100), 100_000);
        assert_eq!(rates.messages_in_per_second, 0.0);
        // No sample at all: zero, not a division by zero.
        assert_eq!(Activity::default().rates(t0, 0), Rates::default());
    }

    #[test]
    fn history_has_one_point_per_step_and_ten_minutes_at_most() {
        let activity = Activity::default();
        let t0 = Instant::now();
        for i in 0..400u64 {
            activity.messages_out(if i >= 395 { 20 } else { 2 });
            let at = Duration::from_secs(i * SAMPLE_INTERVAL.as_secs());
            activity.sample(t0 + at, at.as_millis() as u64);
        }
        let history = activity.history();
        assert_eq!(history.len(), 60);
        assert!(
            history
                .windows(2)
                .all(|w| w[0].at_ms + 10_000 == w[1].at_ms)
        );
        assert_eq!(history.last().unwrap().at_ms, 399 * 2000);
        assert_eq!(history[0].rates.messages_out_per_second, 1.0);
        // The last step saw five samples of 20 over 10 s.
        assert_eq!(history[59].rates.messages_out_per_second, 10.0);
    }
}
