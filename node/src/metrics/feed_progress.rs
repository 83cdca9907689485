//! How each feed lease this node reads is doing — lag, the last batch, errors — kept for the
//! admin API next to the Prometheus gauges, which cannot be read back.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

/// One lease's progress as this node last saw it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LeaseProgress {
    /// Changes after the reader's position; `None` until first measured.
    pub lag: Option<u64>,
    /// When the last non-empty batch was read (Unix ms).
    pub last_batch_at_ms: Option<u64>,
}

#[derive(Default)]
struct Inner {
    /// By lease id (`<feed>/<partition>`): the leases this node reads or read.
    leases: BTreeMap<String, LeaseProgress>,
    /// Failed reads and handler calls per feed since start.
    errors: BTreeMap<String, u64>,
}

/// The progress of this node's feed readers. Cheap to clone.
#[derive(Clone, Default)]
pub struct FeedProgress {
    inner: Arc<Mutex<Inner>>,
}

/// The lease id of a feed partition.
pub fn lease_id(feed: &str, partition: &str) -> String {
    format!("{feed}/{partition}")
}

impl FeedProgress {
    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut self.inner.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Records a measured lag.
    pub fn lag(&self, feed: &str, partition: &str, lag: u64) {
        self.with(|inner| {
            inner
                .leases
                .entry(lease_id(feed, partition))
                .or_default()
                .lag = Some(lag);
        });
    }

    /// Records a non-empty batch read at `at_ms`.
    pub fn batch(&self, feed: &str, partition: &str, at_ms: u64) {
        self.with(|inner| {
            inner
                .leases
                .entry(lease_id(feed, partition))
                .or_default()
                .last_batch_at_ms = Some(at_ms);
        });
    }

    /// Counts a failed read or handler call of `feed`.
    pub fn error(&self, feed: &str) {
        self.with(|inner| *inner.errors.entry(feed.to_owned()).or_default() += 1);
    }

    /// The progress of every lease seen, by lease id.
    pub fn leases(&self) -> BTreeMap<String, LeaseProgress> {
        self.with(|inner| inner.leases.clone())
    }

    /// Errors per feed since start.
    pub fn errors(&self) -> BTreeMap<String, u64> {
        self.with(|inner| inner.errors.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_latest_per_lease_and_counts_errors() {
        let progress = FeedProgress::default();
        progress.lag("orders", "0", 5);
        progress.batch("orders", "0", 1000);
        progress.lag("orders", "0", 2);
        progress.batch("orders", "1", 2000);
        progress.error("orders");
        progress.error("orders");
        let leases = progress.leases();
        assert_eq!(
            leases["orders/0"],
            LeaseProgress {
                lag: Some(2),
                last_batch_at_ms: Some(1000)
            }
        );
        assert_eq!(
            leases["orders/1"],
            LeaseProgress {
                lag: None,
                last_batch_at_ms: Some(2000)
            }
        );
        assert_eq!(progress.errors()["orders"], 2);
    }
}
