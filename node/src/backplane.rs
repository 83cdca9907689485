//! The backplane: how a node reaches clients connected to other nodes.
//!
//! A node publishes each message once on a channel named for its scope (a hub's `all`, a group,
//! a user, or the owning node for connection-targeted messages) and subscribes to the channels
//! its local connections need. Implementations:
//! - [`in_process`]: one process, no Redis (standalone mode, unit tests);
//! - [`redis`]: Redis pub/sub (standalone, Sentinel or Cluster with sharded pub/sub), supervised
//!   and resubscribed after any disconnect, publishes buffered during outages.
//!
//! The backplane moves opaque bytes; what they mean (the envelope) is in
//! `herald_proto::backplane`, and who handles them is [`crate::cluster::router`].

pub mod in_process;
pub mod redis;

use std::time::Instant;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use tokio::sync::watch;

/// Incoming messages waiting for the router before the backplane drops (and counts) them.
pub const INCOMING_QUEUE_CAPACITY: usize = 65_536;

/// A message that arrived on a subscribed channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// The channel it arrived on.
    pub channel: String,
    /// The published bytes.
    pub payload: Bytes,
}

/// Whether the backplane can currently publish and receive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    /// Connected and subscribed.
    Up,
    /// Not connected; publishes are buffered. `since` is when the outage began.
    Down {
        /// When the link went down.
        since: Instant,
        /// The last error, for readiness and logs.
        error: String,
    },
}

impl LinkState {
    /// Whether the link is up.
    pub fn is_up(&self) -> bool {
        matches!(self, Self::Up)
    }
}

/// A pub/sub backplane. Every method returns at once: the implementation owns its connections
/// and queues work for them.
pub trait Backplane: Send + Sync + 'static {
    /// Publishes `payload` on `channel`. Never waits: while the link is down the publish is
    /// buffered (bounded by bytes; beyond the bound the oldest buffered publishes are dropped
    /// and counted) and sent in order once the link is back.
    fn publish(&self, channel: &str, payload: Bytes);

    /// [`Self::publish`], and learn how many subscribers received it (Redis's answer to the
    /// publish, this node included when it is subscribed); `None` when it was dropped.
    fn publish_counted(&self, channel: &str, payload: Bytes) -> BoxFuture<'static, Option<usize>>;

    /// Subscribes to `channel` (idempotent). Messages arrive on the incoming queue the
    /// backplane was built with, and keep arriving across reconnects.
    fn subscribe(&self, channel: &str);

    /// Unsubscribes from `channel` (idempotent).
    fn unsubscribe(&self, channel: &str);

    /// Resolves once every subscription asked for before the call is in effect on the server,
    /// so a message published from then on reaches this node. It waits through an outage (the
    /// subscriptions are confirmed when the link is back): callers bound the wait.
    fn confirmed(&self) -> BoxFuture<'static, ()>;

    /// The link state, as a watch cell (readiness follows it).
    fn state(&self) -> watch::Receiver<LinkState>;

    /// Bytes of publishes waiting to be sent (the outage buffer), for the admin API.
    fn buffered_bytes(&self) -> usize;

    /// Flushes buffered publishes (within the returned future's life) and leaves: used when
    /// the node drains.
    fn shutdown(&self) -> BoxFuture<'static, ()>;
}
