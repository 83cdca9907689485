//! Leases: the work units the balancer hands out, one per (feed, partition or feed range).
//!
//! The balancer only reads and writes these records; the store that keeps them (and fences
//! writes by epoch) lives elsewhere.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Names one lease, written `feed/partition` (for example `stocks/2`).
///
/// A plain string so the store can use it as a key unchanged. Ordering is by the string
/// (so `stocks/10` sorts before `stocks/2`): it only has to be total and stable, because the
/// balancer uses it to make every choice deterministic.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LeaseId(String);

impl LeaseId {
    /// The id of one partition (or feed range) of a feed, so callers never spell the format.
    pub fn new(feed: &str, partition: impl fmt::Display) -> Self {
        Self(format!("{feed}/{partition}"))
    }

    /// The id as stored, for keys and logs.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<String> for LeaseId {
    fn from(id: String) -> Self {
        Self(id)
    }
}

impl From<&str> for LeaseId {
    fn from(id: &str) -> Self {
        Self(id.to_owned())
    }
}

impl fmt::Display for LeaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One lease as the store holds it: who owns it and the epoch of that ownership.
///
/// The epoch goes up by one on every change of owner, so a node that still believes it owns
/// an older epoch is fenced off by the store's compare-and-set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseState {
    /// Which work unit this is.
    pub id: LeaseId,
    /// The node id that owns it, or `None` while nobody does.
    pub owner: Option<String>,
    /// The fencing token of the current ownership.
    pub epoch: u64,
}

impl LeaseState {
    /// A lease record; a shorthand for tests and for the store's decoder.
    pub fn new(id: impl Into<LeaseId>, owner: Option<&str>, epoch: u64) -> Self {
        Self {
            id: id.into(),
            owner: owner.map(str::to_owned),
            epoch,
        }
    }
}

/// The epoch a lease gets when it changes hands: exactly one past the current one.
///
/// Panics rather than wrap, since a wrapped epoch would unfence every stale owner; one epoch is
/// spent per move, so 2^64 of them is out of reach.
pub(crate) fn next_epoch(epoch: u64) -> u64 {
    epoch.checked_add(1).expect("lease epoch exhausted")
}

/// The leases sorted by id with one record per id, so plans ignore input order.
///
/// Ids should be unique; if one repeats, the record with the highest epoch (the newest write)
/// is kept, ties broken by owner so the choice is still deterministic.
pub(crate) fn canonical(leases: &[LeaseState]) -> Vec<&LeaseState> {
    let mut sorted: Vec<&LeaseState> = leases.iter().collect();
    sorted.sort_by(|a, b| {
        a.id.cmp(&b.id)
            .then_with(|| b.epoch.cmp(&a.epoch))
            .then_with(|| a.owner.cmp(&b.owner))
    });
    sorted.dedup_by(|later, first| later.id == first.id);
    sorted
}
