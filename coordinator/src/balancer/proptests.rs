//! Property tests for the balancer over arbitrary lease tables (0..64 leases, owners missing,
//! live, draining or dead) and live sets (0..10 nodes, some draining), each also given in a
//! shuffled order.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::*;

const FEEDS: [&str; 3] = ["orders", "stocks", "users"];

/// Owners are drawn from `n0..n11`, live nodes from `n0..n9`: some owners are always dead.
fn node_name(i: usize) -> String {
    format!("n{i}")
}

type Scenario = (Vec<LeaseState>, Vec<LiveNode>);

/// A scenario, and the same scenario with both lists shuffled.
fn scenarios() -> impl Strategy<Value = (Scenario, Scenario)> {
    let leases = prop::collection::btree_map(
        0u32..256,
        (prop::option::of(0usize..12), 0u64..1_000_000),
        0..64,
    )
    .prop_map(|table| {
        table
            .into_iter()
            .map(|(k, (owner, epoch))| LeaseState {
                id: LeaseId::new(FEEDS[k as usize % FEEDS.len()], k),
                owner: owner.map(node_name),
                epoch,
            })
            .collect::<Vec<_>>()
    });
    let nodes = prop::collection::btree_map(0usize..10, prop::bool::weighted(0.25), 0..10)
        .prop_map(|live| {
            live.into_iter()
                .map(|(i, draining)| LiveNode {
                    id: node_name(i),
                    draining,
                })
                .collect::<Vec<_>>()
        });
    (leases, nodes).prop_flat_map(|(leases, nodes)| {
        let shuffled = (
            Just(leases.clone()).prop_shuffle(),
            Just(nodes.clone()).prop_shuffle(),
        );
        (Just((leases, nodes)), shuffled)
    })
}

fn eligible_ids(nodes: &[LiveNode]) -> BTreeSet<String> {
    nodes
        .iter()
        .filter(|n| !n.draining)
        .map(|n| n.id.clone())
        .collect()
}

/// Leases held by each eligible node (zero included).
fn loads(leases: &[LeaseState], eligible: &BTreeSet<String>) -> BTreeMap<String, usize> {
    let mut loads: BTreeMap<String, usize> = eligible.iter().map(|n| (n.clone(), 0)).collect();
    for owner in leases.iter().filter_map(|l| l.owner.as_ref()) {
        if let Some(load) = loads.get_mut(owner) {
            *load += 1;
        }
    }
    loads
}

/// The fewest moves any balanced outcome needs, derived independently of the planner.
///
/// With `base = L / N` and `extra = L % N`, a balanced outcome gives `extra` nodes `base + 1`
/// leases and the rest `base`. Only a lease already on an eligible node can stay, and at most
/// its node's target of them do, so the most that stay is `sum min(load, target)`: every node
/// keeps up to `base`, and each ceiling slot lets one node above `base` keep one more. Hence
/// `minimal = orphans + sum max(0, load - base) - min(extra, #{load > base})`.
fn minimal_moves(leases: &[LeaseState], nodes: &[LiveNode]) -> usize {
    let eligible = eligible_ids(nodes);
    if eligible.is_empty() {
        return leases.iter().filter(|l| l.owner.is_some()).count();
    }
    let loads = loads(leases, &eligible);
    let orphans = leases.len() - loads.values().sum::<usize>();
    let base = leases.len() / eligible.len();
    let extra = leases.len() % eligible.len();
    let above: usize = loads.values().map(|l| l.saturating_sub(base)).sum();
    let over_base = loads.values().filter(|l| **l > base).count();
    orphans + above - extra.min(over_base)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn applying_the_plan_balances_and_is_stable(((leases, nodes), _) in scenarios()) {
        let after = apply(&leases, &plan(&leases, &nodes));
        let eligible = eligible_ids(&nodes);
        if eligible.is_empty() {
            prop_assert!(after.iter().all(|l| l.owner.is_none()));
        } else {
            prop_assert!(after.iter().all(|l| l.owner.as_ref().is_some_and(|o| eligible.contains(o))));
            let floor = leases.len() / eligible.len();
            let ceil = leases.len().div_ceil(eligible.len());
            for (node, load) in loads(&after, &eligible) {
                prop_assert!(floor <= load && load <= ceil, "{node} holds {load}, share {floor}..={ceil}");
            }
        }
        prop_assert!(is_balanced(&after, &nodes));
        prop_assert_eq!(plan(&after, &nodes), vec![]);
    }

    #[test]
    fn each_lease_moves_at_most_once_and_moved_leases_gain_one_epoch(((leases, nodes), _) in scenarios()) {
        let moves = plan(&leases, &nodes);
        let ids: Vec<&LeaseId> = moves.iter().map(Move::lease).collect();
        let unique: BTreeSet<&LeaseId> = ids.iter().copied().collect();
        prop_assert_eq!(unique.len(), ids.len());
        prop_assert!(ids.is_sorted());
        let by_id: BTreeMap<&LeaseId, &Move> = moves.iter().map(|m| (m.lease(), m)).collect();
        let after = apply(&leases, &moves);
        prop_assert_eq!(after.len(), leases.len());
        for (before, after) in leases.iter().zip(&after) {
            prop_assert_eq!(&before.id, &after.id);
            match by_id.get(&before.id) {
                Some(m) => {
                    prop_assert_eq!(m.epoch(), before.epoch + 1);
                    prop_assert_eq!(after.epoch, before.epoch + 1);
                    prop_assert_eq!(after.owner.as_deref(), m.new_owner());
                    prop_assert_ne!(&after.owner, &before.owner);
                    if let Move::Release { from, .. } = m {
                        prop_assert_eq!(Some(from), before.owner.as_ref());
                    }
                }
                None => prop_assert_eq!(before, after),
            }
        }
        prop_assert!(moves.iter().all(|m| by_id.contains_key(m.lease())));
    }

    #[test]
    fn the_plan_moves_the_fewest_leases(((leases, nodes), _) in scenarios()) {
        let moves = plan(&leases, &nodes);
        prop_assert_eq!(moves.len(), minimal_moves(&leases, &nodes));
        // A lease leaves an eligible owner only if that owner is above the floor, and no node
        // both gives and takes leases.
        let eligible = eligible_ids(&nodes);
        let before = loads(&leases, &eligible);
        let floor = leases.len().checked_div(eligible.len()).unwrap_or(0);
        let owners: BTreeMap<&LeaseId, &Option<String>> = leases.iter().map(|l| (&l.id, &l.owner)).collect();
        let givers: BTreeSet<&String> = moves
            .iter()
            .filter_map(|m| owners[m.lease()].as_ref())
            .filter(|o| eligible.contains(*o))
            .collect();
        for giver in &givers {
            prop_assert!(before[*giver] > floor);
        }
        for m in &moves {
            if let Some(to) = m.new_owner() {
                prop_assert!(!givers.contains(&to.to_owned()));
            }
        }
    }

    #[test]
    fn the_plan_ignores_input_order(((leases, nodes), (leases2, nodes2)) in scenarios()) {
        prop_assert_eq!(plan(&leases, &nodes), plan(&leases2, &nodes2));
        prop_assert_eq!(is_balanced(&leases, &nodes), is_balanced(&leases2, &nodes2));
    }

    #[test]
    fn balanced_means_nothing_to_plan(((leases, nodes), _) in scenarios()) {
        prop_assert_eq!(is_balanced(&leases, &nodes), plan(&leases, &nodes).is_empty());
    }
}
