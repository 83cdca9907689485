//! The coordinator against a real `redis-server`: fake nodes register like real ones, and
//! the tests poll `status()` and the lease table with deadlines.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use herald_proto::backplane::NodeRecord;
use redis::aio::ConnectionManager;

use super::{Coordinator, CoordinatorHandle, CoordinatorSettings, CoordinatorStatus};
use crate::lease_store::test_redis::RedisServer;
use crate::lease_store::{LeaseRecord, LeaseStore};

mod failover;

const PREFIX: &str = "herald";
const TICK: Duration = Duration::from_millis(50);
const TTL: Duration = Duration::from_millis(500);
/// Upper bound of every wait in these tests.
const DEADLINE: Duration = Duration::from_secs(10);
/// Time between two looks while waiting.
const POLL: Duration = Duration::from_millis(20);

fn settings(candidate: &str) -> CoordinatorSettings {
    let leases = (0..4).map(|p| format!("stocks/{p}")).collect();
    CoordinatorSettings {
        tick: TICK,
        leader_ttl: TTL,
        ..CoordinatorSettings::new(PREFIX, candidate, leases)
    }
}

async fn spawn(server: &RedisServer, candidate: &str) -> CoordinatorHandle {
    Coordinator::spawn(server.connect().await, settings(candidate)).expect("valid settings")
}

