//! `bench-otlp-sink ADDR`: an OTLP/HTTP trace sink answering every export with 200, for the
//! tracing overhead runs (see `herald_bench::otlp_sink` and `docs/benchmarks.md`). Prints what it
//! received every 10 s when something arrived.

use anyhow::Context;
use herald_bench::otlp_sink::{SinkCounts, serve};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

fn main() -> anyhow::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .context("usage: bench-otlp-sink 127.0.0.1:PORT")?;
    let listener = std::net::TcpListener::bind(&addr).with_context(|| format!("binding {addr}"))?;
    eprintln!("otlp sink: listening on http://{addr}/v1/traces");
    let counts = Arc::new(SinkCounts::default());
    let report = Arc::clone(&counts);
    std::thread::spawn(move || {
        let mut last = 0;
        loop {
            std::thread::sleep(Duration::from_secs(10));
            let requests = report.requests.load(Ordering::Relaxed);
            if requests != last {
                last = requests;
                eprintln!(
                    "otlp sink: {requests} export requests, {} bytes",
                    report.bytes.load(Ordering::Relaxed)
                );
            }
        }
    });
    serve(listener, counts).context("accepting connections")
}
