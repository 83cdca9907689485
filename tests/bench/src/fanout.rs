//! Fan-out (and, from the same connections, idle memory, connect rate and the reconnect storm):
//! N WebSocket clients in one hub, REST broadcasts of a 100-byte argument at stepped delivery
//! rates until a step is not sustained.

use crate::flavor::Flavor;
use crate::profile::{ARGUMENT_SIZE, Profile, REFERENCE_PER_S};
use crate::servers::{self, Server};
use crate::setup::Setup;
use crate::step::{self, StepPlan, StepResult, Target};
use crate::workers::Workers;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Connections opened in flight per worker while measuring the connect rate.
const CONNECT_CONCURRENCY: usize = 64;
/// Connections opened in flight per worker during the reconnect storm (everyone at once).
const STORM_CONCURRENCY: usize = 2_000;

/// Publishing before the measured steps: JIT (socket.io), allocator pools, TCP windows.
pub const WARM_UP: Duration = Duration::from_secs(2);

/// What fan-out measured for one server and size.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FanoutResult {
    /// Server kind.
    pub flavor: Flavor,
    /// Connections asked for.
    pub connections: u64,
    /// Connections opened.
    pub connected: u64,
    /// Full connects per second (negotiate + upgrade + handshake).
    pub connects_per_s: f64,
    /// Server RSS per idle connection, bytes.
    pub idle_rss_per_connection: f64,
    /// Seconds for every client to reconnect after all dropped at once.
    pub storm_seconds: f64,
    /// Reconnects that failed in the storm.
    pub storm_failed: u64,
    /// Every step run.
    pub steps: Vec<StepResult>,
    /// Highest sustained delivery rate (0 if none).
    pub max_sustained_per_s: f64,
    /// The step at the reference rate, if run.
    pub reference: Option<StepResult>,
}

/// Starts one standalone server of `flavor`.
pub fn start_server(setup: &Setup, flavor: Flavor) -> anyhow::Result<Server> {
    match flavor {
        Flavor::Herald => servers::herald(
            &setup.herald,
            "herald",
            servers::HeraldMode::Standalone,
            &setup.logs,
        ),
        Flavor::SocketIo => servers::socket_io(&setup.peer, "socketio", None, &setup.logs),
        Flavor::Floor => servers::floor(&setup.floor, &setup.logs),
    }
}

/// Runs fan-out for `flavor` with `connections` clients.
pub fn run(
    setup: &Setup,
    profile: &Profile,
    flavor: Flavor,
    connections: u64,
) -> anyhow::Result<FanoutResult> {
    let server = start_server(setup, flavor)?;
    std::thread::sleep(Duration::from_millis(300));
    let base = server.sample()?;
    let mut workers = Workers::start(&setup.worker, profile.workers, flavor, &[server.addr], None)?;
    let opened = workers.connect(usize::try_from(connections)?, CONNECT_CONCURRENCY)?;
    if let Some(error) = &opened.first_error {
        eprintln!(
            "  {flavor}: {} connects failed, first: {error}",
            opened.failed
        );
    }
    std::thread::sleep(Duration::from_secs(1));
    let idle = server.sample()?;
    let receivers = opened.connected;
    let target = Target {
        publish_to: &server,
        charged: vec![&server],
    };
    let plan = |per_s: f64, duration: Duration| StepPlan {
        flavor,
        receivers,
        per_s,
        duration,
        argument_size: ARGUMENT_SIZE,
    };
    step::run(
        setup,
        &mut workers,
        &target,
        plan(profile.rates[0], WARM_UP),
    )?;
    let mut steps = Vec::new();
    for &per_s in &profile.rates {
        let result = step::run(setup, &mut workers, &target, plan(per_s, profile.step))?;
        let stop = step::saturated(&result, steps.last());
        steps.push(result);
        if stop {
            break;
        }
    }
    let storm = workers.storm(STORM_CONCURRENCY)?;
    drop(workers);
    let max_sustained_per_s = steps
        .iter()
        .filter(|s| s.passed)
        .map(|s| s.achieved_per_s)
        .fold(0.0, f64::max);
    let reference = steps
        .iter()
        .find(|s| s.offered_per_s == REFERENCE_PER_S)
        .cloned();
    Ok(FanoutResult {
        flavor,
        connections,
        connected: opened.connected,
        connects_per_s: opened.connected as f64 / opened.seconds.max(1e-6),
        idle_rss_per_connection: idle.rss_bytes.saturating_sub(base.rss_bytes) as f64
            / opened.connected.max(1) as f64,
        storm_seconds: storm.seconds,
        storm_failed: storm.failed,
        steps,
        max_sustained_per_s,
        reference,
    })
}
