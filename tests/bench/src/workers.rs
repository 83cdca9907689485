//! The orchestrator's side of the load workers: starts `bench-worker` processes pinned to the
//! load core, each on its own 127.0.0.x source address, and sends every command to all of them
//! before reading the answers, so they work in parallel.

use crate::flavor::Flavor;
use crate::latency::{self, Percentiles};
use crate::servers::LOAD_CORE;
use crate::transports::Transport;
use crate::worker::{ConnectReply, Report};
use anyhow::{Context, bail};
use hdrhistogram::Histogram;
use serde::de::DeserializeOwned;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// One worker process.
struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

/// A set of workers sharing one server (or one set of nodes).
pub struct Workers {
    workers: Vec<Worker>,
}

/// The merged `report` of all workers.
pub struct Merged {
    /// Messages received.
    pub received: u64,
    /// Connections closed.
    pub closed: u64,
    /// Connections open.
    pub open: u64,
    /// Merged latency histogram.
    pub latency: Histogram<u64>,
    /// Sum of the workers' CPU time, µs.
    pub cpu_us: u64,
}

impl Merged {
    /// Latency percentiles.
    pub fn percentiles(&self) -> Percentiles {
        Percentiles::of(&self.latency)
    }
}

/// The merged answer of `connect`/`storm`.
pub struct Connected {
    /// Connections opened.
    pub connected: u64,
    /// Failures.
    pub failed: u64,
    /// The slowest worker's wall time, seconds.
    pub seconds: f64,
    /// The first error any worker saw.
    pub first_error: Option<String>,
}

impl Workers {
    /// Starts `count` workers for `flavor` against `servers`, each on the next unused 127.0.0.x
    /// source address (so no run meets the TIME_WAIT ports of the one before).
    pub fn start(
        binary: &Path,
        count: usize,
        flavor: Flavor,
        servers: &[SocketAddr],
        recv_buffer: Option<u32>,
    ) -> anyhow::Result<Self> {
        Self::start_with(
            binary,
            count,
            flavor,
            servers,
            recv_buffer,
            Transport::WebSockets,
        )
    }

    /// [`Workers::start`] with the SignalR `transport` its clients use (Herald only).
    pub fn start_with(
        binary: &Path,
        count: usize,
        flavor: Flavor,
        servers: &[SocketAddr],
        recv_buffer: Option<u32>,
        transport: Transport,
    ) -> anyhow::Result<Self> {
        let servers_arg = servers
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let mut workers = Vec::with_capacity(count);
        for _ in 0..count {
            let ip = next_source();
            let mut command = Command::new("taskset");
            command
                .args(["-c", LOAD_CORE])
                .arg(binary)
                .args(["--flavor", &flavor.to_string()])
                .args(["--servers", &servers_arg])
                .args(["--source", &ip])
                .args(["--transport", &transport.to_string()]);
            if let Some(size) = recv_buffer {
                command.args(["--recv-buffer", &size.to_string()]);
            }
            let mut child = command
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .with_context(|| format!("starting {}", binary.display()))?;
            let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
                bail!("worker without pipes");
            };
            workers.push(Worker {
                child,
                stdin,
                stdout: BufReader::new(stdout),
            });
        }
        Ok(Self { workers })
    }

    /// How many workers there are.
    pub fn len(&self) -> usize {
        self.workers.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.workers.is_empty()
    }

    /// Sends `commands[i]` to worker `i` and returns every answer.
    fn ask_each<T: DeserializeOwned>(&mut self, commands: &[String]) -> anyhow::Result<Vec<T>> {
        for (worker, command) in self.workers.iter_mut().zip(commands) {
            writeln!(worker.stdin, "{command}")?;
            worker.stdin.flush()?;
        }
        let mut answers = Vec::with_capacity(self.workers.len());
        for worker in &mut self.workers {
            let mut line = String::new();
            if worker.stdout.read_line(&mut line)? == 0 {
                bail!("a load worker exited");
            }
            answers.push(serde_json::from_str(&line).context("worker answer")?);
        }
        Ok(answers)
    }

    fn ask_all<T: DeserializeOwned>(&mut self, command: &str) -> anyhow::Result<Vec<T>> {
        let commands = vec![command.to_owned(); self.workers.len()];
        self.ask_each(&commands)
    }

    /// Opens `total` connections spread evenly, `concurrency` in flight per worker.
    pub fn connect(&mut self, total: usize, concurrency: usize) -> anyhow::Result<Connected> {
        let n = self.workers.len();
        let commands: Vec<String> = (0..n)
            .map(|i| {
                format!(
                    "connect {} {concurrency}",
                    total / n + usize::from(i < total % n)
                )
            })
            .collect();
        Ok(merge_connects(self.ask_each(&commands)?))
    }

    /// Drops every connection and reopens as many at once.
    pub fn storm(&mut self, concurrency: usize) -> anyhow::Result<Connected> {
        Ok(merge_connects(
            self.ask_all(&format!("storm {concurrency}"))?,
        ))
    }

    /// Zeroes the counters and histograms.
    pub fn reset(&mut self) -> anyhow::Result<()> {
        self.ask_all::<serde_json::Value>("reset").map(drop)
    }

    /// Stops every connection's reading (slow consumer).
    pub fn pause(&mut self) -> anyhow::Result<()> {
        self.ask_all::<serde_json::Value>("pause").map(drop)
    }

    /// Lets paused connections read again.
    pub fn resume(&mut self) -> anyhow::Result<()> {
        self.ask_all::<serde_json::Value>("resume").map(drop)
    }

    /// Closes every connection.
    pub fn close(&mut self) -> anyhow::Result<()> {
        self.ask_all::<serde_json::Value>("close").map(drop)
    }

    /// The merged report.
    pub fn report(&mut self) -> anyhow::Result<Merged> {
        let reports: Vec<Report> = self.ask_all("report")?;
        let mut merged = Merged {
            received: 0,
            closed: 0,
            open: 0,
            latency: latency::histogram(),
            cpu_us: 0,
        };
        for r in reports {
            merged.received += r.received;
            merged.closed += r.closed;
            merged.open += r.open;
            merged.cpu_us += r.cpu_us;
            r.latency.merge_into(&mut merged.latency);
        }
        Ok(merged)
    }
}

/// The next source address: 127.0.0.2 ..= 127.0.0.254, round robin over the process's life.
fn next_source() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let i = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("127.0.0.{}", 2 + i % 253)
}

fn merge_connects(replies: Vec<ConnectReply>) -> Connected {
    let mut merged = Connected {
        connected: 0,
        failed: 0,
        seconds: 0.0,
        first_error: None,
    };
    for r in replies {
        merged.connected += r.connected;
        merged.failed += r.failed;
        merged.seconds = merged.seconds.max(r.elapsed_us as f64 / 1e6);
        if merged.first_error.is_none() {
            merged.first_error = r.first_error;
        }
    }
    merged
}

impl Drop for Workers {
    fn drop(&mut self) {
        for worker in &mut self.workers {
            let _ = writeln!(worker.stdin, "quit");
            let _ = worker.child.kill();
            let _ = worker.child.wait();
        }
    }
}
