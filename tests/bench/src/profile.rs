//! The two suites: `quick` (one run of every scenario, under 5 minutes on 2 cores) and `full`
//! (three interleaved runs, the medians reported).

use crate::flavor::Flavor;
use std::time::Duration;

/// How much a suite does.
#[derive(Debug, Clone)]
pub struct Profile {
    /// `quick` or `full`.
    pub name: &'static str,
    /// Interleaved runs of every scenario.
    pub runs: usize,
    /// Fan-out connection counts.
    pub fanout_sizes: Vec<u64>,
    /// Delivery rates stepped through, per second.
    pub rates: Vec<f64>,
    /// How long each step publishes.
    pub step: Duration,
    /// Receivers of the cross-node scenario (spread over 3 nodes).
    pub cross_node_receivers: u64,
    /// Load worker processes per scenario.
    pub workers: usize,
    /// Servers measured.
    pub flavors: Vec<Flavor>,
}

/// Size of the broadcast argument.
pub const ARGUMENT_SIZE: usize = 100;
/// The rate at which CPU per delivery and latency are compared across servers (equal offered
/// load; every server is run at it, because stepping only stops after two failed steps).
pub const REFERENCE_PER_S: f64 = 20_000.0;

impl Profile {
    /// The quick suite.
    pub fn quick() -> Self {
        Self {
            name: "quick",
            runs: 1,
            fanout_sizes: vec![1_000, 10_000],
            rates: vec![
                10_000.0, 20_000.0, 40_000.0, 60_000.0, 80_000.0, 100_000.0, 125_000.0, 150_000.0,
                200_000.0, 250_000.0, 300_000.0, 400_000.0,
            ],
            step: Duration::from_secs(2),
            cross_node_receivers: 1_000,
            workers: 2,
            flavors: Flavor::ALL.to_vec(),
        }
    }

    /// The full suite: three interleaved runs, longer steps.
    pub fn full() -> Self {
        Self {
            name: "full",
            runs: 3,
            step: Duration::from_secs(3),
            ..Self::quick()
        }
    }
}
