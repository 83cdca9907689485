//! The suite: every scenario for every server, run after run (interleaved, so drift hits all
//! servers alike), one summary line per scenario as it finishes, the JSON of each run under
//! `target/bench/`, and the table of medians at the end.

use crate::change_feed::{self, ChangeFeedResult};
use crate::cross_node::{self, CrossNodeResult};
use crate::fanout::{self, FanoutResult};
use crate::flavor::Flavor;
use crate::profile::{Profile, REFERENCE_PER_S};
use crate::setup::Setup;
use crate::slow_consumer::{self, SlowConsumerResult};
use crate::step::StepResult;
use crate::table::{self, Check, Row};
use crate::transports::{self, TransportResult};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::{Duration, Instant};

/// Everything one run measured.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunResults {
    /// Fan-out per server and size.
    pub fanout: Vec<FanoutResult>,
    /// Cross-node per server.
    pub cross_node: Vec<CrossNodeResult>,
    /// Change → client (Herald only).
    pub change_feed: Option<ChangeFeedResult>,
    /// Slow consumer per server.
    pub slow_consumer: Vec<SlowConsumerResult>,
    /// Herald per SignalR transport (absent in runs saved before it existed).
    #[serde(default)]
    pub transports: Vec<TransportResult>,
}

/// Runs `profile` (optionally only the scenarios named in `only`) and returns the table.
pub fn run(setup: &Setup, profile: &Profile, only: &[String]) -> anyhow::Result<String> {
    let wants = |name: &str| only.is_empty() || only.iter().any(|o| o == name);
    let started = Instant::now();
    let mut runs = Vec::new();
    for run in 0..profile.runs {
        println!("== run {} of {} ({})", run + 1, profile.runs, profile.name);
        let mut results = RunResults::default();
        if wants("fanout") {
            for &size in &profile.fanout_sizes {
                for &flavor in &profile.flavors {
                    let r = fanout::run(setup, profile, flavor, size)?;
                    print_fanout(&r);
                    results.fanout.push(r);
                }
            }
        }
        if wants("cross-node") {
            for &flavor in profile.flavors.iter().filter(|f| **f != Flavor::Floor) {
                let r = cross_node::run(setup, profile, flavor)?;
                println!(
                    "cross-node  {:<8} n={:<6} max {:>8.0}/s  @ref p50 {} p99 {}  publishes/msg {:.2}",
                    flavor.to_string(),
                    r.connections,
                    r.max_sustained_per_s,
                    ms(r.reference.as_ref().map(|s| s.latency.p50_ms)),
                    ms(r.reference.as_ref().map(|s| s.latency.p99_ms)),
                    r.publishes_per_message
                );
                results.cross_node.push(r);
            }
        }
        if wants("change-feed") && profile.flavors.contains(&Flavor::Herald) {
            let r = change_feed::run(setup, profile.step + Duration::from_secs(1))?;
            println!(
                "change-feed herald   changes {} received {}/{}  p50 {:.2} ms p99 {:.2} ms",
                r.changes, r.received, r.expected, r.latency.p50_ms, r.latency.p99_ms
            );
            results.change_feed = Some(r);
        }
        if wants("slow-consumer") {
            for &flavor in &profile.flavors {
                let r = slow_consumer::run(setup, flavor)?;
                println!(
                    "slow        {:<8} readers p99 {:.2} -> {:.2} ms, lost {}, server RSS +{:.1} MB, stuck client dropped: {}",
                    flavor.to_string(),
                    r.baseline.p99_ms,
                    r.stuck.p99_ms,
                    r.stuck_lost,
                    r.rss_growth as f64 / 1e6,
                    r.slow_client_dropped
                );
                results.slow_consumer.push(r);
            }
        }
        if wants("transports") {
            if profile.flavors.contains(&Flavor::Herald) {
                for transport in transports::Transport::ALL {
                    let r = transports::run(setup, profile, transport)?;
                    print_transport(&r);
                    results.transports.push(r);
                }
                println!(
                    "transports  herald   highest step all three sustained: {:.0}/s (socket.io and floor skipped: SignalR transports are Herald only)",
                    transports::common_max(&results.transports)
                );
            } else {
                println!(
                    "transports  skipped: Herald only (socket.io and floor have no SignalR transports)"
                );
            }
        }
        let path = setup
            .out
            .join(format!("{}-run{}.json", profile.name, run + 1));
        std::fs::write(&path, serde_json::to_string_pretty(&results)?)?;
        runs.push(results);
    }
    let rendered = summarize(&setup.out, profile.name, &runs)?;
    println!(
        "\n{} suite: {} run(s) in {:.0} s; medians:\n\n{rendered}",
        profile.name,
        profile.runs,
        started.elapsed().as_secs_f64()
    );
    Ok(rendered)
}

