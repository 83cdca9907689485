//! Joining the cluster at start-up: the Redis backplane, the command connection for cluster
//! state, and this node's own channel.

use std::sync::Arc;

use anyhow::Context as _;
use tokio::sync::mpsc;

use super::Cluster;
use super::store::Store;
use crate::backplane::redis::{RedisBackplane, RedisSettings, command_connection};
use crate::backplane::{Backplane, Incoming};
use crate::config::{Config, Role};
use crate::metrics::Metrics;

/// Connects to `redis.url` and returns the cluster link.
pub async fn connect(
    config: &Config,
    incoming: mpsc::Sender<Incoming>,
    metrics: &Metrics,
) -> anyhow::Result<Cluster> {
    config.require_for(Role::Node)?;
    let target = config
        .redis
        .url
        .clone()
        .context("config key redis.url is required for `herald node`")?;
    tracing::info!(redis = %target, prefix = %config.redis.prefix, "connecting to redis");
    let settings = RedisSettings::from_config(config, target.clone())?;
    settings.security.warn_if_insecure();
    let commands = command_connection(&target, &settings.security, config.redis.connect_timeout)
        .await
        .with_context(|| format!("cannot connect to redis ({target}); check redis.url"))?;
    let backplane = RedisBackplane::start(settings, incoming, metrics.backplane_counters())
        .with_context(|| format!("cannot start the redis backplane ({target})"))?;
    let store = Store::new(commands, &config.redis.prefix, config.node_id.clone());
    let backplane: Arc<dyn Backplane> = backplane;
    let cluster = Cluster::new(
        config.node_id.clone(),
        &config.redis.prefix,
        backplane,
        Some(store),
        config.cluster.request_timeout,
    );
    cluster.subscribe(&cluster.channels().node(config.node_id.as_str()));
    Ok(cluster)
}
