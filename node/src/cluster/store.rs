//! Cluster state kept in Redis: the node registry (heartbeat records with a TTL), a mirror of
//! each node's connections, users and groups (for existence checks from any node and for
//! inspection), and persistent user-group memberships.
//!
//! Mirror keys are per node, so a node's entries die with it: nodes that find a registered
//! node without a live record delete its keys. Mirror updates go through one queue and are
//! applied in order.

use std::time::Duration;

use herald_proto::backplane::{Keys, NodeRecord};
use herald_proto::ids::NodeId;
use redis::AsyncCommands;
use tokio::sync::mpsc;

use crate::backplane::redis::CommandConnection;

/// Mirror updates waiting to be written; beyond it updates are dropped (and logged): the mirror
/// is for inspection and existence checks, never for delivery.
pub const MIRROR_QUEUE_CAPACITY: usize = 65_536;

/// A change to this node's mirror: presence of connections, users and groups on this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MirrorOp {
    /// A connection registered with a hub.
    Connected {
        hub: String,
        connection: String,
        user: Option<String>,
    },
    /// A connection left a hub.
    Disconnected { hub: String, connection: String },
    /// The first local connection of a user arrived.
    UserPresent { hub: String, user: String },
    /// The last local connection of a user left.
    UserGone { hub: String, user: String },
    /// A group got its first local member.
    GroupPresent { hub: String, group: String },
    /// A group lost its last local member.
    GroupGone { hub: String, group: String },
}

/// A Redis command failed.
#[derive(Debug, thiserror::Error)]
#[error("redis: {0}; check redis.url and that Redis is reachable")]
pub struct StoreError(#[from] redis::RedisError);

/// The node's view of cluster state in Redis. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    conn: CommandConnection,
    keys: Keys,
    node: NodeId,
    prefix: String,
    mirror: mpsc::Sender<MirrorOp>,
}

impl Store {
    /// A store over `conn`; starts the mirror writer on the current runtime.
    pub fn new(conn: CommandConnection, prefix: &str, node: NodeId) -> Self {
        let (mirror, queue) = mpsc::channel(MIRROR_QUEUE_CAPACITY);
        let store = Self {
            conn,
            keys: Keys::new(prefix),
            node,
            prefix: prefix.to_owned(),
            mirror,
        };
        tokio::spawn(store.clone().write_mirror(queue));
        store
    }

    /// The Redis connection, for readers of other cluster state (leases, the leader).
    pub fn connection(&self) -> CommandConnection {
        self.conn.clone()
    }

    fn node_hubs(&self, node: &str) -> String {
        format!("{}:n:{node}:hubs", self.prefix)
    }

    /// Queues a mirror update (never waits).
    pub fn mirror(&self, op: MirrorOp) {
        if self.mirror.try_send(op).is_err() {
            tracing::warn!(
                "cluster mirror queue full: an update was dropped (existence checks may be stale)"
            );
        }
    }

    async fn write_mirror(self, mut queue: mpsc::Receiver<MirrorOp>) {
        // One warning per outage, not one per update.
        let mut failing = false;
        while let Some(op) = queue.recv().await {
            match self.apply(&op).await {
                Ok(()) if failing => {
                    tracing::info!("cluster mirror updates resumed");
                    failing = false;
                }
                Ok(()) => {}
                Err(error) => {
                    if !failing {
                        tracing::warn!(%error, ?op, "could not update the cluster mirror in redis; existence checks may be stale until it is back");
                    }
                    failing = true;
                }
            }
        }
    }

