//! The Redis pub/sub backplane.
//!
//! One supervisor task per node owns one RESP3 push connection; the [`RedisBackplane`] handle
//! only records intent in shared state and wakes it, so no method ever waits on Redis.
//!
//! - [`target`]: which deployment `redis.url` names (standalone, Cluster, Sentinel);
//! - [`security`]: password and TLS material (`rediss://`, private CA, client certificate);
//! - `connector`: from a target to connections (Sentinel re-resolves the master, Cluster gets a
//!   fresh slot map, on every attempt);
//! - `link`: the push connection's pub/sub commands (`PUBLISH`/`SUBSCRIBE`, or sharded
//!   `SPUBLISH`/`SSUBSCRIBE` grouped by slot on a Cluster);
//! - `push`: RESP3 pushes — messages straight to the router's queue, `Disconnection` to the
//!   supervisor;
//! - `supervisor`: the task: connect with backoff, resubscribe everything, send publishes in
//!   order, rebuild the connection on any failure, flush on close;
//! - `outbox`, `subscriptions`, `shared`, `backoff`: its pure parts;
//! - [`command`]: cloneable self-reconnecting connections for ordinary commands (keys);
//! - [`counters`]: the metric handles the caller builds.
//!
//! Delivery is at most once per subscriber (Redis pub/sub): a message published while a
//! subscriber is reconnecting is not delivered to it. A publish this node could not confirm is
//! sent again after reconnecting, so a subscriber may rarely see it twice.

mod backoff;
pub mod command;
mod connector;
pub mod counters;
mod error;
mod link;
mod outbox;
mod push;
pub mod security;
mod sentinel_commands;
mod shared;
mod subscriptions;
mod supervisor;
pub mod target;

#[cfg(test)]
mod cluster_tests;
#[cfg(test)]
mod fixture;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use redis::ProtocolVersion;
use tokio::sync::{mpsc, watch};

use super::{Backplane, Incoming, LinkState};
use crate::config::Config;
use connector::Connector;
use outbox::Publish;
use shared::Shared;
use supervisor::Supervisor;

pub use command::{CommandConnection, command_connection};
pub use counters::BackplaneCounters;
pub use error::RedisError;
pub use security::RedisSecurity;
pub use sentinel_commands::SentinelCommands;
pub use target::RedisTarget;

/// Longest time `shutdown` waits for buffered publishes to be flushed.
pub const SHUTDOWN_FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// What the backplane needs from `[redis]`.
#[derive(Debug, Clone)]
pub struct RedisSettings {
    /// Which Redis.
    pub target: RedisTarget,
    /// Password and TLS material.
    pub security: RedisSecurity,
    /// Bytes of publishes kept while down; beyond it the oldest are dropped.
    pub outage_buffer: usize,
    /// Bound of each connection attempt and each reply.
    pub connect_timeout: Duration,
}

impl RedisSettings {
    /// The `[redis]` settings of `config` for `target` (its `redis.url`, already required by
    /// the caller).
    pub fn from_config(config: &Config, target: RedisTarget) -> Result<Self, RedisError> {
        Ok(Self {
            target,
            security: RedisSecurity::from_config(&config.redis)?,
            outage_buffer: config.redis.outage_buffer,
            connect_timeout: config.redis.connect_timeout,
        })
    }
}

/// The handle of a running Redis backplane.
pub struct RedisBackplane {
    /// State shared with the supervisor task.
    shared: Arc<Shared>,
}

impl RedisBackplane {
    /// Starts the supervisor on the current tokio runtime and returns at once; the link starts
    /// `Down` and goes `Up` once connected. Messages on subscribed channels go to `incoming`.
    pub fn start(
        settings: RedisSettings,
        incoming: mpsc::Sender<Incoming>,
        counters: BackplaneCounters,
    ) -> Result<Arc<Self>, RedisError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| RedisError::NoRuntime)?;
        let connector =
            Connector::new(&settings.target, &settings.security, ProtocolVersion::RESP3)?;
        let initial = LinkState::Down {
            since: Instant::now(),
            error: "connecting".to_owned(),
        };
        let shared = Arc::new(Shared::new(settings.outage_buffer, counters, initial));
        let supervisor = Supervisor {
            shared: shared.clone(),
            connector,
            incoming,
            connect_timeout: settings.connect_timeout,
            shown: settings.target.to_string(),
        };
        runtime.spawn(supervisor.run());
        Ok(Arc::new(Self { shared }))
    }

    /// Publishes dropped so far (outage buffer overflow, refusals, lost on close).
    pub fn dropped(&self) -> u64 {
        self.shared.dropped()
    }

    /// Bytes of publishes waiting to be sent.
    pub fn buffered_bytes(&self) -> usize {
        self.shared.outbox().bytes()
    }
}

impl Backplane for RedisBackplane {
    fn buffered_bytes(&self) -> usize {
        RedisBackplane::buffered_bytes(self)
    }

    fn publish(&self, channel: &str, payload: Bytes) {
        self.shared.enqueue(Publish {
            channel: channel.to_owned(),
            payload,
            receivers: None,
        });
    }

    fn publish_counted(&self, channel: &str, payload: Bytes) -> BoxFuture<'static, Option<usize>> {
        let (receivers, count) = tokio::sync::oneshot::channel();
        self.shared.enqueue(Publish {
            channel: channel.to_owned(),
            payload,
            receivers: Some(receivers),
        });
        Box::pin(async move { count.await.ok() })
    }

    fn subscribe(&self, channel: &str) {
        if self.shared.book().subscribe(channel) {
            self.shared.wake.notify_one();
        }
    }

    fn unsubscribe(&self, channel: &str) {
        if self.shared.book().unsubscribe(channel) {
            self.shared.wake.notify_one();
        }
    }

    fn confirmed(&self) -> BoxFuture<'static, ()> {
        let ticket = self.shared.book().requested();
        let mut confirmed = self.shared.confirmed.subscribe();
        Box::pin(async move {
            // The sender lives as long as the shared state, which this future does not
            // outlive in practice; an error would only end the wait early.
            let _ = confirmed.wait_for(|done| *done >= ticket).await;
        })
    }

    fn state(&self) -> watch::Receiver<LinkState> {
        self.shared.state.subscribe()
    }

    fn shutdown(&self) -> BoxFuture<'static, ()> {
        self.shared.closing.send_replace(true);
        self.shared.wake.notify_one();
        let mut done = self.shared.done.subscribe();
        Box::pin(async move {
            if tokio::time::timeout(SHUTDOWN_FLUSH_TIMEOUT, done.wait_for(|done| *done))
                .await
                .is_err()
            {
                tracing::warn!(
                    "redis backplane did not finish flushing within {SHUTDOWN_FLUSH_TIMEOUT:?}"
                );
            }
        })
    }
}

impl Drop for RedisBackplane {
    /// Stops the supervisor (without waiting) when the last handle goes.
    fn drop(&mut self) {
        self.shared.closing.send_replace(true);
        self.shared.wake.notify_one();
    }
}
