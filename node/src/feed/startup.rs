//! Starting and stopping a node's feed readers: which lease table, which coordinator, which
//! sources, depending on the mode.
//!
//! - In a cluster (`herald node`) the lease table is in Redis and `herald coordinator`
//!   processes assign it; their announcements arrive over the backplane.
//! - Standalone, the lease table is in memory and an embedded coordinator (the same balancer)
//!   assigns every lease to this node; `cosmos` feeds without an `endpoint` read the embedded
//!   account.

use std::sync::Arc;

use anyhow::Context as _;
use herald_coordinator::embedded::{EMBEDDED_TICK, EmbeddedCoordinator, EmbeddedHandle};
use herald_coordinator::lease_store::LeaseStore;
use herald_coordinator::lease_table::LeaseTable;
use herald_coordinator::memory_leases::MemoryLeaseTable;
use tokio::sync::watch;

use super::cosmos::EmbeddedCosmos;
use super::handler::FeedHandler;
use super::redis_stream::RedisStreamSource;
use super::runner::{self, RunnerContext, RunnerFeed, RunnerHandle};
use super::source::ChangeSource;
use crate::backplane::redis::{RedisSecurity, command_connection};
use crate::config::{Config, FeedConfig, FeedSource};
use crate::http::AppState;

/// A node's running feeds.
pub struct Feeds {
    /// The lease table the readers follow (the admin API reads it too).
    table: Arc<dyn LeaseTable>,
    runner: RunnerHandle,
    embedded: Option<EmbeddedHandle>,
    node: String,
}

impl Feeds {
    /// The lease table the readers follow.
    pub fn table(&self) -> Arc<dyn LeaseTable> {
        self.table.clone()
    }

    /// Stops reading: standalone, the embedded coordinator first takes this node's leases
    /// back; then every reader stops after its current push.
    pub async fn stop(self) {
        if let Some(embedded) = &self.embedded {
            embedded.drain(&self.node).await;
        }
        self.runner.stop().await;
        if let Some(embedded) = &self.embedded {
            embedded.leave(&self.node).await;
        }
    }
}

/// Starts the readers of `[[feeds]]`, if any. `announcements` carries the coordinators'
/// assignment announcements in a cluster.
pub async fn start(
    state: &AppState,
    announcements: Option<watch::Receiver<u64>>,
    embedded: Option<Arc<EmbeddedCosmos>>,
) -> anyhow::Result<Option<Feeds>> {
    let config = &state.config;
    if config.feeds.is_empty() {
        return Ok(None);
    }
    let node = config.node_id.to_string();
    let mut feeds = Vec::new();
    for (index, feed) in config.feeds.iter().enumerate() {
        let source = open_source(config, index, feed, embedded.as_deref()).await?;
        let handler = feed
            .handler
            .clone()
            .map(|url| FeedHandler::new(url, access_keys(config), config.upstream.timeout))
            .transpose()
            .map_err(|e| anyhow::anyhow!("feeds[{index}].handler: {e}"))?;
        feeds.push(RunnerFeed {
            config: Arc::new(feed.clone()),
            source,
            handler,
        });
    }
    let (leases, embedded, announcements): (Arc<dyn LeaseTable>, _, _) =
        if state.cluster.is_clustered() {
            let target = config
                .redis
                .url
                .clone()
                .context("a cluster node has redis.url")?;
            let security = RedisSecurity::from_config(&config.redis)?;
            let conn = command_connection(&target, &security, config.redis.connect_timeout).await?;
            let store = LeaseStore::new(conn, &config.redis.prefix);
            (Arc::new(store), None, announcements)
        } else {
            let table = Arc::new(MemoryLeaseTable::new());
            let embedded = EmbeddedCoordinator::spawn(table.clone(), EMBEDDED_TICK);
            embedded.join(&node).await;
            let announcements = Some(embedded.announcements());
            (table, Some(embedded), announcements)
        };
    tracing::info!(
        feeds = feeds.len(),
        coordinator = if embedded.is_some() {
            "embedded"
        } else {
            "cluster"
        },
        "following the lease table for [[feeds]]"
    );
    let context = RunnerContext {
        node: node.clone(),
        leases: leases.clone(),
        sink: Arc::new(state.clone()),
        metrics: state.metrics.clone(),
        announcements,
    };
    Ok(Some(Feeds {
        table: leases,
        runner: runner::spawn(context, feeds),
        embedded,
        node,
    }))
}

/// The source of feed `index`.
async fn open_source(
    config: &Config,
    index: usize,
    feed: &FeedConfig,
    embedded: Option<&EmbeddedCosmos>,
) -> anyhow::Result<Arc<dyn ChangeSource>> {
    match &feed.source {
        FeedSource::RedisStream { partitions } => {
            let target = config.redis.url.clone().with_context(|| {
                format!(
                    "feeds[{index}].source is redis-stream, which needs redis.url (e.g. HERALD_REDIS_URL=redis://localhost:6379)"
                )
            })?;
            // Its own connection: a blocked XREAD holds the connection it runs on.
            let security = RedisSecurity::from_config(&config.redis)?;
            let conn = command_connection(&target, &security, config.redis.connect_timeout)
                .await
                .with_context(|| format!("feeds[{index}]: cannot connect to redis ({target})"))?;
            Ok(Arc::new(RedisStreamSource::new(
                conn,
                &config.redis.prefix,
                &feed.name,
                *partitions,
            )))
        }
        FeedSource::Cosmos { .. } => super::cosmos::open(feed, embedded)
            .await
            .with_context(|| format!("feeds[{index}].source")),
    }
}

/// The keys handler requests are signed with: the connection string's access key, if any.
fn access_keys(config: &Config) -> Vec<crate::auth::AccessKey> {
    config
        .connection_string
        .as_ref()
        .and_then(|c| c.access_key())
        .cloned()
        .into_iter()
        .collect()
}
