//! What standalone mode adds for the demo and for `cosmos` feeds without an `endpoint`: the
//! embedded Cosmos DB account, the `demo/stocks` container, the `stocks` feed and the writer.

use std::sync::Arc;

use anyhow::Context as _;
use tokio::task::JoinHandle;

use super::stocks;
use crate::config::{Config, CosmosAccount, FeedSource};
use crate::feed::cosmos::EmbeddedCosmos;

/// The running embedded account and demo writer.
pub struct Embedded {
    /// The account, shared with the feed sources and the write endpoint.
    pub account: Arc<EmbeddedCosmos>,
    writer: Option<JoinHandle<()>>,
}

impl Embedded {
    /// Stops the demo writer.
    pub fn stop(&self) {
        if let Some(writer) = &self.writer {
            writer.abort();
        }
    }
}

/// Adds the demo's `stocks` feed to `config` when the demo is on and no feed of that name is
/// configured.
pub fn add_demo_feed(config: &mut Config) {
    if config.demo.enabled && !config.feeds.iter().any(|f| f.name == stocks::FEED) {
        config.feeds.push(stocks::feed());
    }
}

/// Starts the embedded account if the demo or a feed needs one: with the demo on, creates
/// `demo/stocks` and (with `demo.writer`) starts moving prices.
pub async fn start(config: &Config) -> anyhow::Result<Option<Embedded>> {
    let needed = config.demo.enabled
        || config.feeds.iter().any(|f| {
            matches!(
                f.source,
                FeedSource::Cosmos {
                    account: CosmosAccount::Embedded,
                    ..
                }
            )
        });
    if !needed {
        return Ok(None);
    }
    let account = Arc::new(
        EmbeddedCosmos::start()
            .await
            .context("cannot start the embedded cosmos account")?,
    );
    let mut writer = None;
    if config.demo.enabled {
        let container = account
            .create_container(
                stocks::DATABASE,
                stocks::CONTAINER,
                stocks::PARTITION_KEY,
                stocks::FEED_RANGES,
            )
            .await
            .context("cannot create the demo container demo/stocks")?;
        tracing::info!(
            container = %container.name(),
            feed_ranges = stocks::FEED_RANGES,
            write = %super::documents::path(stocks::DATABASE, stocks::CONTAINER),
            "demo: embedded cosmos account ready; the stocks feed pushes stockUpdated to hub stocks; open / for the board"
        );
        if config.demo.writer {
            writer = Some(super::writer::spawn(container, config.demo.interval));
        }
    }
    Ok(Some(Embedded { account, writer }))
}
