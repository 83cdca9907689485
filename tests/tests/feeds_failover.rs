//! The kill test: while a producer appends 5000 changes over four partitions, one node and
//! the leader coordinator are SIGKILLed. A client on a surviving node still receives every
//! change (duplicates allowed, but bounded) and each partition's changes in order.

use herald_tests::feed_sandbox::stream_id;
use herald_tests::{FeedSandbox, JsClient, JsOptions, RedisServer};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

const HUB: &str = "orders";
const CHANGES: u64 = 5000;
/// `batch_size` of the feed: at most one batch per lease is pushed but not checkpointed.
const BATCH: usize = 20;
const PARTITIONS: u64 = 4;
const FEEDS: &str = r#"
[[feeds]]
name = "orders"
source = { kind = "redis-stream", partitions = 4 }
start_from = "beginning"
hub = "orders"
target = "orderChanged"
to = "all"
batch_size = 20
"#;
const COORDINATORS: [&str; 2] = ["c1", "c2"];

#[test]
fn every_change_arrives_in_partition_order_across_node_and_leader_kills() {
    let redis = RedisServer::start();
    let mut sandbox = FeedSandbox::new(&redis.url(), FEEDS);
    for id in COORDINATORS {
        sandbox.start_coordinator(id);
    }
    for id in ["n1", "n2", "n3"] {
        sandbox.start_node(id);
    }
    // n2 owns at least one lease, so killing it forces a failover.
    let table = sandbox.wait_for_table(&COORDINATORS, 20, "leases over 3 nodes", |t| {
        t.len() == 4
            && t.iter().all(|l| l.owner.is_some())
            && t.iter().any(|l| l.owner.as_deref() == Some("n2"))
    });
    let leader = sandbox.leaders(&COORDINATORS).remove(0);
    println!("initial table {table:?}, leader {leader}");

    let options = JsOptions::new(
        &sandbox.node("n1").client_url(HUB),
        Some(sandbox.client_token(HUB, "watcher")),
        &["orderChanged"],
    );
    let mut client = JsClient::connect(&options);

    let keys: Vec<String> = (0..PARTITIONS)
        .map(|p| sandbox.stream_key("orders", p as u32))
        .collect();
    let mut producer = sandbox.producer();
    let writer = std::thread::spawn(move || {
        for id in 0..CHANGES {
            let partition = id % PARTITIONS;
            producer.xadd(
                &keys[partition as usize],
                &format!(r#"{{"id":{id},"partition":{partition}}}"#),
            );
            // About 6 s of appends, so both kills land mid-stream.
            std::thread::sleep(Duration::from_millis(3));
        }
    });

    let mut messages: Vec<Value> = Vec::new();
    let mut unique: HashSet<String> = HashSet::new();
    let mut receive_until = |count: usize, deadline: Instant, client: &mut JsClient| {
        while unique.len() < count && Instant::now() < deadline {
            if let Some(event) = client.driver().next_event(Duration::from_millis(200))
                && event["event"] == "message"
            {
                let key = event["arguments"][1]["key"]
                    .as_str()
                    .expect("a key")
                    .to_owned();
                unique.insert(key);
                messages.push(event);
            }
        }
        unique.len()
    };
    let got = receive_until(500, Instant::now() + Duration::from_secs(20), &mut client);
    assert!(
        got >= 500,
        "only {got} changes before the kills\n{}",
        sandbox.logs()
    );
    assert!(
        !writer.is_finished(),
        "n2 must die while changes are still appended"
    );
    sandbox.node_mut("n2").kill();
    let got = receive_until(1000, Instant::now() + Duration::from_secs(30), &mut client);
    assert!(
        got >= 1000,
        "only {got} changes after killing n2\n{}",
        sandbox.logs()
    );
    assert!(
        !writer.is_finished(),
        "the leader must die while changes are still appended"
    );
    sandbox.coordinator_mut(&leader).kill();
    writer.join().expect("the producer thread");

    let got = receive_until(
        CHANGES as usize,
        Instant::now() + Duration::from_secs(40),
        &mut client,
    );
    let survivor = COORDINATORS
        .into_iter()
        .find(|c| *c != leader)
        .expect("a survivor");
    assert_eq!(
        got,
        CHANGES as usize,
        "not every change arrived; table {:?}\n{}",
        sandbox.leases(survivor),
        sandbox.logs()
    );

    // Exactly the ids 0..CHANGES, each on its partition.
    let mut first_seen: HashSet<String> = HashSet::new();
    let mut ids: Vec<u64> = Vec::new();
    let mut last_position: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    for message in &messages {
        let (document, meta) = (&message["arguments"][0], &message["arguments"][1]);
        let key = meta["key"].as_str().expect("key").to_owned();
        if !first_seen.insert(key.clone()) {
            continue;
        }
        let id = document["id"].as_u64().expect("a numeric id");
        let partition: u64 = meta["partition"]
            .as_str()
            .and_then(|p| p.parse().ok())
            .expect("a partition number");
        assert_eq!(
            partition,
            id % PARTITIONS,
            "change {id} on the wrong partition"
        );
        assert_eq!(meta["feed"], "orders");
        let position = meta["position"].as_str().expect("a position");
        assert_eq!(key, format!("{id}:{position}"));
        let position = stream_id(position);
        if let Some(previous) = last_position.insert(partition, position) {
            assert!(
                previous < position,
                "partition {partition}: {position:?} arrived after {previous:?} (change {id})"
            );
        }
        ids.push(id);
    }
    ids.sort_unstable();
    assert_eq!(ids, (0..CHANGES).collect::<Vec<_>>());
    let duplicates = messages.len() - CHANGES as usize;
    println!("{} messages, {duplicates} duplicates", messages.len());
    // Only the killed node's leases replay, each at most its one unacknowledged batch.
    assert!(
        duplicates <= BATCH * PARTITIONS as usize,
        "{duplicates} duplicates: more than one batch per moved lease"
    );
    sandbox.assert_no_panic();
}
