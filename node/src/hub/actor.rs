//! The actor that owns one hub's registry, and its handle.
//!
//! Sessions register and unregister with fire-and-forget messages; REST handlers use request
//! messages that answer. Fan-out never waits on a session: a full session queue marks that
//! client as a slow consumer, which is removed and told to close.

use std::time::{Duration, Instant};

use actix::prelude::*;
use herald_proto::ids::{ConnectionId, HubName};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::oneshot;

mod inspect;

pub use inspect::{
    ConnectionSummary, ListConnections, TransportCounts, TransportKnown, UserGroups,
};

use super::presence::Presence;
use super::registry::{Entry, Registry, Scope, UnknownConnection};
use crate::cluster::{Cluster, ClusterError};
use crate::metrics::HubMetrics;
use crate::session::close_reason::CloseReason;
use crate::session::link::{CloseSession, Payload, SessionLink};
use crate::session::outbox::Outgoing;

/// Requests waiting in a hub's mailbox before senders wait (REST backpressure).
const HUB_MAILBOX_CAPACITY: usize = 4096;
/// How often expired user-group memberships are swept.
const USER_GROUP_SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// Registers a session whose handshake completed. `joined` answers once the connection is
/// reachable from every node: its user's persistent groups applied and the subscriptions it
/// needs confirmed by Redis (at once in standalone mode).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Connect {
    pub id: ConnectionId,
    pub user: Option<String>,
    pub link: SessionLink,
    pub joined: oneshot::Sender<Result<(), ClusterError>>,
}

/// Unregisters a session that ended.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Disconnect {
    pub id: ConnectionId,
}

/// Delivers one message to every recipient of `scope` except `excluded`.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct Deliver {
    pub scope: Scope,
    pub excluded: Vec<ConnectionId>,
    pub payload: Payload,
}

/// A membership change or close, answered with whether it applied.
#[derive(Message)]
#[rtype(result = "Result<bool, UnknownConnection>")]
pub enum Membership {
    AddToGroup {
        id: ConnectionId,
        group: String,
    },
    RemoveFromGroup {
        id: ConnectionId,
        group: String,
    },
    RemoveFromAllGroups {
        id: ConnectionId,
    },
    AddUserToGroup {
        user: String,
        group: String,
        ttl: Option<Duration>,
    },
    RemoveUserFromGroup {
        user: String,
        group: String,
    },
    RemoveUserFromAllGroups {
        user: String,
    },
}

/// Closes connections of `scope` (except `excluded`); answers how many.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct CloseConnections {
    pub scope: Scope,
    pub excluded: Vec<ConnectionId>,
    pub reason: CloseReason,
}

/// Existence checks for HEAD requests.
#[derive(Debug, Clone, Message)]
#[rtype(result = "bool")]
pub enum Exists {
    Connection(ConnectionId),
    User(String),
    Group(String),
    UserInGroup { user: String, group: String },
}

/// Counts for the admin API.
#[derive(Message)]
#[rtype(result = "HubStats")]
pub struct GetStats;

/// A hub's counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, MessageResponse)]
pub struct HubStats {
    pub connections: usize,
    pub users: usize,
    pub groups: usize,
}

/// The actor owning one hub's registry.
pub struct HubActor {
    /// The hub's name, for logs.
    name: HubName,
    /// Who is connected, and to which users and groups they belong.
    registry: Registry<SessionLink>,
    /// Counters for this hub.
    metrics: HubMetrics,
    /// Subscriptions and mirror that follow the local population.
    presence: Presence,
}

impl HubActor {
    /// A hub with no connections.
    pub fn new(name: HubName, metrics: HubMetrics, cluster: Cluster) -> Self {
        let presence = Presence::new(cluster, name.clone());
        Self {
            name,
            registry: Registry::new(),
            metrics,
            presence,
        }
    }

