//! [`CoordinatorSettings`]: what one coordinator needs to know to run.

use std::time::Duration;

/// How often a coordinator ticks when the caller does not say.
pub const DEFAULT_TICK: Duration = Duration::from_secs(1);
/// How long a leadership outlives its last tick when the caller does not say.
pub const DEFAULT_LEADER_TTL: Duration = Duration::from_secs(5);

/// The configuration of one coordinator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoordinatorSettings {
    /// The cluster's key prefix, the same one nodes register under.
    pub prefix: String,
    /// This coordinator's id in the leader election; unique per process.
    pub candidate_id: String,
    /// The leases the feeds need (`feed/partition`, e.g. `stocks/0`..`stocks/3`); the leader
    /// creates the missing ones when it takes over.
    pub lease_ids: Vec<String>,
    /// Time between the end of one tick and the start of the next; keep it well below
    /// `leader_ttl` (a third, say) so a healthy leader never lapses.
    pub tick: Duration,
    /// How long leadership survives without a tick: a crashed leader is replaced after this.
    pub leader_ttl: Duration,
    /// Publish assignment summaries with `SPUBLISH` (sharded pub/sub, what nodes subscribe
    /// with on a Redis Cluster) instead of `PUBLISH`.
    pub sharded_pubsub: bool,
}

impl CoordinatorSettings {
    /// Settings with the default tick (1 s) and leader TTL (5 s).
    pub fn new(
        prefix: impl Into<String>,
        candidate_id: impl Into<String>,
        lease_ids: Vec<String>,
    ) -> Self {
        Self {
            prefix: prefix.into(),
            candidate_id: candidate_id.into(),
            lease_ids,
            tick: DEFAULT_TICK,
            leader_ttl: DEFAULT_LEADER_TTL,
            sharded_pubsub: false,
        }
    }
}
