//! Cross-node: three server processes and one Redis (all on the server core), receivers spread
//! evenly over the three, the publisher on the first. Herald runs `herald node`; the peer runs
//! three socket.io processes with `@socket.io/redis-adapter`. Redis's own `INFO commandstats`
//! counts the PUBLISH (and SPUBLISH) calls per broadcast.

use crate::flavor::Flavor;
use crate::profile::{ARGUMENT_SIZE, Profile, REFERENCE_PER_S};
use crate::redis_resp::Redis;
use crate::servers::{self, Server};
use crate::setup::Setup;
use crate::step::{self, StepPlan, StepResult, Target};
use crate::workers::Workers;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Nodes in the cluster.
const NODES: usize = 3;
/// Connect concurrency per worker.
const CONNECT_CONCURRENCY: usize = 64;

/// What cross-node measured for one server kind.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CrossNodeResult {
    /// Server kind.
    pub flavor: Flavor,
    /// Receivers (over all nodes).
    pub connections: u64,
    /// Every step run.
    pub steps: Vec<StepResult>,
    /// Highest sustained delivery rate.
    pub max_sustained_per_s: f64,
    /// The step at the reference rate.
    pub reference: Option<StepResult>,
    /// Redis PUBLISH + SPUBLISH calls per broadcast over the measured steps.
    pub publishes_per_message: f64,
}

/// Runs cross-node for `flavor` (Herald or the peer).
pub fn run(setup: &Setup, profile: &Profile, flavor: Flavor) -> anyhow::Result<CrossNodeResult> {
    let redis = servers::redis(&setup.logs)?;
    let redis_url = format!("redis://{}", redis.addr);
    let mut nodes: Vec<Server> = Vec::with_capacity(NODES);
    for i in 0..NODES {
        let name = format!("{flavor}-node-{i}");
        nodes.push(match flavor {
            Flavor::Herald => servers::herald(
                &setup.herald,
                &name,
                servers::HeraldMode::Node {
                    redis_url: &redis_url,
                    node_id: &format!("bench-{i}"),
                    config: None,
                },
                &setup.logs,
            )?,
            Flavor::SocketIo => {
                servers::socket_io(&setup.peer, &name, Some(&redis_url), &setup.logs)?
            }
            Flavor::Floor => anyhow::bail!("the floor has no cluster mode"),
        });
    }
    // Herald nodes say ready once they have joined; give the registry a moment either way.
    std::thread::sleep(Duration::from_secs(1));
    let addrs: Vec<_> = nodes.iter().map(|n| n.addr).collect();
    let mut workers = Workers::start(&setup.worker, NODES, flavor, &addrs, None)?;
    let opened = workers.connect(
        usize::try_from(profile.cross_node_receivers)?,
        CONNECT_CONCURRENCY,
    )?;
    if let Some(error) = &opened.first_error {
        eprintln!(
            "  {flavor} cross-node: {} connects failed, first: {error}",
            opened.failed
        );
    }
    let mut charged: Vec<&Server> = nodes.iter().collect();
    charged.push(&redis);
    let target = Target {
        publish_to: &nodes[0],
        charged,
    };
    let plan = |per_s: f64, duration: Duration| StepPlan {
        flavor,
        receivers: opened.connected,
        per_s,
        duration,
        argument_size: ARGUMENT_SIZE,
    };
    step::run(
        setup,
        &mut workers,
        &target,
        plan(profile.rates[0], crate::fanout::WARM_UP),
    )?;
    let mut stats = Redis::connect(redis.addr)?;
    stats.command(&["CONFIG", "RESETSTAT"])?;
    let mut steps = Vec::new();
    for &per_s in &profile.rates {
        let result = step::run(setup, &mut workers, &target, plan(per_s, profile.step))?;
        let stop = step::saturated(&result, steps.last());
        steps.push(result);
        if stop {
            break;
        }
    }
    let publishes = stats.command_calls("publish")? + stats.command_calls("spublish")?;
    let broadcasts: u64 = steps.iter().map(|s| s.broadcasts).sum();
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
    Ok(CrossNodeResult {
        flavor,
        connections: opened.connected,
        steps,
        max_sustained_per_s,
        reference,
        publishes_per_message: publishes as f64 / broadcasts.max(1) as f64,
    })
}
