//! Scenario tests for the balancer: each pins the exact plan for a situation the coordinator
//! meets (start-up, joins, deaths, drains, an empty cluster).

use super::*;

fn lease(id: &str, owner: Option<&str>, epoch: u64) -> LeaseState {
    LeaseState::new(id, owner, epoch)
}

fn assign(id: &str, to: &str, epoch: u64) -> Move {
    Move::Assign {
        lease: id.into(),
        to: to.to_owned(),
        epoch,
    }
}

fn release(id: &str, from: &str, epoch: u64) -> Move {
    Move::Release {
        lease: id.into(),
        from: from.to_owned(),
        epoch,
    }
}

fn serving(ids: &[&str]) -> Vec<LiveNode> {
    ids.iter().map(|id| LiveNode::serving(*id)).collect()
}

/// Four partitions of `stocks`, balanced 2/1/1 over `a`, `b`, `c` at epoch 1.
fn four_over_three() -> Vec<LeaseState> {
    vec![
        lease("stocks/0", Some("a"), 1),
        lease("stocks/1", Some("b"), 1),
        lease("stocks/2", Some("c"), 1),
        lease("stocks/3", Some("a"), 1),
    ]
}

#[test]
fn four_partitions_over_three_nodes_split_two_one_one() {
    let leases: Vec<_> = (0..4)
        .map(|p| LeaseState::new(LeaseId::new("stocks", p), None, 0))
        .collect();
    let nodes = serving(&["a", "b", "c"]);
    let moves = plan(&leases, &nodes);
    assert_eq!(
        moves,
        vec![
            assign("stocks/0", "a", 1),
            assign("stocks/1", "b", 1),
            assign("stocks/2", "c", 1),
            assign("stocks/3", "a", 1),
        ]
    );
    let after = apply(&leases, &moves);
    assert_eq!(after, four_over_three());
    assert!(is_balanced(&after, &nodes));
}

#[test]
fn a_fourth_node_joining_takes_exactly_one_lease() {
    let leases = four_over_three();
    let moves = plan(&leases, &serving(&["a", "b", "c", "d"]));
    assert_eq!(moves, vec![assign("stocks/3", "d", 2)]);
}

#[test]
fn a_node_leaving_moves_only_its_leases() {
    let leases = vec![
        lease("f/0", Some("a"), 3),
        lease("f/1", Some("a"), 3),
        lease("f/2", Some("b"), 3),
        lease("f/3", Some("b"), 3),
        lease("f/4", Some("c"), 3),
        lease("f/5", Some("c"), 7),
    ];
    let moves = plan(&leases, &serving(&["a", "b"]));
    assert_eq!(moves, vec![assign("f/4", "a", 4), assign("f/5", "b", 8)]);
}

#[test]
fn a_draining_node_loses_all_its_leases() {
    let leases = vec![
        lease("f/0", Some("a"), 1),
        lease("f/1", Some("b"), 1),
        lease("f/2", Some("c"), 1),
        lease("f/3", Some("c"), 1),
    ];
    let nodes = vec![
        LiveNode::serving("a"),
        LiveNode::serving("b"),
        LiveNode::draining("c"),
    ];
    let moves = plan(&leases, &nodes);
    assert_eq!(moves, vec![assign("f/2", "a", 2), assign("f/3", "b", 2)]);
    let after = apply(&leases, &moves);
    assert!(after.iter().all(|l| l.owner.as_deref() != Some("c")));
    assert!(is_balanced(&after, &nodes));
}

#[test]
fn with_every_node_dead_owned_leases_are_released_and_nothing_else_changes() {
    let leases = vec![
        lease("f/0", Some("x"), 4),
        lease("f/1", None, 9),
        lease("f/2", Some("y"), 0),
    ];
    let moves = plan(&leases, &[]);
    assert_eq!(moves, vec![release("f/0", "x", 5), release("f/2", "y", 1)]);
    let after = apply(&leases, &moves);
    assert_eq!(
        after,
        vec![
            lease("f/0", None, 5),
            lease("f/1", None, 9),
            lease("f/2", None, 1)
        ]
    );
    assert!(is_balanced(&after, &[]));
    assert_eq!(plan(&after, &[]), vec![]);
}

#[test]
fn with_every_live_node_draining_their_leases_are_released() {
    let leases = vec![lease("f/0", Some("a"), 2), lease("f/1", Some("b"), 2)];
    let nodes = vec![LiveNode::draining("a"), LiveNode::draining("b")];
    assert_eq!(
        plan(&leases, &nodes),
        vec![release("f/0", "a", 3), release("f/1", "b", 3)]
    );
}

#[test]
fn empty_inputs_plan_nothing() {
    assert_eq!(plan(&[], &[]), vec![]);
    assert_eq!(plan(&[], &serving(&["a", "b"])), vec![]);
    assert_eq!(plan(&[lease("f/0", None, 0)], &[]), vec![]);
    assert!(is_balanced(&[], &[]));
    assert!(is_balanced(&[], &serving(&["a"])));
}