    async fn apply(&self, op: &MirrorOp) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let node = self.node.as_str();
        match op {
            MirrorOp::Connected {
                hub,
                connection,
                user,
            } => {
                let _: () = conn.sadd(self.node_hubs(node), hub).await?;
                let user = user.clone().unwrap_or_default();
                let _: () = conn
                    .hset(self.keys.node_hub_connections(node, hub), connection, user)
                    .await?;
            }
            MirrorOp::Disconnected { hub, connection } => {
                let _: () = conn
                    .hdel(self.keys.node_hub_connections(node, hub), connection)
                    .await?;
            }
            MirrorOp::UserPresent { hub, user } => {
                let _: () = conn
                    .hset(self.keys.node_hub_users(node, hub), user, 1)
                    .await?;
            }
            MirrorOp::UserGone { hub, user } => {
                let _: () = conn.hdel(self.keys.node_hub_users(node, hub), user).await?;
            }
            MirrorOp::GroupPresent { hub, group } => {
                let _: () = conn
                    .hset(self.keys.node_hub_groups(node, hub), group, 1)
                    .await?;
            }
            MirrorOp::GroupGone { hub, group } => {
                let _: () = conn
                    .hdel(self.keys.node_hub_groups(node, hub), group)
                    .await?;
            }
        }
        Ok(())
    }

    /// Writes this node's registry record, valid for `ttl`.
    pub async fn heartbeat(&self, record: &NodeRecord, ttl: Duration) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        let _: () = redis::cmd("SET")
            .arg(self.keys.node(&record.id))
            .arg(record.to_json())
            .arg("PX")
            .arg(ttl_ms)
            .query_async(&mut conn)
            .await?;
        let _: () = conn.sadd(self.keys.nodes(), &record.id).await?;
        Ok(())
    }

    /// The registry record of `node`, if it is alive.
    pub async fn node(&self, node: &str) -> Result<Option<NodeRecord>, StoreError> {
        let mut conn = self.conn.clone();
        let json: Option<String> = conn.get(self.keys.node(node)).await?;
        Ok(json.and_then(|j| NodeRecord::from_json(&j).ok()))
    }

    /// Every live node, and the ids of registered nodes whose record expired.
    pub async fn nodes(&self) -> Result<(Vec<NodeRecord>, Vec<String>), StoreError> {
        let mut conn = self.conn.clone();
        let ids: Vec<String> = conn.smembers(self.keys.nodes()).await?;
        let mut live = Vec::new();
        let mut dead = Vec::new();
        for id in ids {
            match self.node(&id).await? {
                Some(record) => live.push(record),
                None => dead.push(id),
            }
        }
        live.sort_by(|a, b| a.id.cmp(&b.id));
        Ok((live, dead))
    }

    /// Removes the registry record and mirror of `node` (this node when leaving, or a dead one).
    pub async fn forget_node(&self, node: &str) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let hubs: Vec<String> = conn.smembers(self.node_hubs(node)).await?;
        for hub in &hubs {
            for key in [
                self.keys.node_hub_connections(node, hub),
                self.keys.node_hub_users(node, hub),
                self.keys.node_hub_groups(node, hub),
            ] {
                let _: () = conn.del(key).await?;
            }
        }
        let _: () = conn.del(self.node_hubs(node)).await?;
        let _: () = conn.del(self.keys.node(node)).await?;
        let _: () = conn.srem(self.keys.nodes(), node).await?;
        Ok(())
    }

    /// Whether `connection` is connected to `hub` on `owner` (per the mirror).
    pub async fn connection_exists(
        &self,
        owner: &str,
        hub: &str,
        connection: &str,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn.clone();
        Ok(conn
            .hexists(self.keys.node_hub_connections(owner, hub), connection)
            .await?)
    }

    /// Whether `user` has a connection to `hub` on any of `nodes`.
    pub async fn user_exists(
        &self,
        nodes: &[NodeRecord],
        hub: &str,
        user: &str,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn.clone();
        for node in nodes {
            if conn
                .hexists(self.keys.node_hub_users(&node.id, hub), user)
                .await?
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Whether `group` has a member connection to `hub` on any of `nodes`.
    pub async fn group_exists(
        &self,
        nodes: &[NodeRecord],
        hub: &str,
        group: &str,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn.clone();
        for node in nodes {
            if conn
                .hexists(self.keys.node_hub_groups(&node.id, hub), group)
                .await?
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The persistent groups of `user` with their expiry (unix ms; `None` for no expiry).
    pub async fn user_groups(
        &self,
        hub: &str,
        user: &str,
    ) -> Result<Vec<(String, Option<u64>)>, StoreError> {
        let mut conn = self.conn.clone();
        let entries: Vec<(String, u64)> = conn.hgetall(self.keys.user_groups(hub, user)).await?;
        Ok(entries
            .into_iter()
            .map(|(g, at)| (g, (at != 0).then_some(at)))
            .collect())
    }

    /// Stores a persistent user-group membership.
    pub async fn add_user_group(
        &self,
        hub: &str,
        user: &str,
        group: &str,
        expires_at_ms: Option<u64>,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let _: () = conn
            .hset(
                self.keys.user_groups(hub, user),
                group,
                expires_at_ms.unwrap_or(0),
            )
            .await?;
        Ok(())
    }

    /// Removes a persistent user-group membership; whether there was one.
    pub async fn remove_user_group(
        &self,
        hub: &str,
        user: &str,
        group: &str,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn.clone();
        let removed: i64 = conn.hdel(self.keys.user_groups(hub, user), group).await?;
        Ok(removed > 0)
    }

    /// Removes every persistent group of `user`.
    pub async fn remove_user_all_groups(&self, hub: &str, user: &str) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let _: () = conn.del(self.keys.user_groups(hub, user)).await?;
        Ok(())
    }
}
