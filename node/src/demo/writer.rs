//! The demo writer: moves the prices of a few symbols of `demo/stocks` every `demo.interval`
//! (a small random walk) by upserting their documents into the embedded account — the writes
//! that the `stocks` feed then pushes to the board. First it writes every symbol once, so the
//! board fills at once.

use std::collections::BTreeMap;
use std::time::Duration;

use rand::Rng;
use serde_json::json;
use tokio::task::JoinHandle;

use super::stocks::SYMBOLS;
use crate::feed::cosmos::EmbeddedContainer;

/// Symbols moved per tick.
const MOVES_PER_TICK: usize = 2;
/// Largest relative move of one tick.
const MAX_MOVE: f64 = 0.01;

/// Starts the writer; abort the handle to stop it.
pub fn spawn(container: EmbeddedContainer, interval: Duration) -> JoinHandle<()> {
    tokio::spawn(run(container, interval))
}

async fn run(container: EmbeddedContainer, interval: Duration) {
    let mut prices: BTreeMap<&str, f64> = SYMBOLS.iter().copied().collect();
    for (symbol, price) in &prices {
        write(&container, symbol, *price, 0.0).await;
    }
    tracing::info!(
        symbols = prices.len(),
        ?interval,
        "demo writer started: prices move in {}",
        container.name()
    );
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        let moves: Vec<(&str, f64, f64)> = {
            let mut rng = rand::rng();
            (0..MOVES_PER_TICK)
                .filter_map(|_| {
                    let (symbol, _) = SYMBOLS[rng.random_range(0..SYMBOLS.len())];
                    let old = *prices.get(symbol)?;
                    let new = round(old * (1.0 + rng.random_range(-MAX_MOVE..MAX_MOVE)));
                    prices.insert(symbol, new);
                    Some((symbol, new, round(new - old)))
                })
                .collect()
        };
        for (symbol, price, change) in moves {
            write(&container, symbol, price, change).await;
        }
    }
}

async fn write(container: &EmbeddedContainer, symbol: &str, price: f64, change: f64) {
    let document = json!({ "id": symbol, "symbol": symbol, "price": price, "change": change });
    if let Err(error) = container.upsert(document).await {
        tracing::warn!(%symbol, %error, "the demo writer could not write a price");
    }
}

/// Cents.
fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}