    /// Removes a connection and tells the cluster what that changed.
    fn remove(&mut self, id: &ConnectionId) -> Option<Entry<SessionLink>> {
        let entry = self.registry.remove_connection(id)?;
        self.presence
            .connection(id.as_str(), entry.user.as_deref(), false);
        for group in &entry.groups {
            if !self.registry.has_group(group) {
                self.presence.group(group, false);
            }
        }
        if let Some(user) = &entry.user
            && !self.registry.has_user(user)
        {
            self.presence.user(user, false);
        }
        if self.registry.connection_count() == 0 {
            self.presence.hub(false);
        }
        Some(entry)
    }

    /// Answers `joined` once the new connection is reachable from every node. In a cluster a
    /// user's persistent groups live in Redis (set through any node): the user's channel is
    /// confirmed first, then the groups are read and applied, then their channels confirmed.
    /// In that order, a join written to Redis after the read was announced on a channel this
    /// node already heard, so no membership falls between the two.
    fn join(
        &mut self,
        user: Option<String>,
        joined: oneshot::Sender<Result<(), ClusterError>>,
        ctx: &mut Context<Self>,
    ) {
        let cluster = self.presence.cluster().clone();
        let hub = self.name.to_string();
        let load = async move {
            let (Some(store), Some(user)) = (cluster.store().cloned(), user) else {
                return Ok(None);
            };
            cluster.confirm_subscriptions().await?;
            Ok(Some((user.clone(), store.user_groups(&hub, &user).await)))
        };
        let confirm = self.presence.cluster().clone();
        ctx.spawn(
            load.into_actor(self)
                .map(|loaded: Result<_, ClusterError>, act, _| {
                    match &loaded {
                        Ok(Some((user, Ok(groups)))) => act.groups_changed(|r| {
                            for (group, expires_at_ms) in groups {
                                if let Some(ttl) = crate::cluster::router::remaining(*expires_at_ms) {
                                    r.add_user_to_group(user, group, ttl.map(|t| Instant::now() + t));
                                }
                            }
                        }),
                        Ok(Some((_, Err(error)))) => tracing::warn!(hub = %act.name, %error, "could not load the user's groups from redis"),
                        Ok(None) | Err(_) => {}
                    }
                    loaded.map(|_| ())
                })
                .then(move |loaded, _, _| {
                    fut::wrap_future(async move {
                        let result = match loaded {
                            Ok(()) => confirm.confirm_subscriptions().await,
                            Err(error) => Err(error),
                        };
                        // The session may have ended meanwhile; nobody waits then.
                        let _ = joined.send(result);
                    })
                }),
        );
    }

    /// Runs a change that may create or remove several groups, and reports the differences.
    fn groups_changed<T>(&mut self, change: impl FnOnce(&mut Registry<SessionLink>) -> T) -> T {
        let before = self.registry.group_names();
        let result = change(&mut self.registry);
        let after = self.registry.group_names();
        for group in after.difference(&before) {
            self.presence.group(group, true);
        }
        for group in before.difference(&after) {
            self.presence.group(group, false);
        }
        result
    }

    fn close_slow(&mut self, slow: Vec<ConnectionId>) {
        for id in slow {
            if let Some(entry) = self.remove(&id) {
                tracing::warn!(hub = %self.name, connection = %id, "closing a slow consumer: its outbound queue is full");
                entry.sink.control.do_send(CloseSession {
                    reason: CloseReason::SlowConsumer,
                });
            }
        }
    }
}

impl Actor for HubActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(HUB_MAILBOX_CAPACITY);
        ctx.run_interval(USER_GROUP_SWEEP_INTERVAL, |act, _| {
            let expired = act.groups_changed(|r| r.expire_user_groups(Instant::now()));
            if expired > 0 {
                tracing::debug!(hub = %act.name, expired, "user-group memberships expired");
            }
        });
        tracing::debug!(hub = %self.name, "hub started");
    }
}