/// Registers node `id` the way nodes do: its record with a TTL, and its id in the set.
async fn register(conn: &mut ConnectionManager, id: &str, draining: bool) {
    let mut json = NodeRecord {
        id: id.to_owned(),
        url: format!("http://{id}:8080"),
        admin_url: format!("http://{id}:9090"),
        started_at_ms: 1,
        version: "0.1.0".to_owned(),
        draining: false,
    }
    .to_json();
    if draining {
        json = json.replacen('{', r#"{"draining":true,"#, 1);
    }
    let _: () = redis::pipe()
        .cmd("SET")
        .arg(format!("{PREFIX}:node:{id}"))
        .arg(json)
        .arg("PX")
        .arg(60_000)
        .ignore()
        .cmd("SADD")
        .arg(format!("{PREFIX}:nodes"))
        .arg(id)
        .ignore()
        .query_async(conn)
        .await
        .expect("register node");
}

/// What a node's death looks like: its record is gone (expired), its set entry stays.
async fn kill_node(conn: &mut ConnectionManager, id: &str) {
    let _: () = redis::cmd("DEL")
        .arg(format!("{PREFIX}:node:{id}"))
        .query_async(conn)
        .await
        .expect("delete node record");
}

/// Leases per owner; unowned leases count under `""`.
fn load(leases: &[LeaseRecord]) -> BTreeMap<String, usize> {
    let mut load = BTreeMap::new();
    for lease in leases {
        *load
            .entry(lease.owner.clone().unwrap_or_default())
            .or_insert(0) += 1;
    }
    load
}

/// True when all four leases are owned by exactly `nodes` with loads differing by at most 1.
fn balanced_over(leases: &[LeaseRecord], nodes: &[&str]) -> bool {
    let load = load(leases);
    leases.len() == 4
        && load.keys().all(|owner| nodes.contains(&owner.as_str()))
        && load.len() == nodes.len().min(4)
        && load
            .values()
            .max()
            .zip(load.values().min())
            .is_some_and(|(max, min)| max - min <= 1)
}

/// Polls `handle` until its status satisfies `done`, failing after [`DEADLINE`].
async fn wait_status(
    handle: &CoordinatorHandle,
    what: &str,
    done: impl Fn(&CoordinatorStatus) -> bool,
) -> CoordinatorStatus {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let status = handle.status().await.expect("coordinator runs");
        if done(&status) {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {status:?}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Waits until `handle` leads with the leases balanced over `nodes`; returns the table.
async fn wait_balanced(handle: &CoordinatorHandle, nodes: &[&str]) -> Vec<LeaseRecord> {
    wait_status(handle, &format!("leases balanced over {nodes:?}"), |s| {
        s.is_leader && s.last_error.is_none() && balanced_over(&s.leases, nodes)
    })
    .await
    .leases
}

async fn store(server: &RedisServer) -> LeaseStore<ConnectionManager> {
    LeaseStore::new(server.connect().await, PREFIX)
}

/// The ids of leases whose owner differs between `before` and `after`.
fn moved(before: &[LeaseRecord], after: &[LeaseRecord]) -> Vec<String> {
    before
        .iter()
        .zip(after)
        .filter(|(b, a)| b.owner != a.owner)
        .map(|(b, _)| b.id.clone())
        .collect()
}

/// Checks the epochs: a moved lease is one past before, every other one unchanged.
fn assert_epochs(before: &[LeaseRecord], after: &[LeaseRecord]) {
    for (b, a) in before.iter().zip(after) {
        assert_eq!(b.id, a.id);
        let expected = if b.owner == a.owner {
            b.epoch
        } else {
            b.epoch + 1
        };
        assert_eq!(a.epoch, expected, "epoch of {}: {b:?} -> {a:?}", b.id);
    }
}

#[actix::test]
async fn balances_leases_over_three_nodes() {
    let server = RedisServer::start().await;
    let mut conn = server.connect().await;
    for id in ["n1", "n2", "n3"] {
        register(&mut conn, id, false).await;
    }
    let coordinator = spawn(&server, "c1").await;
    let leases = wait_balanced(&coordinator, &["n1", "n2", "n3"]).await;
    let mut loads: Vec<usize> = load(&leases).into_values().collect();
    loads.sort_unstable();
    assert_eq!(loads, [1, 1, 2]);
    assert_eq!(store(&server).await.all().await.expect("all"), leases);
    assert!(
        leases.iter().all(|l| l.epoch == 1),
        "one assignment each: {leases:?}"
    );
    coordinator.stop().await.expect("stop");
}

#[actix::test]
async fn a_new_node_takes_exactly_one_lease() {
    let server = RedisServer::start().await;
    let mut conn = server.connect().await;
    for id in ["n1", "n2", "n3"] {
        register(&mut conn, id, false).await;
    }
    let coordinator = spawn(&server, "c1").await;
    let before = wait_balanced(&coordinator, &["n1", "n2", "n3"]).await;
    register(&mut conn, "n4", false).await;
    wait_balanced(&coordinator, &["n1", "n2", "n3", "n4"]).await;
    let after = store(&server).await.all().await.expect("all");
    assert_eq!(moved(&before, &after).len(), 1, "{before:?} -> {after:?}");
    assert_epochs(&before, &after);
    coordinator.stop().await.expect("stop");
}

#[actix::test]
async fn a_dead_nodes_leases_move_to_the_others() {
    let server = RedisServer::start().await;
    let mut conn = server.connect().await;
    for id in ["n1", "n2", "n3"] {
        register(&mut conn, id, false).await;
    }
    let coordinator = spawn(&server, "c1").await;
    let before = wait_balanced(&coordinator, &["n1", "n2", "n3"]).await;
    let (victim, _) = load(&before)
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .expect("some owner");
    kill_node(&mut conn, &victim).await;
    let rest: Vec<&str> = ["n1", "n2", "n3"]
        .into_iter()
        .filter(|n| *n != victim)
        .collect();
    wait_balanced(&coordinator, &rest).await;
    let after = store(&server).await.all().await.expect("all");
    let expected: Vec<String> = before
        .iter()
        .filter(|l| l.owner.as_deref() == Some(victim.as_str()))
        .map(|l| l.id.clone())
        .collect();
    assert_eq!(
        moved(&before, &after),
        expected,
        "only the dead node's leases moved"
    );
    assert_epochs(&before, &after);
    coordinator.stop().await.expect("stop");
}

#[actix::test]
async fn a_draining_node_loses_its_leases() {
    let server = RedisServer::start().await;
    let mut conn = server.connect().await;
    for id in ["n1", "n2", "n3"] {
        register(&mut conn, id, false).await;
    }
    let coordinator = spawn(&server, "c1").await;
    let before = wait_balanced(&coordinator, &["n1", "n2", "n3"]).await;
    let drained = before[0].owner.clone().expect("owned");
    register(&mut conn, &drained, true).await;
    let rest: Vec<&str> = ["n1", "n2", "n3"]
        .into_iter()
        .filter(|n| *n != drained)
        .collect();
    let status = wait_status(&coordinator, "the drained node to be empty", |s| {
        s.is_leader && balanced_over(&s.leases, &rest)
    })
    .await;
    assert!(
        status.nodes.iter().any(|n| n.id == drained && n.draining),
        "{status:?}"
    );
    let after = store(&server).await.all().await.expect("all");
    assert!(
        after
            .iter()
            .all(|l| l.owner.as_deref() != Some(drained.as_str()))
    );
    assert_epochs(&before, &after);
    coordinator.stop().await.expect("stop");
}
