//! Moves: the changes of ownership a plan asks for, and how they apply to lease records.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::lease::{LeaseId, LeaseState, next_epoch};

/// One change of ownership, carrying the epoch the lease will have afterwards.
///
/// The epoch is the fence: the writer stores the move only if the lease is still at
/// `epoch - 1`, so a plan made from stale records cannot overwrite a newer owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Move {
    /// Give the lease to node `to` (it was unowned, or its owner left, drains or has too many).
    Assign {
        /// The lease that changes hands.
        lease: LeaseId,
        /// The new owner's node id.
        to: String,
        /// The lease's new epoch: its current one plus one.
        epoch: u64,
    },
    /// Take the lease from node `from` and leave it unowned: no node may own it right now.
    Release {
        /// The lease that is given up.
        lease: LeaseId,
        /// The owner it is taken from (dead or draining).
        from: String,
        /// The lease's new epoch: its current one plus one.
        epoch: u64,
    },
}

impl Move {
    /// The lease the move is about.
    pub fn lease(&self) -> &LeaseId {
        match self {
            Move::Assign { lease, .. } | Move::Release { lease, .. } => lease,
        }
    }

    /// The epoch the lease has once the move is applied.
    pub fn epoch(&self) -> u64 {
        match self {
            Move::Assign { epoch, .. } | Move::Release { epoch, .. } => *epoch,
        }
    }

    /// The owner the lease has once the move is applied.
    pub fn new_owner(&self) -> Option<&str> {
        match self {
            Move::Assign { to, .. } => Some(to),
            Move::Release { .. } => None,
        }
    }
}

/// The lease records after `moves`, in the order of `leases`; the inputs are untouched.
///
/// Behaves like the store's compare-and-set so tests and the writer agree: a move applies
/// only if its epoch is exactly one past the lease's current epoch (a stale or repeated move
/// is skipped), and a move for an unknown lease is ignored. Moves apply in the order given.
pub fn apply(leases: &[LeaseState], moves: &[Move]) -> Vec<LeaseState> {
    let mut by_id: BTreeMap<&LeaseId, Vec<&Move>> = BTreeMap::new();
    for m in moves {
        by_id.entry(m.lease()).or_default().push(m);
    }
    leases
        .iter()
        .map(|lease| {
            let mut next = lease.clone();
            for m in by_id.get(&lease.id).into_iter().flatten() {
                if next.epoch.checked_add(1) == Some(m.epoch()) {
                    next.owner = m.new_owner().map(str::to_owned);
                    next.epoch = next_epoch(next.epoch);
                }
            }
            next
        })
        .collect()
}
