//! The fair share: how many leases each eligible node should hold, and whether a lease table
//! already matches it.

use std::collections::BTreeMap;

use super::lease::{LeaseState, canonical};
use super::node::{LiveNode, eligible};

/// The even split of `leases` leases over `nodes` eligible nodes: every node holds `base`
/// leases, and `extra` of them hold one more (`base * nodes + extra == leases`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Share {
    pub(crate) base: usize,
    pub(crate) extra: usize,
}

impl Share {
    /// The split for a non-empty set of nodes.
    pub(crate) fn new(leases: usize, nodes: usize) -> Self {
        assert!(nodes > 0, "a share needs at least one node");
        Self {
            base: leases / nodes,
            extra: leases % nodes,
        }
    }

    /// Whether a node holding `load` leases is at floor or ceiling of the share.
    pub(crate) fn fits(self, load: usize) -> bool {
        load == self.base || (self.extra > 0 && load == self.base + 1)
    }

    /// Each node's target, chosen so that the fewest leases have to move.
    ///
    /// The `extra` ceiling slots go to the most loaded nodes (ties by node id): a node above
    /// `base` keeps one more of its own leases for each slot it gets, while a slot given to a
    /// node at or below `base` saves nothing.
    pub(crate) fn targets<'a>(
        self,
        loads: impl IntoIterator<Item = (&'a str, usize)>,
    ) -> BTreeMap<&'a str, usize> {
        let mut ranked: Vec<(&str, usize)> = loads.into_iter().collect();
        ranked.sort_by(|(a, la), (b, lb)| lb.cmp(la).then_with(|| a.cmp(b)));
        ranked
            .into_iter()
            .enumerate()
            .map(|(rank, (node, _))| (node, self.base + usize::from(rank < self.extra)))
            .collect()
    }
}

/// Whether the leases are where [`plan`](super::plan) would leave them, so it would move
/// nothing.
///
/// With eligible nodes: every lease is owned by one of them and each holds floor or ceiling of
/// its share. With none: no lease names an owner (a dead or draining owner must be released).
pub fn is_balanced(leases: &[LeaseState], nodes: &[LiveNode]) -> bool {
    let eligible = eligible(nodes);
    let leases = canonical(leases);
    if eligible.is_empty() {
        return leases.iter().all(|l| l.owner.is_none());
    }
    let mut loads: BTreeMap<&str, usize> = eligible.iter().map(|n| (*n, 0)).collect();
    for lease in &leases {
        match lease.owner.as_deref().and_then(|o| loads.get_mut(o)) {
            Some(load) => *load += 1,
            None => return false,
        }
    }
    let share = Share::new(leases.len(), eligible.len());
    loads.values().all(|load| share.fits(*load))
}
