//! What a load worker counts: deliveries, their latency (send stamp to receipt, µs) in an HDR
//! histogram, closed connections; and the wire form of a histogram between processes.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Highest latency tracked (60 s, in µs); slower deliveries are clamped to it.
const MAX_MICROS: u64 = 60_000_000;

/// A new latency histogram: 1 µs .. 60 s at 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("constant histogram bounds are valid")
}

/// The counters of one worker process.
pub struct Tally {
    /// Messages received (stamps seen).
    pub received: u64,
    /// Connections the server closed or that failed after connecting.
    pub closed: u64,
    /// Latency of every received message, µs.
    pub latency: Histogram<u64>,
}

impl Default for Tally {
    fn default() -> Self {
        Self {
            received: 0,
            closed: 0,
            latency: histogram(),
        }
    }
}

impl Tally {
    /// Counts one message sent at `sent` and received at `now` (µs since the epoch).
    pub fn record(&mut self, sent: u64, now: u64) {
        self.received += 1;
        self.latency
            .saturating_record(now.saturating_sub(sent).max(1));
    }
}

/// A histogram as `(value, count)` pairs, to send between processes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WireHistogram(pub Vec<(u64, u64)>);

impl WireHistogram {
    /// The recorded values of `h`.
    pub fn from_histogram(h: &Histogram<u64>) -> Self {
        Self(
            h.iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect(),
        )
    }

    /// Adds these values to `into`.
    pub fn merge_into(&self, into: &mut Histogram<u64>) {
        for &(value, count) in &self.0 {
            // Values came from a histogram with the same bounds; clamp rather than fail.
            let _ = into.record_n(value.clamp(1, MAX_MICROS), count);
        }
    }
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Percentiles {
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// Maximum.
    pub max_ms: f64,
}

impl Percentiles {
    /// The percentiles of `h` (zeros when empty).
    pub fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self::default();
        }
        let ms = |v: u64| v as f64 / 1000.0;
        Self {
            p50_ms: ms(h.value_at_quantile(0.50)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            p999_ms: ms(h.value_at_quantile(0.999)),
            max_ms: ms(h.max()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_round_trip_keeps_percentiles() {
        let mut tally = Tally::default();
        for i in 1..=1000u64 {
            tally.record(1_000_000, 1_000_000 + i * 100);
        }
        let wire = WireHistogram::from_histogram(&tally.latency);
        let mut merged = histogram();
        wire.merge_into(&mut merged);
        assert_eq!(merged.len(), 1000);
        assert_eq!(Percentiles::of(&merged), Percentiles::of(&tally.latency));
        assert!((Percentiles::of(&merged).p50_ms - 50.0).abs() < 0.1);
    }
}
