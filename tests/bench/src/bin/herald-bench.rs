//! `herald-bench [quick|full] [scenario...]`: runs the benchmark suite and prints the table;
//! `herald-bench table RUN.json...` prints the table of medians over saved runs.
//! Scenarios: fanout, cross-node, change-feed, slow-consumer, transports (default: all); naming servers
//! (herald, socketio, floor) restricts the run to them.

use anyhow::Context;
use herald_bench::flavor::Flavor;
use herald_bench::profile::Profile;
use herald_bench::setup::{Setup, pin_self_to_load_core};
use herald_bench::suite;

fn main() -> anyhow::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!(
            "herald-bench [quick|full] [fanout|cross-node|change-feed|slow-consumer|transports ...] [herald|socketio|floor ...]\n\
             needs target/release/herald (cargo build --release -p herald-node) or BENCH_HERALD"
        );
        return Ok(());
    }
    if args.first().map(String::as_str) == Some("table") {
        return table_of(&args[1..]);
    }
    let mut profile = match args.first().map(String::as_str) {
        Some("full") => {
            args.remove(0);
            Profile::full()
        }
        Some("quick") => {
            args.remove(0);
            Profile::quick()
        }
        _ => Profile::quick(),
    };
    let mut flavors = Vec::new();
    let mut scenarios = Vec::new();
    for name in args {
        if let Ok(flavor) = name.parse::<Flavor>() {
            flavors.push(flavor);
        } else if [
            "fanout",
            "cross-node",
            "change-feed",
            "slow-consumer",
            "transports",
        ]
        .contains(&name.as_str())
        {
            scenarios.push(name);
        } else {
            anyhow::bail!(
                "unknown argument {name:?}: expected a scenario (fanout, cross-node, change-feed, slow-consumer, transports) or a server (herald, socketio, floor)"
            );
        }
    }
    if !flavors.is_empty() {
        profile.flavors = flavors;
    }
    pin_self_to_load_core()?;
    let setup = Setup::locate()?;
    suite::run(&setup, &profile, &scenarios)?;
    Ok(())
}

/// `herald-bench table RUN.json...`: the table of medians over saved runs.
fn table_of(files: &[String]) -> anyhow::Result<()> {
    anyhow::ensure!(
        !files.is_empty(),
        "usage: herald-bench table target/bench/full-run1.json ..."
    );
    let mut runs = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file).with_context(|| format!("reading {file}"))?;
        runs.push(serde_json::from_str(&text).with_context(|| format!("parsing {file}"))?);
    }
    let out = std::path::Path::new(&files[0])
        .parent()
        .unwrap_or_else(|| std::path::Path::new("."));
    print!("{}", suite::summarize(out, "table", &runs)?);
    Ok(())
}
