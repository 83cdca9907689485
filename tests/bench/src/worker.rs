//! A load worker process (`bench-worker`): holds a share of the benchmark's connections from one
//! 127.0.0.x source address on a single-threaded runtime, and answers one-line commands from the
//! orchestrator on stdin with one JSON line on stdout. Several workers spread connections past
//! the per-process open-file limit and over more source ports.
//!
//! Commands: `connect N CONCURRENCY`, `storm CONCURRENCY` (drop every connection and open as
//! many again at once), `reset`, `report`, `pause`, `resume`, `close`, `quit`.

use crate::connect::{self, ConnectOptions};
use crate::flavor::Flavor;
use crate::latency::{Tally, WireHistogram};
use crate::proc_stat;
use crate::receiver;
use crate::sse_lp::{self, Running};
use crate::transports::Transport;
use serde::{Deserialize, Serialize};
use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Instant;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::watch;
use tokio::task::{AbortHandle, JoinSet};

/// What a worker is told at start.
#[derive(Debug, Clone)]
pub struct WorkerArgs {
    /// Server kind.
    pub flavor: Flavor,
    /// Servers to connect to, round robin (the cross-node scenario spreads over nodes).
    pub servers: Vec<SocketAddr>,
    /// Source address and socket options.
    pub options: ConnectOptions,
    /// The SignalR transport (Herald only; WebSockets for the other servers).
    pub transport: Transport,
}

/// The answer to `connect` and `storm`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ConnectReply {
    /// Connections opened.
    pub connected: u64,
    /// Connections that failed.
    pub failed: u64,
    /// Wall time of the whole batch, µs.
    pub elapsed_us: u64,
    /// The first failure, if any.
    pub first_error: Option<String>,
}

/// The answer to `report`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Report {
    /// Messages received since the last `reset`.
    pub received: u64,
    /// Connections closed since start.
    pub closed: u64,
    /// Connections open.
    pub open: u64,
    /// Latency since the last `reset`.
    pub latency: WireHistogram,
    /// This process's CPU time (user + system), µs.
    pub cpu_us: u64,
}

/// Runs the worker until `quit` or end of input.
pub async fn run(args: WorkerArgs) -> anyhow::Result<()> {
    let tally = Rc::new(RefCell::new(Tally::default()));
    let (pause_tx, pause_rx) = watch::channel(false);
    let mut handles: Vec<AbortHandle> = Vec::new();
    let mut next_server = 0usize;
    let ports = connect::source_ports();
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut stdout = tokio::io::stdout();
    while let Some(line) = lines.next_line().await? {
        let words: Vec<&str> = line.split_whitespace().collect();
        let reply = match words.as_slice() {
            ["connect", count, concurrency] => {
                let count: usize = count.parse()?;
                let concurrency: usize = concurrency.parse()?;
                let (reply, opened) = connect_many(
                    &args,
                    count,
                    concurrency,
                    &mut next_server,
                    &ports,
                    &tally,
                    &pause_rx,
                )
                .await;
                handles.extend(opened);
                serde_json::to_string(&reply)?
            }
            ["storm", concurrency] => {
                let count = handles.len();
                for handle in handles.drain(..) {
                    handle.abort();
                }
                let concurrency: usize = concurrency.parse()?;
                let (reply, opened) = connect_many(
                    &args,
                    count,
                    concurrency,
                    &mut next_server,
                    &ports,
                    &tally,
                    &pause_rx,
                )
                .await;
                handles.extend(opened);
                serde_json::to_string(&reply)?
            }
            ["reset"] => {
                let mut t = tally.borrow_mut();
                t.received = 0;
                t.latency.reset();
                "{}".to_owned()
            }
            ["report"] => {
                let t = tally.borrow();
                let open = handles.iter().filter(|h| !h.is_finished()).count() as u64;
                serde_json::to_string(&Report {
                    received: t.received,
                    closed: t.closed,
                    open,
                    latency: WireHistogram::from_histogram(&t.latency),
                    cpu_us: proc_stat::sample(std::process::id())
                        .map(|s| s.cpu_us)
                        .unwrap_or(0),
                })?
            }
            ["pause"] => {
                pause_tx.send_replace(true);
                "{}".to_owned()
            }
            ["resume"] => {
                pause_tx.send_replace(false);
                "{}".to_owned()
            }
            ["close"] => {
                for handle in handles.drain(..) {
                    handle.abort();
                }
                "{}".to_owned()
            }
            ["quit"] => break,
            _ => anyhow::bail!("unknown worker command {line:?}"),
        };
        stdout.write_all(reply.as_bytes()).await?;
        stdout.write_all(b"\n").await?;
        stdout.flush().await?;
    }
    Ok(())
}

/// Opens `count` connections, at most `concurrency` at a time, and starts their receivers.
async fn connect_many(
    args: &WorkerArgs,
    count: usize,
    concurrency: usize,
    next_server: &mut usize,
    ports: &Rc<Cell<u16>>,
    tally: &Rc<RefCell<Tally>>,
    paused: &watch::Receiver<bool>,
) -> (ConnectReply, Vec<AbortHandle>) {
    let started = Instant::now();
    let mut reply = ConnectReply::default();
    let mut handles = Vec::with_capacity(count);
    let mut pending = JoinSet::new();
    let mut launched = 0;
    while launched < count || !pending.is_empty() {
        while launched < count && pending.len() < concurrency.max(1) {
            let server = args.servers[*next_server % args.servers.len()];
            *next_server += 1;
            launched += 1;
            pending.spawn_local(open(
                args.clone(),
                server,
                Rc::clone(ports),
                Rc::clone(tally),
                paused.clone(),
            ));
        }
        match pending.join_next().await {
            Some(Ok(Ok(running))) => {
                reply.connected += 1;
                handles.push(tokio::task::spawn_local(running).abort_handle());
            }
            Some(Ok(Err(e))) => {
                reply.failed += 1;
                reply.first_error.get_or_insert_with(|| e.to_string());
            }
            Some(Err(e)) => {
                reply.failed += 1;
                reply.first_error.get_or_insert_with(|| e.to_string());
            }
            None => break,
        }
    }
    reply.elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    (reply, handles)
}

/// Opens one connection of `args`' flavor and transport and returns its receive loop.
async fn open(
    args: WorkerArgs,
    server: SocketAddr,
    ports: Rc<Cell<u16>>,
    tally: Rc<RefCell<Tally>>,
    paused: watch::Receiver<bool>,
) -> Result<Running, connect::ConnectError> {
    match args.transport {
        Transport::WebSockets => {
            let link = connect::open(args.flavor, server, args.options, ports).await?;
            Ok(Box::pin(receiver::run(args.flavor, link, tally, paused)))
        }
        Transport::ServerSentEvents => sse_lp::open_sse(server, args.options, ports, tally).await,
        Transport::LongPolling => {
            sse_lp::open_long_polling(server, args.options, ports, tally).await
        }
    }
}
