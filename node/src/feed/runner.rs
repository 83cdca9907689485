//! Follows the lease table: starts a reader for every lease assigned to this node (with the
//! epoch it was assigned under), stops readers whose lease moved. The coordinator publishes
//! assignments; re-reading the table every second converges even if a publish was missed.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use herald_coordinator::lease_store::LeaseStore;
use tokio::task::JoinHandle;

use super::reader::{self, ReaderHandle, ReaderParts};
use super::source::ChangeSource;
use crate::backplane::redis::CommandConnection;
use crate::config::FeedConfig;
use crate::http::AppState;

/// How often the lease table is re-read.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// A feed with its source.
pub struct RunnerFeed {
    /// Routing rules.
    pub config: Arc<FeedConfig>,
    /// Where its changes come from.
    pub source: Arc<dyn ChangeSource>,
}

/// Starts following the lease table; send `true` on the returned sender to stop every reader.
pub fn spawn(
    state: AppState,
    leases: LeaseStore<CommandConnection>,
    feeds: Vec<RunnerFeed>,
) -> (JoinHandle<()>, tokio::sync::watch::Sender<bool>) {
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let feeds: HashMap<String, RunnerFeed> = feeds
        .into_iter()
        .map(|f| (f.config.name.clone(), f))
        .collect();
    let node = state.config.node_id.to_string();
    let task = tokio::spawn(async move {
        let mut readers: HashMap<String, ReaderHandle> = HashMap::new();
        let mut tick = tokio::time::interval(POLL_INTERVAL);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stopped.changed() => break,
            }
            let table = match leases.all().await {
                Ok(table) => table,
                Err(error) => {
                    tracing::warn!(%error, "could not read the lease table");
                    continue;
                }
            };
            let mine: HashMap<String, _> = table
                .into_iter()
                .filter(|l| l.owner.as_deref() == Some(node.as_str()))
                .map(|l| (l.id.clone(), l))
                .collect();
            readers.retain(|id, reader| {
                let keep =
                    mine.get(id).is_some_and(|l| l.epoch == reader.epoch) && !reader.is_finished();
                if !keep {
                    reader.stop();
                }
                keep
            });
            for (id, lease) in mine {
                if readers.contains_key(&id) {
                    continue;
                }
                let Some((feed, partition)) = id
                    .rsplit_once('/')
                    .and_then(|(f, p)| Some((f, p.parse::<u32>().ok()?)))
                else {
                    continue;
                };
                let Some(feed) = feeds.get(feed) else {
                    continue;
                };
                let parts = ReaderParts {
                    feed: feed.config.clone(),
                    partition,
                    lease: id.clone(),
                    epoch: lease.epoch,
                    checkpoint: lease.checkpoint.clone(),
                    node: node.clone(),
                    source: feed.source.clone(),
                    leases: leases.clone(),
                    state: state.clone(),
                };
                readers.insert(id, reader::spawn(parts));
            }
        }
        for reader in readers.values() {
            reader.stop();
        }
    });
    (task, stop)
}

/// The lease ids of `feeds`: `<feed>/<partition>`.
pub fn lease_ids(feeds: &[FeedConfig]) -> Vec<String> {
    let mut ids = Vec::new();
    for feed in feeds {
        if let crate::config::FeedSource::RedisStream { partitions } = feed.source {
            ids.extend((0..partitions).map(|p| format!("{}/{p}", feed.name)));
        }
    }
    ids
}