impl Handler<Connect> for HubActor {
    type Result = ();
    fn handle(&mut self, msg: Connect, ctx: &mut Self::Context) {
        let first = self.registry.connection_count() == 0;
        let new_user = msg
            .user
            .as_ref()
            .is_some_and(|u| !self.registry.has_user(u));
        let user = msg.user.clone();
        let joined = self.groups_changed(|r| {
            r.add_connection(msg.id.clone(), msg.user, msg.link, Instant::now())
        });
        if first {
            self.presence.hub(true);
        }
        self.presence
            .connection(msg.id.as_str(), user.as_deref(), true);
        if let Some(user) = &user
            && new_user
        {
            self.presence.user(user, true);
        }
        if !joined.is_empty() {
            tracing::debug!(hub = %self.name, connection = %msg.id, ?joined, "joined the user's groups");
        }
        self.join(user, msg.joined, ctx);
    }
}

impl Handler<Disconnect> for HubActor {
    type Result = ();
    fn handle(&mut self, msg: Disconnect, _: &mut Self::Context) {
        self.remove(&msg.id);
    }
}

impl Handler<Deliver> for HubActor {
    type Result = usize;
    fn handle(&mut self, msg: Deliver, _: &mut Self::Context) -> usize {
        let mut delivered = 0usize;
        let mut slow = Vec::new();
        let mut gone = Vec::new();
        self.registry
            .for_each_recipient(&msg.scope, &msg.excluded, |id, entry| {
                let frame = msg.payload.frame(entry.sink.protocol).clone();
                match entry.sink.frames.try_send(Outgoing {
                    frame,
                    trackable: true,
                }) {
                    Ok(()) => delivered += 1,
                    Err(TrySendError::Full(_)) => slow.push(id.clone()),
                    Err(TrySendError::Closed(_)) => gone.push(id.clone()),
                }
            });
        self.metrics.delivered(delivered as u64);
        if !slow.is_empty() {
            self.metrics.slow_consumers(slow.len() as u64);
            self.close_slow(slow);
        }
        for id in gone {
            self.remove(&id);
        }
        delivered
    }
}

impl Handler<Membership> for HubActor {
    type Result = Result<bool, UnknownConnection>;
    fn handle(&mut self, msg: Membership, _: &mut Self::Context) -> Self::Result {
        self.groups_changed(|r| match msg {
            Membership::AddToGroup { id, group } => r.add_to_group(&id, &group),
            Membership::RemoveFromGroup { id, group } => r.remove_from_group(&id, &group),
            Membership::RemoveFromAllGroups { id } => r.remove_from_all_groups(&id).map(|n| n > 0),
            Membership::AddUserToGroup { user, group, ttl } => {
                r.add_user_to_group(&user, &group, ttl.map(|t| Instant::now() + t));
                Ok(true)
            }
            Membership::RemoveUserFromGroup { user, group } => {
                Ok(r.remove_user_from_group(&user, &group))
            }
            Membership::RemoveUserFromAllGroups { user } => {
                r.remove_user_from_all_groups(&user);
                Ok(true)
            }
        })
    }
}

impl Handler<CloseConnections> for HubActor {
    type Result = usize;
    fn handle(&mut self, msg: CloseConnections, _: &mut Self::Context) -> usize {
        let ids = self.registry.recipients(&msg.scope, &msg.excluded);
        for id in &ids {
            if let Some(entry) = self.remove(id) {
                entry.sink.control.do_send(CloseSession {
                    reason: msg.reason.clone(),
                });
            }
        }
        ids.len()
    }
}

impl Handler<Exists> for HubActor {
    type Result = bool;
    fn handle(&mut self, msg: Exists, _: &mut Self::Context) -> bool {
        match msg {
            Exists::Connection(id) => self.registry.has_connection(&id),
            Exists::User(user) => self.registry.has_user(&user),
            Exists::Group(group) => self.registry.has_group(&group),
            Exists::UserInGroup { user, group } => {
                self.registry.user_in_group(&user, &group, Instant::now())
            }
        }
    }
}

impl Handler<GetStats> for HubActor {
    type Result = HubStats;
    fn handle(&mut self, _: GetStats, _: &mut Self::Context) -> HubStats {
        HubStats {
            connections: self.registry.connection_count(),
            users: self.registry.user_count(),
            groups: self.registry.group_count(),
        }
    }
}

/// The hub actor went away (only during shutdown).
#[derive(Debug, Clone, thiserror::Error)]
#[error("hub {0} is not running (the node is shutting down)")]
pub struct HubStopped(pub HubName);