/// The table of medians over `runs`, also written to `out/<name>-summary.json` and
/// `out/<name>-table.md`.
pub fn summarize(out: &Path, name: &str, runs: &[RunResults]) -> anyhow::Result<String> {
    let tables: Vec<Vec<Row>> = runs.iter().map(rows).collect();
    let medians = table::median(&tables);
    let rendered = table::render(&medians);
    std::fs::write(
        out.join(format!("{name}-summary.json")),
        serde_json::to_string_pretty(&medians)?,
    )?;
    std::fs::write(out.join(format!("{name}-table.md")), &rendered)?;
    Ok(rendered)
}

fn ms(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.2} ms"))
}

fn print_fanout(r: &FanoutResult) {
    let reference = r.reference.as_ref();
    let last = r.steps.last();
    println!(
        "fan-out     {:<8} n={:<6} max {:>8.0}/s  @ref cpu {} µs/del p50 {} p99 {} p99.9 {}  idle {:.1} KB/conn  connects {:.0}/s  storm {:.2} s  (stopped: {})",
        r.flavor.to_string(),
        r.connected,
        r.max_sustained_per_s,
        reference.map_or_else(
            || "-".into(),
            |s| format!("{:.2}", s.server_cpu_us_per_delivery)
        ),
        ms(reference.map(|s| s.latency.p50_ms)),
        ms(reference.map(|s| s.latency.p99_ms)),
        ms(reference.map(|s| s.latency.p999_ms)),
        r.idle_rss_per_connection / 1024.0,
        r.connects_per_s,
        r.storm_seconds,
        last.and_then(|s| s.failure.clone())
            .unwrap_or_else(|| "top step passed".into()),
    );
}

fn print_transport(r: &TransportResult) {
    let reference = r.reference.as_ref();
    let last = r.steps.last();
    println!(
        "transport   herald   {:<16} n={:<4} @ref {} del/s lost {} p50 {} p99 {} cpu {} µs/del load {} cores  max {:.0}/s  (stopped: {}; socket.io and floor skipped: Herald only)",
        r.transport.to_string(),
        r.connected,
        reference.map_or_else(|| "-".into(), |s| format!("{:.0}", s.achieved_per_s)),
        reference.map_or_else(
            || "-".into(),
            |s| s.expected.saturating_sub(s.received).to_string()
        ),
        ms(reference.map(|s| s.latency.p50_ms)),
        ms(reference.map(|s| s.latency.p99_ms)),
        reference.map_or_else(
            || "-".into(),
            |s| format!("{:.2}", s.server_cpu_us_per_delivery)
        ),
        reference.map_or_else(|| "-".into(), |s| format!("{:.2}", s.load_cpu_share)),
        r.max_sustained_per_s,
        last.and_then(|s| s.failure.clone())
            .unwrap_or_else(|| "top step passed".into()),
    );
}

/// The step run at the reference rate, if any.
fn at_reference(steps: &[StepResult]) -> Option<&StepResult> {
    steps.iter().find(|s| s.offered_per_s == REFERENCE_PER_S)
}

