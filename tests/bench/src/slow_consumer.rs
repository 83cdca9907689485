//! Slow consumer: one client stops reading (with a 4 KiB receive buffer, so the server's side
//! fills fast) while the others keep receiving 8 KB broadcasts. The server's RSS must stay
//! bounded (a bounded per-connection queue, then the slow client is dropped) and the others'
//! p99 must not move.

use crate::fanout::start_server;
use crate::flavor::Flavor;
use crate::latency::Percentiles;
use crate::setup::Setup;
use crate::step::{self, StepPlan, Target};
use crate::workers::Workers;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// Receivers that keep reading.
const READERS: u64 = 20;
/// Broadcasts per second.
const RATE: f64 = 300.0;
/// Argument size: large, so the stuck client's backlog is visible in RSS within seconds.
const ARGUMENT_SIZE: usize = 8 * 1024;
/// The stuck client's `SO_RCVBUF`.
const SLOW_RECV_BUFFER: u32 = 4 * 1024;
/// Baseline phase (everyone reads).
const BASELINE: Duration = Duration::from_secs(3);
/// Stuck phase.
const STUCK: Duration = Duration::from_secs(8);

/// What the slow-consumer scenario measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SlowConsumerResult {
    /// Server kind.
    pub flavor: Flavor,
    /// Readers' latency while everyone reads.
    pub baseline: Percentiles,
    /// Readers' latency while one client is stuck.
    pub stuck: Percentiles,
    /// Readers' deliveries lost while one client was stuck.
    pub stuck_lost: u64,
    /// Server RSS growth during the stuck phase (peak minus start), bytes.
    pub rss_growth: u64,
    /// Whether the server closed the stuck client.
    pub slow_client_dropped: bool,
}

/// Runs the scenario for `flavor`.
pub fn run(setup: &Setup, flavor: Flavor) -> anyhow::Result<SlowConsumerResult> {
    let server = start_server(setup, flavor)?;
    let mut readers = Workers::start(&setup.worker, 1, flavor, &[server.addr], None)?;
    let mut slow = Workers::start(
        &setup.worker,
        1,
        flavor,
        &[server.addr],
        Some(SLOW_RECV_BUFFER),
    )?;
    readers.connect(usize::try_from(READERS)?, 32)?;
    slow.connect(1, 1)?;
    let target = Target {
        publish_to: &server,
        charged: vec![&server],
    };
    let plan = |duration| StepPlan {
        flavor,
        receivers: READERS,
        per_s: RATE * READERS as f64,
        duration,
        argument_size: ARGUMENT_SIZE,
    };
    let baseline = step::run(setup, &mut readers, &target, plan(BASELINE))?;
    slow.pause()?;
    let start_rss = server.sample()?.rss_bytes;
    let peak = Arc::new(AtomicU64::new(start_rss));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, stop, pid) = (Arc::clone(&peak), Arc::clone(&stop), server.pid());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Ok(s) = crate::proc_stat::sample(pid) {
                    peak.fetch_max(s.rss_bytes, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let stuck = step::run(setup, &mut readers, &target, plan(STUCK))?;
    stop.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    slow.resume()?;
    std::thread::sleep(Duration::from_secs(1));
    let slow_report = slow.report()?;
    Ok(SlowConsumerResult {
        flavor,
        baseline: baseline.latency,
        stuck: stuck.latency,
        stuck_lost: stuck.expected.saturating_sub(stuck.received),
        rss_growth: peak.load(Ordering::Relaxed).saturating_sub(start_rss),
        slow_client_dropped: slow_report.open == 0,
    })
}
