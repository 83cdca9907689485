//! `bench-floor ADDR`: the raw WebSocket broadcast floor server, single-threaded; see
//! `herald_bench::floor`.

use anyhow::Context;

fn main() -> anyhow::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .context("usage: bench-floor 127.0.0.1:PORT")?
        .parse()
        .context("bench-floor: ADDR must be host:port")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    tokio::task::LocalSet::new().block_on(&runtime, async move {
        let listener = herald_bench::floor::bind(addr).await?;
        herald_bench::floor::serve(listener).await?;
        Ok(())
    })
}
