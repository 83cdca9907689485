//! One load step: publish at a fixed delivery rate for a while, wait for the deliveries to drain,
//! and charge the server's CPU (from `/proc`) to what was delivered. A step passes when nothing
//! was lost, p99 stayed under 100 ms and the publisher kept the rate.

use crate::latency::Percentiles;
use crate::proc_stat;
use crate::publisher::{self, Plan};
use crate::servers::{self, Server};
use crate::setup::Setup;
use crate::workers::Workers;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// The latency bound of a sustained rate.
pub const P99_LIMIT_MS: f64 = 100.0;
/// A step whose publisher fell this far behind its plan fails.
const MIN_RATE_KEPT: f64 = 0.97;
/// How long deliveries may take to drain after the last publish.
const DRAIN_LIMIT: Duration = Duration::from_secs(5);
/// Drain stops early when no message arrived for this long.
const DRAIN_QUIET: Duration = Duration::from_millis(600);

/// What one step measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepResult {
    /// Deliveries per second asked for.
    pub offered_per_s: f64,
    /// Deliveries per second the server accepted publishes for (accepted × receivers / time).
    pub achieved_per_s: f64,
    /// Broadcasts accepted.
    pub broadcasts: u64,
    /// Deliveries expected (broadcasts × connected receivers).
    pub expected: u64,
    /// Deliveries received.
    pub received: u64,
    /// Latency of the received deliveries.
    pub latency: Percentiles,
    /// Server CPU per delivery, µs.
    pub server_cpu_us_per_delivery: f64,
    /// Server CPU used, as a share of one core.
    pub server_cpu_share: f64,
    /// Load generator CPU (workers + publisher), as a share of one core.
    pub load_cpu_share: f64,
    /// Whether the step was sustained.
    pub passed: bool,
    /// Why it failed, if it did.
    pub failure: Option<String>,
}

/// The servers of a step: where to publish and whose CPU to count.
pub struct Target<'a> {
    /// Receives the broadcasts.
    pub publish_to: &'a Server,
    /// Every process whose CPU serves the deliveries (nodes, Redis).
    pub charged: Vec<&'a Server>,
}

/// What a step offers.
#[derive(Debug, Clone, Copy)]
pub struct StepPlan {
    /// Server kind.
    pub flavor: crate::flavor::Flavor,
    /// Connected receivers of every broadcast.
    pub receivers: u64,
    /// Deliveries per second.
    pub per_s: f64,
    /// How long to publish.
    pub duration: Duration,
    /// Argument size in bytes.
    pub argument_size: usize,
}

/// Runs one step of `plan`.
pub fn run(
    setup: &Setup,
    workers: &mut Workers,
    target: &Target<'_>,
    plan: StepPlan,
) -> anyhow::Result<StepResult> {
    let StepPlan {
        flavor,
        receivers,
        per_s,
        duration,
        argument_size,
    } = plan;
    workers.reset()?;
    let load_before = workers.report()?.cpu_us + own_cpu();
    let server_before = servers::sample_all(&target.charged)?;
    let rate = per_s / receivers as f64;
    let wall = Instant::now();
    let published = setup.block_on(publisher::publish(Plan {
        flavor,
        server: target.publish_to.addr,
        rate,
        duration,
        argument_size,
    }))?;
    let expected = published.accepted * receivers;
    let drain_start = Instant::now();
    let mut last = 0;
    let mut last_change = Instant::now();
    let merged = loop {
        let merged = workers.report()?;
        if merged.received >= expected
            || drain_start.elapsed() > DRAIN_LIMIT
            || (merged.received == last && last_change.elapsed() > DRAIN_QUIET)
        {
            break merged;
        }
        if merged.received != last {
            last = merged.received;
            last_change = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let wall = wall.elapsed().as_secs_f64();
    let server_after = servers::sample_all(&target.charged)?;
    let load_after = merged.cpu_us + own_cpu();
    let latency = merged.percentiles();
    let server_cpu = server_after.cpu_us.saturating_sub(server_before.cpu_us) as f64;
    let achieved = expected as f64 / published.seconds.max(duration.as_secs_f64());
    let failure = if merged.received < expected {
        Some(format!("lost {} of {expected}", expected - merged.received))
    } else if published.failed > 0 {
        Some(format!("{} publishes failed", published.failed))
    } else if latency.p99_ms >= P99_LIMIT_MS {
        Some(format!("p99 {:.1} ms", latency.p99_ms))
    } else if achieved < per_s * MIN_RATE_KEPT {
        Some(format!("publisher kept only {achieved:.0}/s"))
    } else {
        None
    };
    Ok(StepResult {
        offered_per_s: per_s,
        achieved_per_s: achieved,
        broadcasts: published.accepted,
        expected,
        received: merged.received,
        latency,
        server_cpu_us_per_delivery: server_cpu / merged.received.max(1) as f64,
        server_cpu_share: server_cpu / 1e6 / wall,
        load_cpu_share: load_after.saturating_sub(load_before) as f64 / 1e6 / wall,
        passed: failure.is_none(),
        failure,
    })
}

fn own_cpu() -> u64 {
    proc_stat::sample(std::process::id())
        .map(|s| s.cpu_us)
        .unwrap_or(0)
}

/// Whether stepping should stop after `step` (run after `previous`): the server lost messages or
/// could not take the publishes, or two steps in a row failed. A lone latency failure (a GC
/// pause, say) does not stop it, so every server gets figures at the reference rate.
pub fn saturated(step: &StepResult, previous: Option<&StepResult>) -> bool {
    let lost = step.received < step.expected;
    let behind = step.achieved_per_s < step.offered_per_s * MIN_RATE_KEPT;
    lost || behind || (!step.passed && previous.is_some_and(|p| !p.passed))
}
