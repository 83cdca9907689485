//! The demo's data: the embedded container `demo/stocks` (partition key `/symbol`, 4 feed
//! ranges), the symbols it starts with, and the `stocks` feed that pushes `stockUpdated` to
//! hub `stocks` — the feed of ARCHITECTURE.md, reading the embedded account.

use herald_proto::ids::HubName;

use crate::config::{
    CosmosAccount, DEFAULT_BATCH_SIZE, DEFAULT_COSMOS_POLL_DELAY, FeedConfig, FeedSource, Route,
    StartFrom,
};

/// The database of the demo container.
pub const DATABASE: &str = "demo";
/// The demo container.
pub const CONTAINER: &str = "stocks";
/// Its partition key path.
pub const PARTITION_KEY: &str = "/symbol";
/// Its feed ranges: four leases.
pub const FEED_RANGES: u32 = 4;
/// The feed's name, hub and client method.
pub const FEED: &str = "stocks";
/// The hub the board subscribes to.
pub const HUB: &str = "stocks";
/// The client method the board handles.
pub const TARGET: &str = "stockUpdated";

/// The symbols and their opening prices.
pub const SYMBOLS: &[(&str, f64)] = &[
    ("AAPL", 228.40),
    ("AMZN", 205.10),
    ("GOOG", 175.30),
    ("META", 580.20),
    ("MSFT", 431.20),
    ("NVDA", 140.60),
    ("ORCL", 190.70),
    ("TSLA", 340.90),
];

/// The `stocks` feed over the embedded account.
pub fn feed() -> FeedConfig {
    FeedConfig {
        name: FEED.to_owned(),
        source: FeedSource::Cosmos {
            database: DATABASE.to_owned(),
            container: CONTAINER.to_owned(),
            account: CosmosAccount::Embedded,
            poll_delay: DEFAULT_COSMOS_POLL_DELAY,
        },
        // The account starts empty with this process: every change is news.
        start_from: StartFrom::Beginning,
        hub: hub(),
        target: Some(TARGET.to_owned()),
        to: Route::All,
        project: Some(vec![
            "symbol".to_owned(),
            "price".to_owned(),
            "change".to_owned(),
        ]),
        handler: None,
        batch_size: DEFAULT_BATCH_SIZE,
    }
}

/// `stocks`, as a hub name.
pub fn hub() -> HubName {
    // A constant that is a valid hub name; the test below proves it.
    HUB.parse()
        .unwrap_or_else(|_| unreachable!("{HUB} is a valid hub name"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_feed_is_the_one_the_architecture_describes() {
        let feed = feed();
        assert_eq!(feed.hub.as_str(), "stocks");
        assert_eq!(feed.target.as_deref(), Some("stockUpdated"));
        assert_eq!(feed.to, Route::All);
        assert!(
            SYMBOLS.windows(2).all(|w| w[0].0 < w[1].0),
            "sorted, distinct"
        );
    }
}
