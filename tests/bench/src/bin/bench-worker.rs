//! `bench-worker --flavor F --servers A,B --source IP [--recv-buffer N] [--transport T]`: one load worker
//! process; see `herald_bench::worker`.

use anyhow::Context;
use herald_bench::connect::ConnectOptions;
use herald_bench::worker::{self, WorkerArgs};

fn main() -> anyhow::Result<()> {
    let mut flavor = None;
    let mut servers = Vec::new();
    let mut source = None;
    let mut recv_buffer = None;
    let mut transport = herald_bench::transports::Transport::WebSockets;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--flavor" => flavor = Some(value.parse().map_err(anyhow::Error::msg)?),
            "--servers" => {
                servers = value
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()
                    .context("--servers: comma-separated host:port")?;
            }
            "--source" => source = Some(value.parse().context("--source: an IP address")?),
            "--recv-buffer" => recv_buffer = Some(value.parse().context("--recv-buffer: bytes")?),
            "--transport" => transport = value.parse().map_err(anyhow::Error::msg)?,
            other => anyhow::bail!("unknown flag {other}"),
        }
    }
    let args = WorkerArgs {
        flavor: flavor.context("--flavor is required")?,
        servers,
        options: ConnectOptions {
            source: source.context("--source is required")?,
            recv_buffer,
        },
        transport,
    };
    anyhow::ensure!(!args.servers.is_empty(), "--servers is required");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    tokio::task::LocalSet::new().block_on(&runtime, worker::run(args))
}
