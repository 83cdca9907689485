//! The JSON records of the admin API (see `docs/admin-api.md`): what one node reports about
//! itself, and what the cluster view adds.

use std::collections::BTreeMap;

use herald_coordinator::leader::LeaderInfo;
use herald_coordinator::lease_store::LeaseRecord;
use herald_proto::backplane::NodeRecord;
use serde::{Deserialize, Serialize};

use crate::hub::actor::ConnectionSummary;
use crate::metrics::activity::{HistoryPoint, Rates};
use crate::metrics::feed_progress::LeaseProgress;

/// A node's readiness as operators see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeState {
    /// Takes clients and leases.
    Ready,
    /// Drains (SIGTERM or the admin API): no new clients, leases handed over.
    Draining,
    /// Not ready yet.
    Starting,
    /// The Redis backplane is down: publishes are buffered.
    BackplaneDown,
    /// Did not answer the node that gathered the view.
    Unreachable,
}

impl NodeState {
    /// The name in the JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::Draining => "draining",
            Self::Starting => "starting",
            Self::BackplaneDown => "backplane_down",
            Self::Unreachable => "unreachable",
        }
    }
}

/// A node's connections, counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionCounts {
    /// Every connection with a completed handshake.
    pub total: usize,
    /// Per hub.
    pub by_hub: BTreeMap<String, usize>,
    /// Per transport (`pending` before a long-polling client's first poll).
    pub by_transport: BTreeMap<String, usize>,
}

/// The node's link to Redis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackplaneView {
    /// `up`, `down` or `in_process` (standalone).
    pub state: String,
    /// Why it is down.
    pub error: Option<String>,
    /// Publishes waiting to be sent (the outage buffer).
    pub buffered_bytes: usize,
}

/// One node: its registry record plus what it reports about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeView {
    /// The node id.
    pub id: String,
    /// Its internal client and REST base URL.
    pub url: String,
    /// Its admin base URL.
    pub admin_url: String,
    /// The Herald version it runs.
    pub version: String,
    /// When it started (Unix ms).
    pub started_at_ms: u64,
    /// Seconds since it started.
    pub uptime_seconds: u64,
    /// Ready, draining, ... or unreachable.
    pub state: NodeState,
    /// Why it is unreachable or not ready.
    pub error: Option<String>,
    /// Its connections (`None` when unreachable).
    pub connections: Option<ConnectionCounts>,
    /// Its backplane (`None` when unreachable).
    pub backplane: Option<BackplaneView>,
    /// Message and change rates over the last minute (`None` when unreachable).
    pub rates: Option<Rates>,
    /// Rates per 10 s over the last 10 minutes, oldest first.
    #[serde(default)]
    pub history: Vec<HistoryPoint>,
    /// The leases it owns per the lease table (filled in by the cluster view).
    #[serde(default)]
    pub leases: Vec<String>,
    /// Lag and last batch of every lease it has read, by lease id.
    #[serde(default)]
    pub lease_progress: BTreeMap<String, LeaseProgress>,
    /// Changes pushed per second over the last minute, per feed.
    #[serde(default)]
    pub feed_rates: BTreeMap<String, f64>,
    /// Failed reads and handler calls per feed since it started.
    #[serde(default)]
    pub feed_errors: BTreeMap<String, u64>,
}

impl NodeView {
    /// A registered node that did not answer.
    pub fn unreachable(record: &NodeRecord, error: String, now_ms: u64) -> Self {
        Self {
            id: record.id.clone(),
            url: record.url.clone(),
            admin_url: record.admin_url.clone(),
            version: record.version.clone(),
            started_at_ms: record.started_at_ms,
            uptime_seconds: now_ms.saturating_sub(record.started_at_ms) / 1000,
            state: NodeState::Unreachable,
            error: Some(error),
            connections: None,
            backplane: None,
            rates: None,
            history: Vec::new(),
            leases: Vec::new(),
            lease_progress: BTreeMap::new(),
            feed_rates: BTreeMap::new(),
            feed_errors: BTreeMap::new(),
        }
    }
}

/// One lease with what its owner reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseView {
    /// `<feed>/<partition>`.
    pub id: String,
    /// The feed.
    pub feed: String,
    /// The partition or feed range.
    pub partition: String,
    /// The node reading it; `None` while unassigned.
    pub owner: Option<String>,
    /// Bumped by every assignment.
    pub epoch: u64,
    /// The last position checkpointed.
    pub checkpoint: Option<String>,
    /// Redis time of the last write (Unix ms).
    pub updated_at_ms: u64,
    /// Changes after the checkpoint, per the owner.
    pub lag: Option<u64>,
    /// When the owner last read a batch.
    pub last_batch_at_ms: Option<u64>,
}

impl LeaseView {
    /// A lease of the table, with the owner's progress if known.
    pub fn new(record: LeaseRecord, progress: Option<LeaseProgress>) -> Self {
        let (feed, partition) = match record.id.split_once('/') {
            Some((feed, partition)) => (feed.to_owned(), partition.to_owned()),
            None => (record.id.clone(), String::new()),
        };
        let progress = progress.unwrap_or_default();
        Self {
            id: record.id,
            feed,
            partition,
            owner: record.owner,
            epoch: record.epoch,
            checkpoint: record.checkpoint,
            updated_at_ms: record.updated_at_ms,
            lag: progress.lag,
            last_batch_at_ms: progress.last_batch_at_ms,
        }
    }
}

/// Totals of one feed over its leases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedView {
    /// The feed's name.
    pub feed: String,
    /// Its leases.
    pub leases: usize,
    /// Of which owned.
    pub owned: usize,
    /// Summed known lag.
    pub lag: u64,
    /// Changes pushed per second over the last minute, summed over nodes.
    pub changes_per_second: f64,
    /// Failed reads and handler calls, summed over the nodes' lifetimes.
    pub errors_total: u64,
}

/// `GET /api/admin/cluster`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterView {
    /// The node that gathered the view.
    pub answered_by: String,
    /// False for a standalone node.
    pub clustered: bool,
    /// When it was gathered (Unix ms).
    pub generated_at_ms: u64,
    /// The coordinator leader; `None` when nobody leads.
    pub coordinator: Option<LeaderInfo>,
    /// Every live node.
    pub nodes: Vec<NodeView>,
    /// Every lease.
    pub leases: Vec<LeaseView>,
    /// Per-feed totals.
    pub feeds: Vec<FeedView>,
    /// What `herald ctl status` reports as problems.
    pub problems: Vec<String>,
}

/// A node that could not be asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unreachable {
    /// Its id.
    pub node: String,
    /// Why.
    pub error: String,
}

/// `GET /api/admin/hubs/{hub}/groups/{group}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupView {
    /// The hub.
    pub hub: String,
    /// The group.
    pub group: String,
    /// Its member connections across the cluster.
    pub members: Vec<ConnectionSummary>,
    /// Nodes that could not be asked.
    pub unreachable: Vec<Unreachable>,
}

/// A persistent user-group membership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserGroupView {
    /// The group.
    pub group: String,
    /// When it ends (Unix ms); `None` for never.
    pub expires_at_ms: Option<u64>,
}

/// `GET /api/admin/hubs/{hub}/users/{user}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    /// The hub.
    pub hub: String,
    /// The user.
    pub user: String,
    /// The user's connections across the cluster.
    pub connections: Vec<ConnectionSummary>,
    /// The user's persistent groups.
    pub user_groups: Vec<UserGroupView>,
    /// Nodes that could not be asked.
    pub unreachable: Vec<Unreachable>,
}