/// The rows of one run, in a fixed order (so runs of one suite line up for the medians).
pub fn rows(results: &RunResults) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut sizes: Vec<u64> = results.fanout.iter().map(|r| r.connections).collect();
    sizes.dedup();
    let cross_node_receivers = results.cross_node.first().map_or(0, |r| r.connections);
    let per_flavor = |f: &dyn Fn(Flavor) -> Option<f64>| Flavor::ALL.map(f);
    for &size in &sizes {
        let find = |flavor: Flavor| {
            results
                .fanout
                .iter()
                .find(|r| r.flavor == flavor && r.connections == size)
        };
        let reference = |flavor: Flavor| find(flavor).and_then(|r| at_reference(&r.steps));
        rows.push(Row::new(
            format!("fan-out {size}: max sustained deliveries/s"),
            per_flavor(&|f| find(f).map(|r| r.max_sustained_per_s)),
            vec![Check::PeerAtLeast(1.5), Check::FloorAtLeast(0.9)],
        ));
        rows.push(Row::new(
            format!(
                "fan-out {size}: server CPU µs/delivery @{}k/s",
                REFERENCE_PER_S / 1000.0
            ),
            per_flavor(&|f| reference(f).map(|s| s.server_cpu_us_per_delivery)),
            vec![Check::PeerAtMost(0.65), Check::FloorAtMost(1.15)],
        ));
        for (label, pick) in [
            (
                "p50",
                (|s: &crate::latency::Percentiles| s.p50_ms) as fn(&_) -> f64,
            ),
            ("p99", |s| s.p99_ms),
            ("p99.9", |s| s.p999_ms),
        ] {
            rows.push(Row::new(
                format!(
                    "fan-out {size}: {label} ms @{}k/s",
                    REFERENCE_PER_S / 1000.0
                ),
                per_flavor(&|f| reference(f).map(|s| pick(&s.latency))),
                vec![],
            ));
        }
        rows.push(Row::new(
            format!("fan-out {size}: load-generator CPU (cores) at top step"),
            per_flavor(&|f| {
                find(f).and_then(|r| {
                    r.steps
                        .iter()
                        .rev()
                        .find(|s| s.passed)
                        .map(|s| s.load_cpu_share)
                })
            }),
            vec![],
        ));
        rows.push(Row::new(
            format!("idle {size}: server RSS KB/connection"),
            per_flavor(&|f| find(f).map(|r| r.idle_rss_per_connection / 1024.0)),
            vec![Check::AtMost(8.0), Check::PeerAtMost(1.0 / 3.0)],
        ));
        rows.push(Row::new(
            format!("connect {size}: full connects/s"),
            per_flavor(&|f| find(f).map(|r| r.connects_per_s)),
            vec![Check::AtLeast(8000.0)],
        ));
        rows.push(Row::new(
            format!("connect {size}: reconnect storm s"),
            per_flavor(&|f| find(f).map(|r| r.storm_seconds)),
            vec![],
        ));
    }
    let cross = |flavor: Flavor| results.cross_node.iter().find(|r| r.flavor == flavor);
    let single = |flavor: Flavor| {
        results
            .fanout
            .iter()
            .find(|r| r.flavor == flavor && r.connections == cross_node_receivers)
    };
    let n = cross_node_receivers;
    rows.push(Row::new(
        format!("cross-node {n}: max sustained deliveries/s"),
        per_flavor(&|f| cross(f).map(|r| r.max_sustained_per_s)),
        vec![Check::PeerAtLeast(1.5)],
    ));
    rows.push(Row::new(
        format!("cross-node {n}: throughput / single node"),
        per_flavor(&|f| {
            let (c, s) = (cross(f)?, single(f)?);
            (s.max_sustained_per_s > 0.0).then(|| c.max_sustained_per_s / s.max_sustained_per_s)
        }),
        vec![Check::AtLeast(0.9)],
    ));
    rows.push(Row::new(
        format!(
            "cross-node {n}: added p99 ms @{}k/s",
            REFERENCE_PER_S / 1000.0
        ),
        per_flavor(&|f| {
            let c = at_reference(&cross(f)?.steps)?;
            let s = at_reference(&single(f)?.steps)?;
            Some(c.latency.p99_ms - s.latency.p99_ms)
        }),
        vec![Check::AtMost(2.0)],
    ));
    rows.push(Row::new(
        format!("cross-node {n}: Redis PUBLISH per message"),
        per_flavor(&|f| cross(f).map(|r| r.publishes_per_message)),
        vec![Check::Equals(1.0)],
    ));
    let feed = results.change_feed.as_ref();
    rows.push(Row::new(
        "change → client: p50 ms",
        [feed.map(|r| r.latency.p50_ms), None, None],
        vec![],
    ));
    rows.push(Row::new(
        "change → client: p99 ms",
        [feed.map(|r| r.latency.p99_ms), None, None],
        vec![Check::AtMost(5.0)],
    ));
    transport_rows(results, &mut rows);
    let slow = |flavor: Flavor| results.slow_consumer.iter().find(|r| r.flavor == flavor);
    rows.push(Row::new(
        "slow consumer: readers' p99 ms, all reading",
        per_flavor(&|f| slow(f).map(|r| r.baseline.p99_ms)),
        vec![],
    ));
    rows.push(Row::new(
        "slow consumer: readers' p99 ms, one stuck",
        per_flavor(&|f| slow(f).map(|r| r.stuck.p99_ms)),
        vec![],
    ));
    rows.push(Row::new(
        "slow consumer: server RSS growth MB, one stuck",
        per_flavor(&|f| slow(f).map(|r| r.rss_growth as f64 / 1e6)),
        vec![],
    ));
    rows.push(Row::new(
        "slow consumer: stuck client dropped (1 = yes)",
        per_flavor(&|f| slow(f).map(|r| if r.slow_client_dropped { 1.0 } else { 0.0 })),
        vec![Check::Equals(1.0)],
    ));
    rows
}

