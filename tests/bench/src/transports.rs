//! The transport scenario (Herald only; socket.io and the floor have no SignalR transports):
//! the same clients and REST broadcasts over WebSockets, Server-Sent Events and long polling.
//! Per transport: a fresh server, [`CLIENTS`] clients connected the way the official clients do
//! ([`crate::sse_lp`] for SSE and long polling), a short warm-up, then steps at [`RATES`]
//! (the first is the reference rate) until one is not sustained.

use crate::fanout;
use crate::flavor::Flavor;
use crate::profile::{ARGUMENT_SIZE, Profile, REFERENCE_PER_S};
use crate::setup::Setup;
use crate::step::{self, StepPlan, StepResult, Target};
use crate::workers::Workers;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Clients per transport.
pub const CLIENTS: u64 = 200;
/// Delivery rates stepped through per transport; the first is the reference rate.
pub const RATES: [f64; 3] = [REFERENCE_PER_S, 80_000.0, 160_000.0];
/// Publishing before the measured steps.
const WARM_UP: Duration = Duration::from_secs(1);
/// Connections opened in flight per worker.
const CONNECT_CONCURRENCY: usize = 32;

/// A SignalR transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Transport {
    /// WebSockets.
    WebSockets,
    /// Server-Sent Events (receive) + POST (send).
    ServerSentEvents,
    /// Long polling (receive) + POST (send).
    LongPolling,
}

impl Transport {
    /// Every transport, in the order tables list them.
    pub const ALL: [Transport; 3] = [
        Transport::WebSockets,
        Transport::ServerSentEvents,
        Transport::LongPolling,
    ];
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Transport::WebSockets => "WebSockets",
            Transport::ServerSentEvents => "ServerSentEvents",
            Transport::LongPolling => "LongPolling",
        })
    }
}

impl FromStr for Transport {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Transport::ALL
            .into_iter()
            .find(|t| t.to_string().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!(
                    "unknown transport {s:?}: expected WebSockets, ServerSentEvents or LongPolling"
                )
            })
    }
}

/// What one transport measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TransportResult {
    /// The transport.
    pub transport: Transport,
    /// Clients asked for.
    pub connections: u64,
    /// Clients connected.
    pub connected: u64,
    /// Every step run.
    pub steps: Vec<StepResult>,
    /// Highest sustained delivery rate (0 if none).
    pub max_sustained_per_s: f64,
    /// The step at the reference rate.
    pub reference: Option<StepResult>,
}

/// Runs the scenario for `transport` against a fresh Herald.
pub fn run(
    setup: &Setup,
    profile: &Profile,
    transport: Transport,
) -> anyhow::Result<TransportResult> {
    let server = fanout::start_server(setup, Flavor::Herald)?;
    std::thread::sleep(Duration::from_millis(300));
    let mut workers = Workers::start_with(
        &setup.worker,
        profile.workers,
        Flavor::Herald,
        &[server.addr],
        None,
        transport,
    )?;
    let opened = workers.connect(usize::try_from(CLIENTS)?, CONNECT_CONCURRENCY)?;
    if let Some(error) = &opened.first_error {
        eprintln!(
            "  transports {transport}: {} connects failed, first: {error}",
            opened.failed
        );
    }
    anyhow::ensure!(
        opened.connected > 0,
        "transports {transport}: no client connected ({})",
        opened.first_error.unwrap_or_default()
    );
    let target = Target {
        publish_to: &server,
        charged: vec![&server],
    };
    let plan = |per_s: f64, duration: Duration| StepPlan {
        flavor: Flavor::Herald,
        receivers: opened.connected,
        per_s,
        duration,
        argument_size: ARGUMENT_SIZE,
    };
    step::run(setup, &mut workers, &target, plan(RATES[0], WARM_UP))?;
    let mut steps: Vec<StepResult> = Vec::new();
    for per_s in RATES {
        let result = step::run(setup, &mut workers, &target, plan(per_s, profile.step))?;
        let stop = !result.passed;
        steps.push(result);
        if stop {
            break;
        }
    }
    drop(workers);
    Ok(TransportResult {
        transport,
        connections: CLIENTS,
        connected: opened.connected,
        max_sustained_per_s: max_sustained(&steps),
        reference: steps
            .iter()
            .find(|s| s.offered_per_s == REFERENCE_PER_S)
            .cloned(),
        steps,
    })
}

/// The highest sustained rate of `steps` (0 if none passed).
pub fn max_sustained(steps: &[StepResult]) -> f64 {
    steps
        .iter()
        .filter(|s| s.passed)
        .map(|s| s.achieved_per_s)
        .fold(0.0, f64::max)
}

/// The highest step rate every transport of `results` sustained (0 if any sustained none).
pub fn common_max(results: &[TransportResult]) -> f64 {
    results
        .iter()
        .map(|r| r.max_sustained_per_s)
        .reduce(f64::min)
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_names_round_trip() {
        for t in Transport::ALL {
            assert_eq!(t.to_string().parse::<Transport>(), Ok(t));
        }
        assert_eq!(
            "longpolling".parse::<Transport>(),
            Ok(Transport::LongPolling)
        );
        assert!("carrier-pigeon".parse::<Transport>().is_err());
    }
}
