//! Live nodes as the balancer sees them: present in the membership, and maybe draining.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// A node the membership currently reports as alive.
///
/// Draining nodes are alive (they finish what they hold) but take no leases and lose the ones
/// they own, which is how a node is emptied before a planned shutdown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveNode {
    /// The node id leases name as their owner.
    pub id: String,
    /// Whether the node is shutting down and must hand its leases over.
    pub draining: bool,
}

impl LiveNode {
    /// A live node that takes leases.
    pub fn serving(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            draining: false,
        }
    }

    /// A live node that is being emptied.
    pub fn draining(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            draining: true,
        }
    }
}

/// The ids of nodes that may own leases: live and not draining, sorted.
///
/// A node listed more than once is eligible only if no entry says it is draining, so a stale
/// duplicate can never keep a draining node loaded.
pub(crate) fn eligible(nodes: &[LiveNode]) -> BTreeSet<&str> {
    let draining: BTreeSet<&str> = nodes
        .iter()
        .filter(|n| n.draining)
        .map(|n| n.id.as_str())
        .collect();
    nodes
        .iter()
        .map(|n| n.id.as_str())
        .filter(|id| !draining.contains(id))
        .collect()
}
