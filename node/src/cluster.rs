//! The node's link to the rest of the cluster: the backplane (publishes and subscriptions),
//! requests to other nodes with their replies, and the cluster state in Redis.
//!
//! - [`router`]: handles what arrives from other nodes;
//! - [`requests`]: commands waiting for replies;
//! - [`store`]: node registry, membership mirror and user groups in Redis;
//! - [`heartbeat`]: keeps this node's registry record alive and cleans up after dead nodes;
//! - [`connect`]: joins the cluster (Redis backplane and state) at start-up;
//! - [`forward`]: passes client requests to the node that owns their connection.
//!
//! In standalone mode the backplane is in-process and there is no store: with no other node,
//! nothing is published.

pub mod connect;
pub mod forward;
pub mod heartbeat;
pub mod requests;
pub mod router;
pub mod store;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use herald_proto::backplane::{
    BackplaneMessage, Channels, CloseConnections, Command, CommandOp, Delivery, Reply,
    ReplyOutcome, Target, UserGroupOp, UserGroupsChange, encode, encode_traced,
};
use herald_proto::ids::{ConnectionId, HubName, NodeId};
use tokio::sync::watch;

use crate::backplane::{Backplane, LinkState};
use crate::hub::registry::Scope;
use crate::session::link::Payload;
use crate::telemetry::{propagation, spans};
use requests::Requests;
use store::Store;

/// A request to another node failed.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("node {node} did not answer within {after:?}; it may be overloaded or gone, retry")]
    Timeout { node: String, after: Duration },
    #[error(
        "redis did not confirm this node's subscriptions within {after:?} (cluster.request_timeout); the backplane may be down (see /readyz), retry"
    )]
    NotSubscribed { after: Duration },
    #[error(
        "{answered} of the {receivers} nodes with connections of the user confirmed the join within {after:?} (cluster.request_timeout); retry"
    )]
    JoinUnconfirmed {
        answered: usize,
        receivers: String,
        after: Duration,
    },
    #[error("node {node} applied the join but {message}")]
    Unconfirmed { node: String, message: String },
    #[error(transparent)]
    TooManyPending(#[from] requests::TooManyPending),
    #[error("node {node} could not apply the request: {message}")]
    Failed { node: String, message: String },
}

/// The node's cluster handle. Cheap to clone.
#[derive(Clone)]
pub struct Cluster {
    inner: Arc<Inner>,
}

struct Inner {
    /// This node.
    node: NodeId,
    /// Channel names under the configured prefix.
    channels: Channels,
    /// Pub/sub between nodes.
    backplane: Arc<dyn Backplane>,
    /// Cluster state in Redis; `None` in standalone mode.
    store: Option<Store>,
    /// Per-origin sequence of published deliveries (for ordering diagnostics and dedupe).
    sequence: AtomicU64,
    /// Commands waiting for replies.
    requests: Requests,
    /// How long a command waits for its reply.
    request_timeout: Duration,
}

