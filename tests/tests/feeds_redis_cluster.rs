//! Feeds on a Redis Cluster (`redis+cluster://`): the lease table (one hash-tagged slot), the
//! coordinator's announcements (sharded pub/sub, as the nodes subscribe there) and the
//! partitions' streams (spread over masters) all work as on one server.

use herald_tests::wait::deadline_in;
use herald_tests::{FeedSandbox, JsClient, JsOptions, RedisCluster, wait_until};
use std::collections::BTreeSet;

const HUB: &str = "orders";
const FEEDS: &str = r#"
[[feeds]]
name = "orders"
source = { kind = "redis-stream", partitions = 4 }
start_from = "beginning"
hub = "orders"
target = "orderChanged"
to = "all"
"#;

#[test]
fn feeds_run_on_a_redis_cluster() {
    let redis = RedisCluster::start();
    let mut sandbox = FeedSandbox::new(&redis.url(), FEEDS);
    sandbox.start_coordinator("c1");
    sandbox.start_node("n1");
    sandbox.start_node("n2");
    sandbox.wait_for_table(&["c1"], 30, "4 leases over 2 nodes", |t| {
        t.len() == 4
            && t.iter()
                .filter(|l| l.owner.as_deref() == Some("n1"))
                .count()
                == 2
            && t.iter()
                .filter(|l| l.owner.as_deref() == Some("n2"))
                .count()
                == 2
    });
    let options = JsOptions::new(
        &sandbox.node("n1").client_url(HUB),
        Some(sandbox.client_token(HUB, "watcher")),
        &["orderChanged"],
    );
    let mut client = JsClient::connect(&options);
    let mut expected = BTreeSet::new();
    for id in 0..20 {
        let position = redis.xadd(
            &sandbox.stream_key("orders", id % 4),
            &format!(r#"{{"id":"o{id}"}}"#),
        );
        expected.insert(format!("o{id}:{position}"));
    }
    let mut received = BTreeSet::new();
    while received.len() < expected.len() {
        let message = client.next_message();
        let key = message["arguments"][1]["key"].as_str().expect("key");
        received.insert(key.to_owned());
    }
    assert_eq!(received, expected);
    let announced = wait_until(deadline_in(10), || {
        ["n1", "n2"]
            .iter()
            .all(|n| sandbox.node_metric(n, "herald_feed_announcements_total") > 0.0)
    });
    assert!(
        announced,
        "SPUBLISHed announcements reach the nodes\n{}",
        sandbox.logs()
    );
    sandbox.assert_no_panic();
}