/// The transport rows (Herald's column only), when the run measured transports.
fn transport_rows(results: &RunResults, rows: &mut Vec<Row>) {
    let k = REFERENCE_PER_S / 1000.0;
    for r in &results.transports {
        let (t, n) = (r.transport, r.connections);
        let reference = r.reference.as_ref();
        let herald = |value: Option<f64>| [value, None, None];
        rows.push(Row::new(
            format!("transport {t} {n}: deliveries/s @{k}k/s offered"),
            herald(reference.map(|s| s.achieved_per_s)),
            vec![],
        ));
        rows.push(Row::new(
            format!("transport {t} {n}: lost deliveries @{k}k/s"),
            herald(reference.map(|s| s.expected.saturating_sub(s.received) as f64)),
            vec![],
        ));
        rows.push(Row::new(
            format!("transport {t} {n}: p50 ms @{k}k/s"),
            herald(reference.map(|s| s.latency.p50_ms)),
            vec![],
        ));
        rows.push(Row::new(
            format!("transport {t} {n}: p99 ms @{k}k/s"),
            herald(reference.map(|s| s.latency.p99_ms)),
            vec![],
        ));
        rows.push(Row::new(
            format!("transport {t} {n}: server CPU µs/delivery @{k}k/s"),
            herald(reference.map(|s| s.server_cpu_us_per_delivery)),
            vec![],
        ));
        rows.push(Row::new(
            format!("transport {t} {n}: load-generator CPU (cores) @{k}k/s"),
            herald(reference.map(|s| s.load_cpu_share)),
            vec![],
        ));
        rows.push(Row::new(
            format!("transport {t} {n}: max sustained deliveries/s"),
            herald(Some(r.max_sustained_per_s)),
            vec![],
        ));
    }
}
