//! [`CoordinatorStatus`]: what a coordinator last saw, for tests and the admin API.

use crate::lease_store::LeaseRecord;
use crate::membership::LiveNode;

/// A snapshot taken at the end of the coordinator's last tick.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CoordinatorStatus {
    /// Whether this coordinator led (and was not fenced) at the end of its last tick.
    pub is_leader: bool,
    /// The fencing token of that leadership; `None` when following.
    pub token: Option<u64>,
    /// The lease table as last read (after this tick's moves), sorted by id.
    pub leases: Vec<LeaseRecord>,
    /// The live nodes as last read, sorted by id.
    pub nodes: Vec<LiveNode>,
    /// What went wrong in the last tick; `None` when it went through cleanly.
    pub last_error: Option<String>,
}
