//! Lease assignment: two coordinators elect exactly one leader, which spreads the four
//! partitions of a feed over the live nodes (2/1/1), moves exactly one lease when a fourth
//! node joins, and moves a terminated node's leases to the others without touching the rest.

use herald_tests::feed_sandbox::Lease;
use herald_tests::{FeedSandbox, RedisServer};
use std::collections::BTreeMap;
use std::time::Duration;

const FEEDS: &str = r#"
[[feeds]]
name = "orders"
source = { kind = "redis-stream", partitions = 4 }
start_from = "beginning"
hub = "orders"
target = "orderChanged"
to = "all"
"#;
const COORDINATORS: [&str; 2] = ["c1", "c2"];

/// Leases per owner; `None` counts leases without one.
fn counts(table: &[Lease]) -> BTreeMap<Option<String>, usize> {
    let mut counts = BTreeMap::new();
    for lease in table {
        *counts.entry(lease.owner.clone()).or_default() += 1;
    }
    counts
}

/// Every one of the four leases owned by one of `live`, with these sorted per-owner counts.
fn spread_over(table: &[Lease], live: &[&str], expected: &[usize]) -> bool {
    let ids: Vec<&str> = table.iter().map(|l| l.id.as_str()).collect();
    let owned_by_live = table
        .iter()
        .all(|l| l.owner.as_deref().is_some_and(|o| live.contains(&o)));
    let mut per_owner: Vec<usize> = counts(table).into_values().collect();
    per_owner.sort_unstable();
    ids == ["orders/0", "orders/1", "orders/2", "orders/3"]
        && owned_by_live
        && per_owner == expected
}

fn owners(table: &[Lease]) -> BTreeMap<String, String> {
    table
        .iter()
        .map(|l| (l.id.clone(), l.owner.clone().expect("an owned lease")))
        .collect()
}

#[test]
fn leases_spread_over_live_nodes_and_move_minimally() {
    let redis = RedisServer::start();
    let mut sandbox = FeedSandbox::new(&redis.url(), FEEDS);
    for id in COORDINATORS {
        sandbox.start_coordinator(id);
    }
    for id in ["n1", "n2", "n3"] {
        sandbox.start_node(id);
    }

    let before = sandbox.wait_for_table(&COORDINATORS, 20, "4 leases over 3 nodes", |t| {
        spread_over(t, &["n1", "n2", "n3"], &[1, 1, 2])
    });
    assert_eq!(
        sandbox.leaders(&COORDINATORS).len(),
        1,
        "exactly one leader"
    );
    let before = owners(&before);

    sandbox.start_node("n4");
    let after = sandbox.wait_for_table(&COORDINATORS, 20, "4 leases over 4 nodes", |t| {
        spread_over(t, &["n1", "n2", "n3", "n4"], &[1, 1, 1, 1])
    });
    let after = owners(&after);
    let moved: Vec<&String> = after
        .keys()
        .filter(|id| before[*id] != after[*id])
        .collect();
    assert_eq!(
        moved.len(),
        1,
        "exactly one lease moves to the new node: before {before:?}, after {after:?}"
    );
    assert_eq!(
        after[moved[0]], "n4",
        "the moved lease goes to n4: {after:?}"
    );

    // Terminate the owner of orders/0; its lease (and only it) moves to the three others.
    let victim = after["orders/0"].clone();
    let survivors: Vec<&str> = ["n1", "n2", "n3", "n4"]
        .into_iter()
        .filter(|n| *n != victim)
        .collect();
    sandbox.node(&victim).sigterm();
    let exit = sandbox.node_mut(&victim).wait_exit(Duration::from_secs(15));
    assert!(exit.is_some(), "{victim} did not exit after SIGTERM");
    let last = sandbox.wait_for_table(&COORDINATORS, 20, "4 leases over the survivors", |t| {
        spread_over(t, &survivors, &[1, 1, 2])
    });
    let last = owners(&last);
    for (id, owner) in &after {
        if *owner != victim {
            assert_eq!(
                &last[id], owner,
                "{id} was not {victim}'s and must stay: {last:?}"
            );
        }
    }
    assert_ne!(last["orders/0"], victim);
    // The victim stopped its reader while draining, before it exited.
    let log = sandbox.node(&victim).log();
    let stopped = log
        .find("stopped reading lease")
        .expect("the victim's reader stopped");
    let exited = log
        .find("herald stopped")
        .expect("the victim exited cleanly");
    assert!(stopped < exited, "{log}");
    // Nodes heard the leader's announcements (besides re-reading the table every second).
    for node in &survivors {
        assert!(
            sandbox.node_metric(node, "herald_feed_announcements_total") > 0.0,
            "{node} received no assignment announcement"
        );
    }
    assert_eq!(
        sandbox.leaders(&COORDINATORS).len(),
        1,
        "exactly one leader"
    );
    sandbox.assert_no_panic();
}
