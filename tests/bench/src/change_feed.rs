//! Change → client: `herald coordinator` and one `herald node` with a redis-stream `[[feeds]]`
//! feed routed to every client of the hub; the suite XADDs documents carrying their XADD time
//! and the clients record when each arrives.

use crate::flavor::{Flavor, HUB, TARGET};
use crate::latency::Percentiles;
use crate::redis_resp::Redis;
use crate::servers::{self, HeraldMode};
use crate::setup::Setup;
use crate::stamp;
use crate::workers::Workers;
use anyhow::bail;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// Clients receiving every change.
const CLIENTS: usize = 10;
/// Changes appended per second.
const RATE: f64 = 200.0;
/// How long the coordinator may take to assign the lease and the node to start reading.
const LEASE_TIMEOUT: Duration = Duration::from_secs(30);
/// The feed's name.
const FEED: &str = "bench";

/// What change → client measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChangeFeedResult {
    /// Changes appended.
    pub changes: u64,
    /// Deliveries expected (changes × clients).
    pub expected: u64,
    /// Deliveries received.
    pub received: u64,
    /// XADD → client receipt.
    pub latency: Percentiles,
}

/// Runs the scenario for `duration`.
pub fn run(setup: &Setup, duration: Duration) -> anyhow::Result<ChangeFeedResult> {
    let redis = servers::redis(&setup.logs)?;
    let redis_url = format!("redis://{}", redis.addr);
    let config = setup.out.join("feed.toml");
    std::fs::write(
        &config,
        format!(
            "[[feeds]]\nname = \"{FEED}\"\nsource = {{ kind = \"redis-stream\", partitions = 1 }}\nstart_from = \"now\"\nhub = \"{HUB}\"\ntarget = \"{TARGET}\"\nto = \"all\"\nbatch_size = 100\n"
        ),
    )?;
    let _coordinator = servers::herald(
        &setup.herald,
        "coordinator",
        HeraldMode::Coordinator {
            redis_url: &redis_url,
            id: "bench-coordinator",
            config: &config,
        },
        &setup.logs,
    )?;
    let node = servers::herald(
        &setup.herald,
        "feed-node",
        HeraldMode::Node {
            redis_url: &redis_url,
            node_id: "bench-feed-0",
            config: Some(&config),
        },
        &setup.logs,
    )?;
    let mut workers = Workers::start(&setup.worker, 1, Flavor::Herald, &[node.addr], None)?;
    let opened = workers.connect(CLIENTS, CLIENTS)?;
    if opened.connected == 0 {
        bail!(
            "no client connected to the feed node: {:?}",
            opened.first_error
        );
    }
    let mut producer = Redis::connect(redis.addr)?;
    let key = format!("herald:feed:{FEED}:0");
    let mut seq = 0u64;
    let mut xadd = |producer: &mut Redis| -> anyhow::Result<()> {
        seq += 1;
        let doc = format!(
            "{{\"id\":\"{seq}\",\"v\":\"{}\"}}",
            stamp::make(stamp::now_micros(), 40)
        );
        producer.command(&["XADD", &key, "*", "doc", &doc])?;
        Ok(())
    };
    // Wait until the lease is assigned and read: a change arrives.
    let deadline = Instant::now() + LEASE_TIMEOUT;
    loop {
        xadd(&mut producer)?;
        std::thread::sleep(Duration::from_millis(200));
        if workers.report()?.received > 0 {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "no change reached a client within {LEASE_TIMEOUT:?}; node log:\n{}",
                node.log_tail()
            );
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    workers.reset()?;
    let total = (RATE * duration.as_secs_f64()) as u64;
    let start = Instant::now();
    for i in 0..total {
        let due = start + Duration::from_secs_f64(i as f64 / RATE);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        xadd(&mut producer)?;
    }
    let expected = total * opened.connected;
    let drain = Instant::now();
    let merged = loop {
        let merged = workers.report()?;
        if merged.received >= expected || drain.elapsed() > Duration::from_secs(5) {
            break merged;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    Ok(ChangeFeedResult {
        changes: total,
        expected,
        received: merged.received,
        latency: merged.percentiles(),
    })
}
