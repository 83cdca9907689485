//! The planner: from the lease table and the live nodes, the fewest moves that leave every
//! lease with an eligible owner and every eligible node with its fair share.
//!
//! How it works, with `L` leases, `N` eligible nodes, `base = L / N`, `extra = L % N`:
//! 1. a lease whose owner is missing, dead or draining is an *orphan* and must move;
//! 2. each eligible node gets a target of `base`, the `extra` most loaded (ties by node id)
//!    `base + 1` (see [`Share::targets`]);
//! 3. a node above its target sheds its highest lease ids down to the target;
//! 4. orphans and shed leases, by lease id, go one at a time to the least loaded node still
//!    below its target (ties by node id).
//!
//! Why it is minimal: a lease stays only with its current eligible owner, so at most
//! `sum min(load_i, target_i)` leases can stay for any valid targets. That sum is largest when
//! the ceiling slots go to nodes above `base`, which gives the number of moves
//!
//! ```text
//! orphans + sum_i max(0, load_i - base) - min(extra, #{i : load_i > base})
//! ```
//!
//! and the planner moves exactly that many. With no eligible node, only leases that name an
//! owner are released; unowned leases stay as they are.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use super::lease::{LeaseState, canonical, next_epoch};
use super::moves::Move;
use super::node::{LiveNode, eligible};
use super::share::Share;

/// The moves that balance `leases` over the eligible (live, not draining) `nodes`, sorted by
/// lease id, at most one per lease, each at the lease's epoch plus one.
///
/// Pure and deterministic: the same leases and nodes in any order give the same plan, so a
/// new leader re-planning from the same table agrees with the old one. An empty plan means
/// the table is already balanced ([`is_balanced`](super::is_balanced)).
pub fn plan(leases: &[LeaseState], nodes: &[LiveNode]) -> Vec<Move> {
    let eligible = eligible(nodes);
    let leases = canonical(leases);
    if eligible.is_empty() {
        return leases
            .iter()
            .filter_map(|lease| {
                lease.owner.as_ref().map(|from| Move::Release {
                    lease: lease.id.clone(),
                    from: from.clone(),
                    epoch: next_epoch(lease.epoch),
                })
            })
            .collect();
    }

    // What each eligible node holds now (lease ids ascending), and the orphans.
    let mut held: BTreeMap<&str, Vec<&LeaseState>> =
        eligible.iter().map(|node| (*node, Vec::new())).collect();
    let mut pool: Vec<&LeaseState> = Vec::new();
    for lease in &leases {
        match lease.owner.as_deref().and_then(|o| held.get_mut(o)) {
            Some(owned) => owned.push(lease),
            None => pool.push(lease),
        }
    }

    let share = Share::new(leases.len(), eligible.len());
    let targets = share.targets(held.iter().map(|(node, owned)| (*node, owned.len())));
    for (node, owned) in &mut held {
        let target = targets[node];
        if owned.len() > target {
            pool.extend(owned.drain(target..));
        }
    }
    pool.sort_by(|a, b| a.id.cmp(&b.id));

    let mut open: BinaryHeap<Reverse<(usize, &str)>> = held
        .iter()
        .filter(|(node, owned)| owned.len() < targets[*node])
        .map(|(node, owned)| Reverse((owned.len(), *node)))
        .collect();
    let mut moves = Vec::with_capacity(pool.len());
    for lease in pool {
        let Reverse((load, node)) = open
            .pop()
            .expect("the room below targets equals the leases to place");
        moves.push(Move::Assign {
            lease: lease.id.clone(),
            to: node.to_owned(),
            epoch: next_epoch(lease.epoch),
        });
        if load + 1 < targets[node] {
            open.push(Reverse((load + 1, node)));
        }
    }
    moves.sort_by(|a, b| a.lease().cmp(b.lease()));
    moves
}