/// The API of one hub. Cheap to clone.
#[derive(Clone)]
pub struct HubHandle {
    name: HubName,
    addr: Addr<HubActor>,
}

impl HubHandle {
    /// Starts a hub actor on `arbiter`.
    pub fn start(
        name: HubName,
        metrics: HubMetrics,
        cluster: Cluster,
        arbiter: &ArbiterHandle,
    ) -> Self {
        let actor_name = name.clone();
        let addr = HubActor::start_in_arbiter(arbiter, move |_| {
            HubActor::new(actor_name, metrics, cluster)
        });
        Self { name, addr }
    }

    /// The hub's name.
    pub fn name(&self) -> &HubName {
        &self.name
    }

    /// Registers a session. Sent at once, ignoring the mailbox bound (it must not be lost, and
    /// must stay ahead of the session's `Disconnect`; at most one per connection is in flight);
    /// the answer comes on the returned receiver, once the connection is reachable from every
    /// node (a dropped sender means the hub stopped).
    pub fn connect(
        &self,
        id: ConnectionId,
        user: Option<String>,
        link: SessionLink,
    ) -> oneshot::Receiver<Result<(), ClusterError>> {
        let (joined, answer) = oneshot::channel();
        self.addr.do_send(Connect {
            id,
            user,
            link,
            joined,
        });
        answer
    }

    /// Unregisters a session.
    pub fn disconnect(&self, id: ConnectionId) {
        self.addr.do_send(Disconnect { id });
    }

    /// Sends a message; answers how many local connections it was queued for.
    pub async fn deliver(
        &self,
        scope: Scope,
        excluded: Vec<ConnectionId>,
        payload: Payload,
    ) -> Result<usize, HubStopped> {
        self.addr
            .send(Deliver {
                scope,
                excluded,
                payload,
            })
            .await
            .map_err(|_| self.stopped())
    }

    /// Applies a membership change.
    pub async fn membership(
        &self,
        change: Membership,
    ) -> Result<Result<bool, UnknownConnection>, HubStopped> {
        self.addr.send(change).await.map_err(|_| self.stopped())
    }

    /// Closes connections.
    pub async fn close(
        &self,
        scope: Scope,
        excluded: Vec<ConnectionId>,
        reason: CloseReason,
    ) -> Result<usize, HubStopped> {
        self.addr
            .send(CloseConnections {
                scope,
                excluded,
                reason,
            })
            .await
            .map_err(|_| self.stopped())
    }

    /// Answers an existence check.
    pub async fn exists(&self, query: Exists) -> Result<bool, HubStopped> {
        self.addr.send(query).await.map_err(|_| self.stopped())
    }

    /// Its connections, filtered and paged, for the admin API.
    pub async fn list(&self, query: ListConnections) -> Result<Vec<ConnectionSummary>, HubStopped> {
        self.addr.send(query).await.map_err(|_| self.stopped())
    }

    /// The persistent groups of `user` (Unix ms ends), for the admin API.
    pub async fn user_groups(
        &self,
        user: String,
    ) -> Result<Vec<(String, Option<u64>)>, HubStopped> {
        self.addr
            .send(UserGroups { user })
            .await
            .map_err(|_| self.stopped())
    }

    /// Its connections per transport, for the admin API.
    pub async fn transport_counts(
        &self,
    ) -> Result<std::collections::BTreeMap<&'static str, usize>, HubStopped> {
        self.addr
            .send(TransportCounts)
            .await
            .map_err(|_| self.stopped())
    }

    /// Records the transport of a session registered before its first poll.
    pub fn transport_known(
        &self,
        id: ConnectionId,
        transport: herald_proto::negotiate::TransportType,
    ) {
        self.addr.do_send(TransportKnown { id, transport });
    }

    /// The hub's counts.
    pub async fn stats(&self) -> Result<HubStats, HubStopped> {
        self.addr.send(GetStats).await.map_err(|_| self.stopped())
    }

    fn stopped(&self) -> HubStopped {
        HubStopped(self.name.clone())
    }
}
