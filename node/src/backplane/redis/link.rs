//! The backplane's one push connection and the pub/sub commands it sends.
//!
//! Standalone and Sentinel use `SUBSCRIBE`/`PUBLISH` on a RESP3 multiplexed connection (pushes
//! and replies share it). Cluster uses sharded pub/sub (`SSUBSCRIBE`/`SPUBLISH`), where every
//! command must stay within one hash slot: channels are grouped by slot, each group is one
//! command (subscribe) or one pipeline (publish), so per-channel order is kept.

use std::collections::HashMap;

use futures_util::future::try_join_all;
use redis::aio::MultiplexedConnection;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::Slot;
use redis::{ErrorKind, RedisResult, ServerErrorKind};

use super::outbox::Publish;

/// Channels per SUBSCRIBE / UNSUBSCRIBE command, so resubscribing thousands of channels does
/// not build one huge command.
const CHANNELS_PER_COMMAND: usize = 512;
/// Slot groups published concurrently on a cluster connection (subscriptions go one at a
/// time, see [`Link::change`]).
const CLUSTER_CONCURRENCY: usize = 64;

/// A live push connection.
pub(super) enum Link {
    /// Standalone server or the Sentinel-resolved master.
    Single(MultiplexedConnection),
    /// A cluster connection with its own slot map.
    Cluster(ClusterConnection),
}

/// Which way a subscription change goes.
#[derive(Debug, Clone, Copy)]
enum Change {
    Subscribe,
    Unsubscribe,
}

impl Link {
    /// Subscribes to every channel of `channels`.
    pub(super) async fn subscribe(&mut self, channels: &[String]) -> RedisResult<()> {
        self.change(channels, Change::Subscribe).await
    }

    /// Unsubscribes from every channel of `channels`.
    pub(super) async fn unsubscribe(&mut self, channels: &[String]) -> RedisResult<()> {
        self.change(channels, Change::Unsubscribe).await
    }

    /// (Un)subscribes in chunks; on a cluster, sharded and grouped by slot.
    async fn change(&mut self, channels: &[String], change: Change) -> RedisResult<()> {
        match self {
            Self::Single(conn) => {
                for chunk in channels.chunks(CHANNELS_PER_COMMAND) {
                    match change {
                        Change::Subscribe => conn.subscribe(chunk).await?,
                        Change::Unsubscribe => conn.unsubscribe(chunk).await?,
                    }
                }
                Ok(())
            }
            Self::Cluster(conn) => {
                // One slot group at a time: concurrent commands that the redis crate
                // redirects while the slot map changes (a failover) each open their own
                // socket to the new master, and all but one are dropped silently, taking
                // their confirmed subscriptions with them (no push says so). In sequence,
                // the first redirect opens the connection and the others reuse it.
                for group in by_slot(channels.iter().map(String::as_str)) {
                    let group: Vec<&str> = group.iter().map(|&at| channels[at].as_str()).collect();
                    match change {
                        Change::Subscribe => conn.ssubscribe(group).await?,
                        Change::Unsubscribe => conn.sunsubscribe(group).await?,
                    }
                }
                Ok(())
            }
        }
    }

    /// Publishes `batch` in order (per channel), pipelined; then tells each publish that
    /// asked how many subscribers Redis delivered it to.
    pub(super) async fn publish(&mut self, batch: &mut [Publish]) -> RedisResult<()> {
        match self {
            Self::Single(conn) => {
                let mut pipe = redis::pipe();
                for publish in batch.iter() {
                    pipe.cmd("PUBLISH")
                        .arg(&publish.channel)
                        .arg(publish.payload.as_ref());
                }
                let counts: Vec<usize> = pipe.query_async(conn).await?;
                for (publish, count) in batch.iter_mut().zip(counts) {
                    answer(publish, count);
                }
                Ok(())
            }
            Self::Cluster(conn) => {
                let groups = by_slot(batch.iter().map(|p| p.channel.as_str()));
                for wave in groups.chunks(CLUSTER_CONCURRENCY) {
                    let counts = try_join_all(wave.iter().map(|group| {
                        let mut conn = conn.clone();
                        let mut pipe = redis::pipe();
                        for publish in group.iter().map(|&at| &batch[at]) {
                            pipe.cmd("SPUBLISH")
                                .arg(&publish.channel)
                                .arg(publish.payload.as_ref());
                        }
                        async move { pipe.query_async::<Vec<usize>>(&mut conn).await }
                    }))
                    .await?;
                    for (group, counts) in wave.iter().zip(counts) {
                        for (&at, count) in group.iter().zip(counts) {
                            answer(&mut batch[at], count);
                        }
                    }
                }
                Ok(())
            }
        }
    }
}

/// Tells a publish that asked how many subscribers received it.
fn answer(publish: &mut Publish, receivers: usize) {
    if let Some(waiter) = publish.receivers.take() {
        let _ = waiter.send(receivers);
    }
}

/// Groups the positions of `channels` by hash slot, keeping their order within each group.
fn by_slot<'a>(channels: impl Iterator<Item = &'a str>) -> Vec<Vec<usize>> {
    let mut index: HashMap<Slot, usize> = HashMap::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (at, channel) in channels.enumerate() {
        let slot = Slot::for_key(channel);
        let group = *index.entry(slot).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[group].push(at);
    }
    groups
}

/// Whether `error` means the connection (or the topology behind it) is gone, so the batch is
/// kept and the link rebuilt, rather than a refusal of this one command.
pub(super) fn is_link_failure(error: &redis::RedisError) -> bool {
    match error.kind() {
        ErrorKind::Server(kind) => matches!(
            kind,
            ServerErrorKind::ReadOnly
                | ServerErrorKind::Moved
                | ServerErrorKind::Ask
                | ServerErrorKind::TryAgain
                | ServerErrorKind::ClusterDown
                | ServerErrorKind::MasterDown
                | ServerErrorKind::BusyLoading
        ),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_keep_order_within_a_slot() {
        let channels = ["{a}1", "{b}1", "{a}2", "{b}2", "{a}3"];
        let groups = by_slot(channels.iter().copied());
        let shown: Vec<Vec<&str>> = groups
            .iter()
            .map(|g| g.iter().map(|&at| channels[at]).collect())
            .collect();
        assert_eq!(shown, [vec!["{a}1", "{a}2", "{a}3"], vec!["{b}1", "{b}2"]]);
    }

    #[test]
    fn refusals_are_not_link_failures() {
        let refused = redis::RedisError::from((ErrorKind::Server(ServerErrorKind::NoPerm), "no"));
        assert!(!is_link_failure(&refused));
        let read_only =
            redis::RedisError::from((ErrorKind::Server(ServerErrorKind::ReadOnly), "replica"));
        assert!(is_link_failure(&read_only));
        let io = redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert!(is_link_failure(&io));
    }
}
