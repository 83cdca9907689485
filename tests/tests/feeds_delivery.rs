//! Feed delivery: changes appended to Redis streams reach exactly the clients their feed's
//! `to` routes them to (a group named by a document field, a user named by another), with
//! the projected document and the exact `{feed, partition, position, key}`; a change that
//! is not JSON is counted as `bad_document` and does not hold back the changes after it.

use herald_tests::js_client::MESSAGE_TIMEOUT;
use herald_tests::wait::deadline_in;
use herald_tests::{FeedSandbox, JsClient, JsOptions, RedisServer, unique, wait_until};
use serde_json::{Value, json};

const HUB: &str = "orders";
const FEEDS: &str = r#"
[[feeds]]
name = "orders"
source = { kind = "redis-stream", partitions = 2 }
start_from = "beginning"
hub = "orders"
target = "orderChanged"
to = { group = "{region}" }
project = ["id", "region", "total"]

[[feeds]]
name = "mail"
source = { kind = "redis-stream", partitions = 1 }
start_from = "beginning"
hub = "orders"
target = "mailChanged"
to = { user = "{ownerId}" }
"#;

fn connect(sandbox: &FeedSandbox, node: &str, user: &str) -> JsClient {
    let options = JsOptions::new(
        &sandbox.node(node).client_url(HUB),
        Some(sandbox.client_token(HUB, user)),
        &["orderChanged", "mailChanged", "done"],
    );
    JsClient::connect(&options)
}

fn meta(feed: &str, partition: &str, position: &str, id: &str) -> Value {
    json!({"feed": feed, "partition": partition, "position": position, "key": format!("{id}:{position}")})
}

fn message(target: &str, document: Value, meta: Value) -> Value {
    json!({"event": "message", "target": target, "arguments": [document, meta]})
}

/// The sum of `series` over both nodes.
fn metric(sandbox: &FeedSandbox, series: &str) -> f64 {
    sandbox.node_metric("n1", series) + sandbox.node_metric("n2", series)
}

#[test]
fn changes_reach_exactly_the_routed_clients_with_projection_and_metadata() {
    let redis = RedisServer::start();
    let mut sandbox = FeedSandbox::new(&redis.url(), FEEDS);
    sandbox.start_coordinator("c1");
    sandbox.start_node("n1");
    sandbox.start_node("n2");
    sandbox.wait_for_table(&["c1"], 20, "every lease owned", |t| {
        t.len() == 3 && t.iter().all(|l| l.owner.is_some())
    });

    let (eu_user, us_user, other_user) = (unique("eu"), unique("us"), unique("other"));
    let mut eu = connect(&sandbox, "n1", &eu_user);
    let mut us = connect(&sandbox, "n2", &us_user);
    let mut other = connect(&sandbox, "n1", &other_user);
    // Memberships set through the node the member is not on.
    sandbox
        .node("n2")
        .rest()
        .group_connection("PUT", HUB, "eu", eu.connection_id())
        .assert_status(202);
    sandbox
        .node("n1")
        .rest()
        .group_connection("PUT", HUB, "us", us.connection_id())
        .assert_status(202);

    for (node, group) in [("n1", "eu"), ("n2", "us")] {
        let applied = wait_until(deadline_in(10), || {
            sandbox
                .node(node)
                .rest()
                .head(HUB, &format!("/groups/{group}"))
                .status
                == 200
        });
        assert!(applied, "membership of {group} not applied on {node}");
    }

    let mut producer = sandbox.producer();
    let p0 = sandbox.stream_key("orders", 0);
    let p1 = sandbox.stream_key("orders", 1);
    let o1 = producer.xadd(&p0, r#"{"id":"o1","region":"eu","total":10,"secret":"s1"}"#);
    let o2 = producer.xadd(
        &p1,
        r#"{"id":"o2","region":"us","total":20,"card":{"n":1}}"#,
    );
    let bad = producer.xadd(&p0, "this is not json {");
    let o3 = producer.xadd(&p0, r#"{"id":"o3","region":"eu","secret":"s3"}"#);
    let m7 = producer.xadd(
        &sandbox.stream_key("mail", 0),
        &format!(r#"{{"id":7,"ownerId":"{us_user}","subject":"hi"}}"#),
    );
    assert!(!bad.is_empty());

    assert_eq!(
        eu.next_message(),
        message(
            "orderChanged",
            json!({"id": "o1", "region": "eu", "total": 10}),
            meta("orders", "0", &o1, "o1")
        )
    );
    // After the bad document of the same partition, in order.
    assert_eq!(
        eu.next_message(),
        message(
            "orderChanged",
            json!({"id": "o3", "region": "eu"}),
            meta("orders", "0", &o3, "o3")
        )
    );
    let mut us_got = vec![us.next_message(), us.next_message()];
    us_got.sort_by_key(|m| m["target"].as_str().map(str::to_owned));
    assert_eq!(
        us_got,
        [
            message(
                "mailChanged",
                json!({"id": 7, "ownerId": us_user, "subject": "hi"}),
                meta("mail", "0", &m7, "7")
            ),
            message(
                "orderChanged",
                json!({"id": "o2", "region": "us", "total": 20}),
                meta("orders", "1", &o2, "o2")
            ),
        ]
    );

    // Nothing else reached anyone: a broadcast is the next (for `other`, the only) message.
    sandbox
        .node("n2")
        .rest()
        .broadcast(HUB, "done", &json!([1]))
        .assert_status(202);
    for (name, client) in [("eu", &mut eu), ("us", &mut us), ("other", &mut other)] {
        let next = client
            .driver()
            .next_event(MESSAGE_TIMEOUT)
            .unwrap_or_else(|| panic!("{name}: no message"));
        assert_eq!(
            next,
            json!({"event": "message", "target": "done", "arguments": [1]}),
            "{name} got an unexpected message"
        );
    }

    let expected = [
        (
            r#"herald_feed_changes_total{feed="orders",outcome="pushed"}"#,
            3.0,
        ),
        (
            r#"herald_feed_changes_total{feed="orders",outcome="bad_document"}"#,
            1.0,
        ),
        (
            r#"herald_feed_changes_total{feed="mail",outcome="pushed"}"#,
            1.0,
        ),
    ];
    for (series, value) in expected {
        let mut last = 0.0;
        let reached = wait_until(deadline_in(10), || {
            last = metric(&sandbox, series);
            last == value
        });
        assert!(
            reached,
            "{series} = {last}, expected {value}; metrics n1:\n{}",
            sandbox.node("n1").admin_get("/metrics").1
        );
    }
    assert_eq!(
        metric(
            &sandbox,
            r#"herald_feed_changes_total{feed="orders",outcome="unroutable"}"#
        ),
        0.0
    );
    sandbox.assert_no_panic();
}