impl Cluster {
    /// A cluster link over `backplane`; `store` is `None` for a standalone node.
    pub fn new(
        node: NodeId,
        prefix: &str,
        backplane: Arc<dyn Backplane>,
        store: Option<Store>,
        request_timeout: Duration,
    ) -> Self {
        let inner = Inner {
            node,
            channels: Channels::new(prefix),
            backplane,
            store,
            sequence: AtomicU64::new(0),
            requests: Requests::default(),
            request_timeout,
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    /// This node's id.
    pub fn node(&self) -> &NodeId {
        &self.inner.node
    }

    /// Whether other nodes may exist (a Redis backplane).
    pub fn is_clustered(&self) -> bool {
        self.inner.store.is_some()
    }

    /// Channel names.
    pub fn channels(&self) -> &Channels {
        &self.inner.channels
    }

    /// The Redis store, in cluster mode.
    pub fn store(&self) -> Option<&Store> {
        self.inner.store.as_ref()
    }

    /// The backplane's link state.
    pub fn state(&self) -> watch::Receiver<LinkState> {
        self.inner.backplane.state()
    }

    /// Bytes of publishes waiting for the backplane.
    pub fn buffered_bytes(&self) -> usize {
        self.inner.backplane.buffered_bytes()
    }

    /// Subscribes to a channel.
    pub fn subscribe(&self, channel: &str) {
        if self.is_clustered() {
            self.inner.backplane.subscribe(channel);
        }
    }

    /// Unsubscribes from a channel.
    pub fn unsubscribe(&self, channel: &str) {
        if self.is_clustered() {
            self.inner.backplane.unsubscribe(channel);
        }
    }

    /// Waits until every subscription this node asked for so far is in effect on Redis, so a
    /// message published from now on by any node reaches this one: what an acknowledged join
    /// waits for. Bounded by `cluster.request_timeout`; at once in standalone mode.
    pub async fn confirm_subscriptions(&self) -> Result<(), ClusterError> {
        self.confirm_subscriptions_within(1.0).await
    }

    /// [`Self::confirm_subscriptions`] bounded by `share` of `cluster.request_timeout`.
    pub async fn confirm_subscriptions_within(&self, share: f64) -> Result<(), ClusterError> {
        if !self.is_clustered() {
            return Ok(());
        }
        let after = self.inner.request_timeout.mul_f64(share);
        tokio::time::timeout(after, self.inner.backplane.confirmed())
            .await
            .map_err(|_| ClusterError::NotSubscribed { after })
    }

    /// Whether `connection` belongs to this node (its id names this node).
    pub fn owns(&self, connection: &ConnectionId) -> bool {
        connection.owner().as_ref() == Some(&self.inner.node)
    }

    fn publish(&self, channel: &str, message: &BackplaneMessage) {
        self.inner
            .backplane
            .publish(channel, Bytes::from(encode(message)));
    }

    /// The target and channel that reach the recipients of `scope` on other nodes; `None`
    /// when no other node can have any (standalone, or a connection of this node).
    fn route(&self, hub: &HubName, scope: &Scope) -> Option<(Target, String)> {
        if !self.is_clustered() {
            return None;
        }
        let channels = &self.inner.channels;
        Some(match scope {
            Scope::All => (Target::All, channels.hub_all(hub.as_str())),
            Scope::User(user) => (
                Target::User(user.clone()),
                channels.user(hub.as_str(), user),
            ),
            Scope::Group(group) => (
                Target::Group(group.clone()),
                channels.group(hub.as_str(), group),
            ),
            Scope::Connection(id) => {
                let owner = id.owner().filter(|owner| owner != &self.inner.node)?;
                (
                    Target::Connection(id.to_string()),
                    channels.node(owner.as_str()),
                )
            }
        })
    }

    /// Publishes a message for the recipients of `scope` on other nodes: one publish on the
    /// scope's channel (the owner's node channel for a connection). Local recipients are
    /// served by the caller without a round trip.
    pub fn publish_delivery(
        &self,
        hub: &HubName,
        scope: &Scope,
        excluded: &[ConnectionId],
        payload: &Payload,
    ) {
        let Some((target, channel)) = self.route(hub, scope) else {
            return;
        };
        let sequence = self.inner.sequence.fetch_add(1, Ordering::Relaxed) + 1;
        let delivery = Delivery {
            origin: self.inner.node.to_string(),
            sequence,
            hub: hub.to_string(),
            target,
            excluded: excluded.iter().map(ToString::to_string).collect(),
            json: payload.json.as_bytes().to_vec(),
            msgpack: payload.msgpack.as_bytes().to_vec(),
        };
        let message = BackplaneMessage::Deliver(delivery);
        let span = spans::backplane_publish(&channel, sequence);
        let bytes = match propagation::context_of(&span) {
            Some(trace) => encode_traced(&message, &trace),
            None => encode(&message),
        };
        span.in_scope(|| self.inner.backplane.publish(&channel, Bytes::from(bytes)));
    }

    /// Asks the other nodes to close their connections of `scope`.
    pub fn publish_close(
        &self,
        hub: &HubName,
        scope: &Scope,
        excluded: &[ConnectionId],
        reason: &str,
    ) {
        let Some((target, channel)) = self.route(hub, scope) else {
            return;
        };
        let close = CloseConnections {
            origin: self.inner.node.to_string(),
            hub: hub.to_string(),
            target,
            excluded: excluded.iter().map(ToString::to_string).collect(),
            reason: reason.to_owned(),
        };
        self.publish(&channel, &BackplaneMessage::CloseConnections(close));
    }

    /// Asks the node owning `connection` to apply `op`, and waits for its answer.
    pub async fn command(
        &self,
        owner: &NodeId,
        hub: &HubName,
        connection: &ConnectionId,
        op: CommandOp,
    ) -> Result<ReplyOutcome, ClusterError> {
        let (request_id, reply) = self.inner.requests.start()?;
        let command = Command {
            origin: self.inner.node.to_string(),
            request_id,
            hub: hub.to_string(),
            connection: connection.to_string(),
            op,
        };
        self.publish(
            &self.inner.channels.node(owner.as_str()),
            &BackplaneMessage::Command(command),
        );
        let timeout = self.inner.request_timeout;
        match tokio::time::timeout(timeout, reply).await {
            Ok(Ok(outcome)) => match outcome {
                ReplyOutcome::Failed { message } => Err(ClusterError::Failed {
                    node: owner.to_string(),
                    message,
                }),
                ReplyOutcome::Unconfirmed { message } => Err(ClusterError::Unconfirmed {
                    node: owner.to_string(),
                    message,
                }),
                outcome => Ok(outcome),
            },
            _ => {
                self.inner.requests.abandon(request_id);
                Err(ClusterError::Timeout {
                    node: owner.to_string(),
                    after: timeout,
                })
            }
        }
    }

    /// Answers a command from `to`.
    pub fn reply(&self, to: &str, request_id: u64, outcome: ReplyOutcome) {
        self.publish(
            &self.inner.channels.node(to),
            &BackplaneMessage::Reply(Reply {
                request_id,
                outcome,
            }),
        );
    }

    /// Hands a reply to the request waiting for it.
    pub fn complete(&self, reply: Reply) {
        self.inner
            .requests
            .complete(reply.request_id, reply.outcome);
    }

    /// Tells the nodes with connections of `user` that the user's groups changed.
    pub fn publish_user_groups(&self, hub: &HubName, user: &str, change: UserGroupOp) {
        if !self.is_clustered() {
            return;
        }
        let message = BackplaneMessage::UserGroups(UserGroupsChange {
            origin: self.inner.node.to_string(),
            hub: hub.to_string(),
            user: user.to_owned(),
            change,
        });
        self.publish(&self.inner.channels.user(hub.as_str(), user), &message);
    }

    /// Publishes a user-group join to the nodes with connections of `user` and waits until
    /// every one that received it (this node included) applied it and confirmed the
    /// subscriptions it needs, bounded by `cluster.request_timeout`.
    pub async fn join_user_group(
        &self,
        hub: &HubName,
        user: &str,
        change: UserGroupOp,
    ) -> Result<(), ClusterError> {
        let after = self.inner.request_timeout;
        let deadline = tokio::time::Instant::now() + after;
        let (request_id, mut replies) = self.inner.requests.start_many()?;
        let message = BackplaneMessage::UserGroupsAcked {
            request_id,
            change: UserGroupsChange {
                origin: self.inner.node.to_string(),
                hub: hub.to_string(),
                user: user.to_owned(),
                change,
            },
        };
        let channel = self.inner.channels.user(hub.as_str(), user);
        let mut receivers: Option<usize> = None;
        let mut answered = 0;
        let outcome = async {
            let counted = self
                .inner
                .backplane
                .publish_counted(&channel, Bytes::from(encode(&message)));
            let Some(count) = counted.await else {
                return Err(ClusterError::Failed {
                    node: self.inner.node.to_string(),
                    message: "the backplane dropped the change (outage buffer full or closed)"
                        .to_owned(),
                });
            };
            receivers = Some(count);
            while answered < count {
                let Some(reply) = replies.recv().await else {
                    break;
                };
                answered += 1;
                match reply {
                    ReplyOutcome::Unconfirmed { message } => {
                        return Err(ClusterError::Unconfirmed {
                            node: "a node with connections of the user".to_owned(),
                            message,
                        });
                    }
                    ReplyOutcome::Failed { message } => {
                        return Err(ClusterError::Failed {
                            node: "a node with connections of the user".to_owned(),
                            message,
                        });
                    }
                    ReplyOutcome::Done { .. } | ReplyOutcome::NotFound => {}
                }
            }
            Ok(())
        };
        let result = tokio::time::timeout_at(deadline, outcome).await;
        self.inner.requests.abandon(request_id);
        result.unwrap_or_else(|_| {
            Err(ClusterError::JoinUnconfirmed {
                answered,
                receivers: receivers
                    .map_or_else(|| "(not yet counted)".to_owned(), |n| n.to_string()),
                after,
            })
        })
    }

    /// Leaves the backplane (drain).
    pub async fn shutdown(&self) {
        self.inner.backplane.shutdown().await;
    }
}