#[test]
fn every_move_is_one_epoch_past_the_lease() {
    let leases = vec![
        lease("f/0", None, 0),
        lease("f/1", Some("dead"), 41),
        lease("f/2", Some("a"), u64::MAX - 1),
    ];
    let moves = plan(&leases, &serving(&["a", "b", "c"]));
    assert_eq!(moves, vec![assign("f/0", "b", 1), assign("f/1", "c", 42)]);
    let released = plan(&leases, &[]);
    assert_eq!(
        released,
        vec![release("f/1", "dead", 42), release("f/2", "a", u64::MAX)]
    );
}

#[test]
fn an_overloaded_node_sheds_its_highest_ids_to_the_least_loaded() {
    let leases = vec![
        lease("l/0", Some("a"), 0),
        lease("l/1", Some("a"), 0),
        lease("l/2", Some("a"), 0),
        lease("l/3", Some("a"), 0),
        lease("l/4", Some("a"), 0),
        lease("l/5", Some("c"), 0),
    ];
    let moves = plan(&leases, &serving(&["a", "b", "c"]));
    assert_eq!(
        moves,
        vec![
            assign("l/2", "b", 1),
            assign("l/3", "b", 1),
            assign("l/4", "c", 1)
        ]
    );
}

#[test]
fn the_ceiling_slot_goes_to_the_most_loaded_node() {
    // 7 leases over 3 nodes: targets 3/2/2, and `a` (4 leases) keeps the ceiling.
    let mut leases: Vec<_> = (0..4)
        .map(|i| lease(&format!("a/{i}"), Some("a"), 0))
        .collect();
    leases.extend((0..3).map(|i| lease(&format!("b/{i}"), Some("b"), 0)));
    let moves = plan(&leases, &serving(&["a", "b", "c"]));
    assert_eq!(moves, vec![assign("a/3", "c", 1), assign("b/2", "c", 1)]);
}

#[test]
fn input_order_does_not_change_the_plan() {
    let leases = vec![
        lease("f/0", Some("a"), 1),
        lease("f/1", Some("a"), 1),
        lease("f/2", Some("a"), 1),
        lease("f/3", None, 0),
        lease("f/4", Some("gone"), 2),
    ];
    let nodes = vec![
        LiveNode::serving("a"),
        LiveNode::serving("b"),
        LiveNode::draining("c"),
    ];
    let mut leases_rev = leases.clone();
    leases_rev.reverse();
    let mut nodes_rev = nodes.clone();
    nodes_rev.reverse();
    assert_eq!(plan(&leases, &nodes), plan(&leases_rev, &nodes_rev));
}

#[test]
fn a_repeated_lease_id_is_read_as_its_newest_record() {
    let leases = vec![lease("f/0", Some("a"), 1), lease("f/0", Some("gone"), 5)];
    assert_eq!(plan(&leases, &serving(&["a"])), vec![assign("f/0", "a", 6)]);
}

#[test]
fn a_node_listed_as_draining_anywhere_is_not_eligible() {
    let leases = vec![lease("f/0", Some("a"), 0)];
    let nodes = vec![
        LiveNode::serving("a"),
        LiveNode::draining("a"),
        LiveNode::serving("b"),
    ];
    assert_eq!(plan(&leases, &nodes), vec![assign("f/0", "b", 1)]);
}

#[test]
fn apply_skips_stale_and_unknown_moves_and_keeps_lease_order() {
    let leases = vec![lease("f/1", Some("a"), 3), lease("f/0", None, 0)];
    let moves = vec![
        assign("f/0", "b", 1),
        assign("f/0", "c", 1), // repeated: the lease is at epoch 1 now
        assign("f/1", "b", 3), // stale: not one past epoch 3
        assign("f/9", "b", 1), // unknown lease
    ];
    assert_eq!(
        apply(&leases, &moves),
        vec![lease("f/1", Some("a"), 3), lease("f/0", Some("b"), 1)]
    );
}

#[test]
fn is_balanced_needs_eligible_owners_within_the_share() {
    let nodes = serving(&["a", "b"]);
    assert!(is_balanced(&four_over_three()[..2], &nodes));
    assert!(!is_balanced(
        &[lease("f/0", Some("a"), 0), lease("f/1", Some("a"), 0)],
        &nodes
    ));
    assert!(!is_balanced(&[lease("f/0", None, 0)], &nodes));
    assert!(!is_balanced(&[lease("f/0", Some("c"), 0)], &nodes));
    assert!(!is_balanced(&[lease("f/0", Some("x"), 0)], &[]));
}

#[test]
fn lease_ids_spell_feed_and_partition() {
    let id = LeaseId::new("stocks", 2);
    assert_eq!(id.as_str(), "stocks/2");
    assert_eq!(id.to_string(), "stocks/2");
    assert_eq!(id, LeaseId::from("stocks/2"));
    assert_eq!(id, LeaseId::from(String::from("stocks/2")));
}
